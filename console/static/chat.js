// The customer's web chat on kefu's socket.io channel for Rasa (vendored socket.io-client 4).
// Text is shown with textContent only. Every bot message comes with an id: one that arrives twice
// (a retried push, a catch-up that overlaps the live socket) is shown once. On every (re)connect
// the page says when the last message it showed was sent (kefu_since) and the channel first sends
// what came after: nothing said while the tab was reconnecting is lost. Whether a person has the
// case and the rating come from the console's /chat/api. A message the channel could not take yet
// (its conversation store down) is kept and sent again, with its id, until it is taken.
"use strict";

(() => {
  const { el, uuid4, composing } = Kefu;
  const $ = (id) => document.getElementById(id);
  const SESSION_KEY = "kefu.chat.session";
  const RATED_KEY = "kefu.chat.rated";
  const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const SCORES = [[5, "非常满意"], [4, "满意"], [3, "一般"], [2, "不满意"], [1, "很不满意"]];
  const LABELS = { customer: "我", bot: "智能助手", agent: "人工客服" };

  const chat = { sessionId: null, ready: false, pending: [], socket: null, context: null, personTexts: new Set(), pollTimer: null, sentAt: {},
    shown: new Set(), since: 0, imageMaxBytes: 0 };
  window.kefuChat = chat; // for the tests and the benchmark: session id and send times

  // Storage can be blocked in a third-party frame: then the chat still works for this visit.
  const storage = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* memory only */ } },
  };

  // The shop's config (embed.js puts it in the fragment, which never reaches any server log).
  function readConfig() {
    try {
      const raw = decodeURIComponent(location.hash.slice(1));
      const cfg = raw ? JSON.parse(raw) : {};
      return cfg && typeof cfg === "object" ? cfg : {};
    } catch (e) {
      return {};
    }
  }

  function applyLook(cfg) {
    if (typeof cfg.title === "string" && cfg.title.trim()) {
      $("title").textContent = cfg.title.trim().slice(0, 40);
      document.title = $("title").textContent;
    }
    const colors = cfg.colors && typeof cfg.colors === "object" ? cfg.colors : {};
    const vars = { brand: "--brand", brandText: "--brand-ink", background: "--bg" };
    for (const [key, variable] of Object.entries(vars)) {
      const value = colors[key];
      if (typeof value === "string" && CSS.supports("color", value)) document.documentElement.style.setProperty(variable, value);
    }
  }

  async function getJSON(path, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10000);
    try {
      const response = await fetch(path, { ...options, signal: controller.signal, credentials: "omit" });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status, body });
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  const postJSON = (path, payload) => getJSON(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });

  // ---- the transcript ----------------------------------------------------------------------
  function bubble(sender, text, replies) {
    const node = el("div", { class: `bubble ${sender}`, data: { sender } },
      el("span", { class: "who", text: LABELS[sender] || "" }),
      el("div", { class: "text", text }));
    if (replies && replies.length) {
      node.append(el("div", { class: "replies" }, replies.map((r) => el("button", {
        type: "button", onclick: () => send(String(r.payload || r.title), String(r.title), true),
      }, String(r.title || "")))));
    }
    const box = $("messages");
    box.append(node);
    box.scrollTop = box.scrollHeight;
    return node;
  }

  // A bot or agent message, once per id; `since` follows the newest message shown.
  function showBot(m, replies) {
    if (m.id) {
      if (chat.shown.has(m.id)) return;
      chat.shown.add(m.id);
    }
    if (typeof m.timestamp === "number" && m.timestamp > chat.since) chat.since = m.timestamp;
    bubble(m.sender === "agent" ? "agent" : "bot", m.text, replies);
  }

  function markPeople() {
    for (const node of document.querySelectorAll(".bubble.bot")) {
      if (chat.personTexts.has(node.querySelector(".text").textContent)) {
        node.classList.replace("bot", "agent");
        node.dataset.sender = "agent";
        node.querySelector(".who").textContent = LABELS.agent;
      }
    }
  }

  // ---- who is answering, and the rating ----------------------------------------------------
  async function refreshStatus() {
    let status;
    try {
      status = await getJSON(`/chat/api/sessions/${chat.sessionId}`);
    } catch (e) {
      return;
    }
    chat.personTexts = new Set(status.person_texts || []);
    markPeople();
    const badge = $("answering");
    if (status.answering === "person") {
      badge.textContent = status.case && status.case.person_joined ? "人工客服为您服务中" : "正在为您转接人工客服";
      badge.className = "answering person";
    } else {
      badge.textContent = "智能助手为您服务";
      badge.className = "answering bot";
    }
    document.body.dataset.answering = status.answering;
    showRating(status.rate);
    clearTimeout(chat.pollTimer);
    // While a person has the case, look now and then (a case can be closed without a message).
    if (status.answering === "person") chat.pollTimer = setTimeout(refreshStatus, 3000);
  }

  let statusSoon = null;
  function refreshStatusSoon() {
    clearTimeout(statusSoon);
    statusSoon = setTimeout(refreshStatus, 150);
  }

  function showRating(rate) {
    const panel = $("rating");
    if (!rate || storage.get(RATED_KEY) === rate.case_id) { panel.hidden = true; return; }
    if (!panel.hidden && panel.dataset.caseId === rate.case_id) return;
    panel.dataset.caseId = rate.case_id;
    $("scores").replaceChildren(...SCORES.map(([score, text]) => el("button", {
      type: "button", data: { score }, onclick: () => rate_(rate.case_id, score),
    }, text)));
    panel.hidden = false;
  }

  async function rate_(caseId, score) {
    try {
      await postJSON(`/chat/api/sessions/${chat.sessionId}/rating`, { case_id: caseId, score });
    } catch (e) {
      if (!e.status || e.status >= 500) { $("conn").textContent = "评价没有提交成功，请再点一次"; return; }
    }
    storage.set(RATED_KEY, caseId);
    $("rating").replaceChildren(el("p", { text: "感谢您的评价！" }));
  }

  // ---- photos -------------------------------------------------------------------------------
  // A photo is uploaded to the console first (it checks the bytes, strips EXIF, keeps it), then sent
  // to Rasa as the stand-in text [图片] with the photo's id in the message's metadata: NLU and the
  // transcripts stay text, the agent sees the photo in the case.
  const PHOTO_TEXT = "[图片]";
  const PHOTO_ERRORS = {
    too_large: () => `图片太大了，请发送 ${Math.floor(chat.imageMaxBytes / 1e6)}MB 以内的图片`,
    too_many_pixels: () => "图片尺寸太大了，请截图或压缩后再发送",
    not_an_image: () => "只能发送 JPG、PNG、WebP 或 HEIC 格式的图片",
    too_many_images: () => "图片发得有点快，请稍等一分钟再发",
    empty: () => "这张图片是空的，请重新选择",
  };

  function photoBubble(url) {
    const node = el("div", { class: "bubble customer", data: { sender: "customer" } },
      el("span", { class: "who", text: LABELS.customer }),
      el("div", { class: `photo${url ? "" : " sending"}` }, url ? Kefu.photo(url, "我发送的图片") : el("span", { text: "图片发送中…" })));
    $("messages").append(node);
    $("messages").scrollTop = $("messages").scrollHeight;
    return node;
  }

  async function sendPhoto(file) {
    if (!file || !chat.sessionId) return; // the page is still starting
    if (chat.imageMaxBytes && file.size > chat.imageMaxBytes) { $("conn").textContent = PHOTO_ERRORS.too_large(); return; }
    const node = photoBubble(null);
    try {
      const response = await fetch(`/chat/api/sessions/${chat.sessionId}/images`, {
        method: "POST", body: file, credentials: "omit", headers: { "Content-Type": file.type || "application/octet-stream" },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { code: body && body.error && body.error.code });
      node.replaceWith(photoBubble(body.image.url));
      // Sent like a typed message (its place in the order, one id, retried if refused), with the photo's id.
      chat.pending.push({ id: uuid4(), text: PHOTO_TEXT, image: { id: body.image.id }, seq: retry.seq++ });
      flush();
      $("conn").textContent = "";
    } catch (e) {
      node.remove();
      $("conn").textContent = (PHOTO_ERRORS[e.code] || (() => "图片没有发送成功，请重新发送"))();
    }
  }

  function wirePhotos() {
    const picker = $("photo");
    picker.addEventListener("change", () => { const file = picker.files[0]; picker.value = ""; sendPhoto(file); });
    // A pasted screenshot is sent as a photo; pasted text stays text.
    $("input").addEventListener("paste", (event) => {
      const item = [...((event.clipboardData && event.clipboardData.items) || [])].find((i) => i.kind === "file" && i.type.startsWith("image/"));
      if (!item) return;
      event.preventDefault();
      sendPhoto(item.getAsFile());
    });
  }

  // ---- talking to Rasa ---------------------------------------------------------------------
  // A long message (an order card, a story of what went wrong) goes whole: NLU reads its first 500
  // characters (the normaliser's cap), the case keeps every word. Longer than this, the customer is
  // told and nothing is cut.
  const MAX_MESSAGE = 2000;

  function cleaned(text) {
    // "/restart" or "/intent" typed by a customer would steer the bot: a full-width slash is just text.
    return text.replace(/^\s*\//, "／").trim();
  }

  // Each message has one id, kept on every retry (the case takes an id once). The channel refuses a
  // message with a retryable kefu_error while it cannot read or save the conversation (nothing was answered
  // or recorded): the message waits in `pending`, in the order typed, and goes again after a pause
  // that doubles per refusal (at most 15 s) until it is taken. Its bubble stays as typed.
  const retry = { sent: new Map(), timer: null, calm: null, seq: 0 };

  function emit(item) {
    chat.sentAt[item.text] = Date.now();
    retry.sent.set(item.id, item);
    if (retry.sent.size > 100) retry.sent.delete(retry.sent.keys().next().value); // refusals come within a turn
    const message = { message: item.text, session_id: chat.sessionId, message_id: item.id };
    const metadata = {};
    if (chat.context) metadata.kefu_context = chat.context;
    if (item.image) metadata.kefu_image = item.image; // a photo: its id in the console's store
    if (Object.keys(metadata).length) message.metadata = metadata;
    chat.socket.emit("user_uttered", message);
  }

  function flush() {
    if (!chat.ready || retry.timer) return;
    for (const item of chat.pending.splice(0)) emit(item);
  }

  function retryLater(error) {
    const item = retry.sent.get(error.message_id);
    if (!item || chat.pending.includes(item)) return;
    retry.sent.delete(item.id);
    item.tries = (item.tries || 0) + 1;
    chat.pending.push(item);
    chat.pending.sort((a, b) => a.seq - b.seq);
    $("conn").textContent = "系统有点忙，您的消息已保留，稍后自动重新发送，请不要重复输入～";
    clearTimeout(retry.calm);
    const wait = Math.min(15000, Math.max(1000 * (Number(error.retry_after) || 1), 1000 * 2 ** (item.tries - 1)));
    clearTimeout(retry.timer);
    retry.timer = setTimeout(() => {
      retry.timer = null;
      flush();
      retry.calm = setTimeout(() => { if (!retry.timer) $("conn").textContent = ""; }, 3000);
    }, wait);
  }

  function send(text, shown, fromBot = false) {
    text = fromBot ? text.trim() : cleaned(text); // a button's payload comes from the bot itself
    if (!text) return;
    bubble("customer", shown || text);
    chat.pending.push({ id: uuid4(), text, seq: retry.seq++ });
    flush();
  }

  function connect(rasaUrl, path) {
    // WebSocket first (no CORS needed); long-polling if a proxy blocks it (Rasa then needs --cors).
    // The session id in the query too: a proxy in front of several Rasa servers routes on it (deploy/nginx/kefu.conf).
    const socket = io(rasaUrl, { path, query: { kefu_session: chat.sessionId }, transports: ["websocket", "polling"],
      tryAllTransports: true, reconnectionDelayMax: 5000, timeout: 10000 });
    chat.socket = socket;
    socket.on("connect", () => {
      // (Re)join this session's room after every (re)connect; first get what came after the last message shown.
      socket.emit("session_request", { session_id: chat.sessionId, kefu_since: chat.since });
    });
    socket.on("session_confirm", () => {
      chat.ready = true;
      $("conn").textContent = "";
      document.body.dataset.ready = "true";
      flush();
    });
    socket.on("disconnect", () => { chat.ready = false; $("conn").textContent = "连接断开，正在重连…"; });
    socket.on("connect_error", () => { $("conn").textContent = "暂时连不上客服，正在重试…"; });
    // kefu's channel refused a message (too long, not text …): say so instead of waiting for a reply.
    socket.on("kefu_error", (error) => {
      if (error && error.retryable && error.message_id) return retryLater(error);
      $("conn").textContent = error && error.code === "too_long" ? "消息太长了，请分几次发送" : "这条消息没有发送成功，请重新输入";
    });
    socket.on("bot_uttered", (data) => {
      if (data && typeof data.text === "string") showBot(data, data.quick_replies);
      refreshStatusSoon();
    });
  }

  async function loadHistory() {
    try {
      const history = await getJSON(`/chat/api/sessions/${chat.sessionId}/history`);
      for (const m of history.messages) {
        if (m.sender === "customer") m.image ? photoBubble(m.image) : bubble("customer", m.text);
        else showBot(m);
        if (typeof m.timestamp === "number" && m.timestamp > chat.since) chat.since = m.timestamp;
      }
    } catch (e) {
      $("conn").textContent = "之前的聊天记录暂时加载不出来";
    }
  }

  async function passContext(cfg) {
    const context = {};
    for (const key of ["order_id", "customer_id"]) if (typeof cfg[key] === "string" && cfg[key]) context[key] = cfg[key];
    if (!Object.keys(context).length) return;
    chat.context = context;
    try {
      await postJSON(`/chat/api/sessions/${chat.sessionId}/context`, { ...context, sig: cfg.sig });
    } catch (e) {
      chat.context = null; // refused (unsigned where a signature is required): send nothing unverified
    }
  }

  function wireComposer() {
    const input = $("input");
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || composing(event)) return; // 拼音 still composing
      event.preventDefault();
      $("composer").requestSubmit();
    });
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      if (cleaned(input.value).length > MAX_MESSAGE) {
        $("conn").textContent = `这条消息有 ${cleaned(input.value).length} 个字，一次最多发 ${MAX_MESSAGE} 个字，请分成几条发送～`;
        return; // nothing cut, nothing lost: the words stay in the box
      }
      send(input.value);
      input.value = "";
      input.focus();
    });
  }

  async function start() {
    const cfg = readConfig();
    applyLook(cfg);
    wireComposer();
    wirePhotos();
    const server = await getJSON("/chat/config.json");
    chat.imageMaxBytes = server.image_max_bytes;
    const stored = storage.get(SESSION_KEY);
    const returning = UUID4.test(stored || "");
    chat.sessionId = returning ? stored : uuid4();
    if (!returning) storage.set(SESSION_KEY, chat.sessionId);
    document.body.dataset.session = chat.sessionId;
    if (returning) await loadHistory();
    await passContext(cfg);
    connect(server.rasa_url, server.socket_path);
    refreshStatus();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
