// The agent's workbench: the live queue, the case view, decisions and the keys. The live stream
// (live.js), what a case is drawn as (caseview.js), the situation panel (situation.js), the
// editor's etiquette check (editor.js), alerts (alerts.js) and handing a case on (handover.js)
// live in their own files.
// Every customer or agent text is set with textContent (Kefu.el): it is never HTML.
"use strict";

(() => {
  const { el, api, label, parseTime, composing } = Kefu;
  const $ = (id) => document.getElementById(id);
  const EMPTY = "从左侧选择一个会话（J / K 上下移动）";
  const PERSON_CONCERNS = ["complaint", "delivery_delay", "refund_return", "price_haggle", "request_human", "order_status", "product_inquiry"];

  const state = {
    me: null,
    timers: { amber_seconds: 60, red_seconds: 180 },
    queue: [],
    offset: 0,            // server clock − browser clock, in ms
    caseId: null,
    detail: null,
    version: null,
    selected: 0,          // index into drafts
    mode: "view",         // view | edit | reject | transfer
    acted: false,         // the agent decided something on the open case
    edit: null,           // while editing: {batch, said, confirmed} — the batch and customer words it was begun on
    carry: null,          // a notice that outlives the case it was about (a transfer)
  };

  const supervisor = () => state.me.role === "supervisor";
  const mine = (c) => c && c.claimed_by === state.me.agent;
  const takenByOther = (c) => c && c.claimed_by && c.claimed_by !== state.me.agent;
  const now = () => Date.now() + state.offset;
  const customerWords = (c) => (c ? c.messages.filter((m) => m.sender === "customer") : []);

  function notice(text, kind = "") {
    const node = $("notice");
    node.textContent = text;
    node.className = `notice ${kind}`;
  }

  function tick() {
    Kefu.tickTimers(now(), state.timers);
    KefuAlerts.tick(now());
  }

  // ---- the queue ---------------------------------------------------------------------------
  const tags = KefuCaseView.tags;

  function renderQueue() {
    const list = $("queue-list");
    list.replaceChildren(...state.queue.map((c, i) => KefuCaseView.queueItem(c, i, {
      agent: state.me.agent, current: c.id === state.caseId, onOpen: openCase, handed: KefuHandover.tag(c),
    })));
    $("queue-count").textContent = String(state.queue.length);
    $("queue-empty").hidden = state.queue.length > 0;
    tick();
  }

  // Rasa events the follower gave up on: a customer may be waiting without a case (GET /api/dead-letters).
  function showDeadLetters(count) {
    $("dead-letters").hidden = !count;
    $("dead-letters").textContent = count ? `${count} 条顾客消息未能转成会话，请查看 /api/dead-letters` : "";
  }

  function onQueue(snapshot) {
    state.offset = parseTime(snapshot.now) - Date.now();
    state.queue = snapshot.cases;
    showDeadLetters(snapshot.dead_letters || 0);
    renderQueue();
    KefuAlerts.onQueue(state.queue, now());
    const current = state.queue.find((c) => c.id === state.caseId);
    if (!state.caseId && !supervisor()) {
      // An idle agent gets the most urgent case nobody else has taken (a supervisor picks their own).
      const next = state.queue.find((c) => !takenByOther(c));
      if (next) openCase(next.id);
    } else if (current ? versionOf(current) !== state.version : state.detail && state.detail.state === "open") {
      refreshCase();
    }
  }

  function versionOf(c) {
    return `${c.batch}|${c.messages}|${c.delivered}|${c.failed}|${c.claimed_by || ""}|${(c.concerns || []).join(",")}`;
  }

  // ---- opening and claiming a case ---------------------------------------------------------
  // Passing through a case without answering gives it back to the queue.
  function release(previous) {
    if (previous.id && !previous.acted && previous.detail && mine(previous.detail)) {
      api("POST", `/api/cases/${previous.id}/release`, {}).catch(() => {});
    }
  }

  async function openCase(id) {
    if (id === state.caseId) return;
    const previous = { id: state.caseId, detail: state.detail, acted: state.acted };
    Object.assign(state, { caseId: id, detail: null, version: null, selected: 0, acted: false });
    release(previous);
    setMode("view");
    notice(state.carry || "", state.carry ? "ok" : "");
    state.carry = null;
    $("case-empty").textContent = EMPTY;
    try {
      await api("POST", `/api/cases/${id}/claim`, {});
    } catch (error) {
      if (error.code === "claimed" && !supervisor()) {
        // Another agent took it a moment ago: it is theirs, and this console moves on.
        Object.assign(state, { caseId: null, detail: null, version: null });
        state.queue = state.queue.filter((c) => c.id !== id);
        renderCase();
        renderQueue();
        return;
      }
      if (error.code !== "claimed") notice(error.message, "error");
    }
    await refreshCase();
    renderQueue();
  }

  // The case left this agent (handed on): the view empties; the next queue (the handover changed
  // it) opens the next case by itself.
  function leaveCase(id, words) {
    Object.assign(state, { caseId: null, detail: null, version: null, acted: true, carry: words });
    state.queue = state.queue.filter((c) => c.id !== id);
    setMode("view");
    renderCase();
    renderQueue();
    $("case-empty").textContent = words;
  }

  async function takeOver() {
    try {
      await api("POST", `/api/cases/${state.caseId}/claim`, { takeover: true });
      notice("已接手此会话", "ok");
    } catch (error) {
      notice(error.code === "forbidden" ? "只有主管可以接手别人的会话；请对方转交给您" : error.message, "error");
    }
    await refreshCase();
  }

  async function refreshCase() {
    const id = state.caseId;
    if (!id) return;
    let detail;
    try {
      detail = await api("GET", `/api/cases/${id}`);
    } catch (error) {
      notice(error.message, "error");
      return;
    }
    if (id !== state.caseId) return;
    const before = state.detail;
    const batchChanged = before && before.batch !== detail.batch;
    // Only new customer words say "the customer wrote": new drafts also come after a correction or a rejection.
    const wrote = before ? customerWords(detail).length > customerWords(before).length : false;
    state.detail = detail;
    const settled = (kind) => (detail.deliveries || []).filter((d) => d.state === kind).length;
    state.version = versionOf({ ...detail, messages: detail.messages.length, delivered: settled("delivered"), failed: settled("failed") });
    if (batchChanged) state.selected = 0;
    if (wrote && state.mode === "edit") {
      notice("顾客在您编辑时发来新消息，请先看一眼再决定", "error");
    } else if (wrote) {
      notice("顾客发来新消息，建议回复已更新");
    }
    renderCase();
  }

  // ---- the case view -----------------------------------------------------------------------
  function renderCase() {
    const c = state.detail;
    $("case-empty").hidden = !!c;
    $("case-body").hidden = !c;
    if (!c) return;
    $("case-body").dataset.caseId = c.id;
    const open = c.state === "open";
    // An open case's tag says how far it has come (the conversation state's stage).
    const stage = open ? Kefu.word(Kefu.STAGES, (c.conversation || {}).stage) || "处理中" : c.state === "resolved" ? "已结案" : "已取消";
    $("case-tags").replaceChildren(...tags(c.concerns), el("span", { class: `tag state-${c.state}`, text: stage }));
    $("case-timer").replaceChildren(open ? Kefu.timer(c.waiting_since) : "");
    const claim = $("case-claim");
    if (takenByOther(c)) {
      claim.textContent = supervisor() ? `${c.claimed_by} 正在接待此会话，接手后才能发送` : `${c.claimed_by} 正在接待此会话`;
      claim.className = "claim other";
    } else {
      claim.textContent = mine(c) ? "我在接待" : "";
      claim.className = "claim";
    }
    $("takeover").hidden = !(open && takenByOther(c) && supervisor());
    $("transfer").hidden = !(open && !takenByOther(c));
    $("resolve").hidden = !open;
    const handed = KefuHandover.banner(c);
    $("handover-note").replaceChildren(...handed);
    $("handover-note").hidden = !handed.length;
    renderTranscript(c);
    renderSituation(c);
    renderDrafts(c);
    renderStale();
    document.body.classList.toggle("locked", !open || !!takenByOther(c));
    tick();
    latestInView(true);  // after the drafts: they decide how tall the transcript's box is
  }

  // The transcript shows its latest message, and keeps it in view when its box changes size (the
  // editor opens, the window is resized) unless the agent scrolled up to read.
  let transcriptAtEnd = true;
  function latestInView(force) {
    const box = $("transcript");
    if (force) transcriptAtEnd = true;
    if (transcriptAtEnd) box.scrollTop = box.scrollHeight;
  }

  function renderTranscript(c) {
    $("transcript").replaceChildren(...KefuCaseView.transcript(c));
  }

  // The situation panel (situation.js): the conversation state in words, and the concern chips.
  function renderSituation(c) {
    $("situation").replaceChildren(...KefuSituation.panel(c, {
      now: now(), concerns: PERSON_CONCERNS, onCorrect: correctConcern,
    }));
  }

  function renderDrafts(c) {
    $("drafts").dataset.batch = String(c.batch);
    $("drafts").replaceChildren(...KefuCaseView.drafts(c, state.selected, selectDraft));
  }

  function selectDraft(index) {
    if (!state.detail || index >= (state.detail.drafts || []).length) return;
    state.selected = index;
    renderDrafts(state.detail);
  }

  // ---- decisions ---------------------------------------------------------------------------
  function canAnswer() {
    const c = state.detail;
    if (!c) return false; // still loading
    if (c.state !== "open") { notice("这个会话已经结束", "error"); return false; }
    if (takenByOther(c)) { notice(`${c.claimed_by} 正在接待此会话${supervisor() ? "，请先接手" : ""}`, "error"); return false; }
    return true;
  }

  async function decided(promise, done) {
    let result;
    try {
      result = await promise;
      // One decision per batch: the drafts on screen are used up, so no key acts on them before the refresh.
      if (state.detail) state.detail = { ...state.detail, drafts: [] };
      state.acted = true;
      notice(typeof done === "function" ? done(result) : done, "ok");
      setMode("view");
    } catch (error) {
      if (error.code === "claimed") notice(`${error.body.claimed_by} 已接手此会话`, "error");
      else if (error.code === "already_handled") notice(state.mode === "edit" ? "顾客刚发来新消息，请先看一眼再决定是否仍然发送" : "草稿已更新或已被处理，请重新选择", "error");
      else if (error.code !== "etiquette_findings") notice(error.message, "error");
      await refreshCase();
      throw error;
    }
    await refreshCase();
    return result;
  }

  function decisionBase() {
    return { batch: state.detail.batch, resolve: $("resolve-after").checked, idempotency_key: Kefu.uuid4() };
  }

  async function sendSelected() {
    if (!canAnswer()) return;
    const draft = (state.detail.drafts || [])[state.selected];
    if (!draft) { notice("没有可发送的草稿，请按 E 自己写", "error"); return; }
    await decided(api("POST", `/api/cases/${state.caseId}/approve`, { ...decisionBase(), draft_id: draft.id }), "已发送").catch(() => {});
  }

  // ---- editing: a reply begun before the customer wrote again is sent only on purpose -------
  function setMode(mode) {
    state.mode = mode;
    $("editor").hidden = mode !== "edit";
    $("rejector").hidden = mode !== "reject";
    $("transferer").hidden = mode !== "transfer";
    $("send-anyway").hidden = true;
    if (mode !== "edit") state.edit = null;
    renderStale();
    if (mode === "edit") $("edit-text").focus();
    if (mode === "reject") $("reject-reason").focus();
    if (mode === "transfer") KefuHandover.open();
  }

  function startEdit() {
    if (!canAnswer()) return;
    const draft = (state.detail.drafts || [])[state.selected];
    $("edit-text").value = draft ? draft.text : "";
    KefuEditor.clear();
    setMode("edit");
    state.edit = { batch: state.detail.batch, said: customerWords(state.detail).length, confirmed: 0 };
    KefuEditor.checkSoon();
  }

  // What the customer said since the agent began this edit (shown at once, above the editor).
  const newWords = () => (state.edit ? customerWords(state.detail).slice(state.edit.said) : []);

  function renderStale(asking = false) {
    const words = newWords();
    $("stale").hidden = !words.length;
    $("stale-words").replaceChildren(...words.map((m) => el("li", {}, el("time", { text: Kefu.clock(m.at) }), " ", el("span", { text: m.text }))));
    $("stale-ask").hidden = !asking;
    if (asking) $("send-stale").focus();
  }

  async function sendEdit(override = false) {
    if (!canAnswer()) return;
    const text = $("edit-text").value.trim();
    if (!text) { notice("回复不能为空", "error"); return; }
    const c = state.detail, words = newWords();
    if (words.length > state.edit.confirmed) { renderStale(true); return; }  // ask first: one key sends anyway
    const body = { ...decisionBase(), text, override, draft_id: null };
    if (c.batch === state.edit.batch) {
      const draft = (c.drafts || [])[state.selected];
      body.draft_id = draft ? draft.id : null;
    } else if (words.length) {
      body.written_for = state.edit.batch;  // sent anyway over the newer words: recorded
    }
    try {
      await decided(api("POST", `/api/cases/${state.caseId}/edit`, body), words.length ? "已发送（顾客的新消息之后）" : "已发送");
    } catch (error) {
      if (error.code === "etiquette_findings") {
        KefuEditor.refused(error.body.findings);
        $("send-anyway").hidden = false;
        notice("这段话有礼仪问题：先修改，或确认后“仍然发送”", "error");
      }
    }
  }

  function sendStale() {
    state.edit.confirmed = newWords().length;
    renderStale(false);
    sendEdit(false);
  }

  function backToEdit() {
    renderStale(false);
    $("edit-text").focus();
  }

  // ---- rejecting: fresh drafts, or plainly none ---------------------------------------------
  async function confirmReject() {
    if (!canAnswer()) return;
    const reason = $("reject-reason").value.trim();
    if (!reason) { notice("请写一句拒绝原因", "error"); return; }
    const done = (r) => (r.fresh_drafts === 0 ? "已拒绝。没有别的建议回复了，请按 E 自己写" : "已拒绝，换了一组新的建议回复");
    await decided(api("POST", `/api/cases/${state.caseId}/reject`, { batch: state.detail.batch, reason }), done).catch(() => {});
    $("reject-reason").value = "";
  }

  async function confirmTransfer() {
    if (!canAnswer()) return;
    try {
      const to = await KefuHandover.send(state.caseId);
      leaveCase(state.caseId, `已转交给 ${to}`);
    } catch (error) {
      notice(error.message, "error");
    }
  }

  async function resolveCase() {
    if (!canAnswer()) return;
    try {
      await api("POST", `/api/cases/${state.caseId}/resolve`, {});
      state.acted = true;
      notice("已结案，机器人接回", "ok");
    } catch (error) {
      notice(error.message, "error");
    }
    await refreshCase();
  }

  async function correctConcern(concern) {
    try {
      await api("POST", `/api/cases/${state.caseId}/concern`, { concern });
      notice(`已改为“${label(Kefu.CONCERNS, concern)}”，并重新生成建议回复`, "ok");
    } catch (error) {
      notice(error.message, "error");
    }
    await refreshCase();
  }

  // ---- keys --------------------------------------------------------------------------------
  function move(step) {
    if (!state.queue.length) return;
    const at = state.queue.findIndex((c) => c.id === state.caseId);
    const next = at < 0 ? 0 : Math.min(state.queue.length - 1, Math.max(0, at + step));
    openCase(state.queue[next].id);
  }

  function inBox(event, enter) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); enter(); }
    else if (event.key === "Escape") setMode("view");
  }

  function onKey(event) {
    if (composing(event) || event.repeat) return;
    const target = event.target;
    if (target === $("edit-text")) return inBox(event, () => sendEdit(false));
    if (target === $("reject-reason")) return inBox(event, confirmReject);
    if (target === $("transfer-note")) return inBox(event, confirmTransfer);
    if (target === $("send-stale") && event.key === "Escape") return backToEdit();
    if (event.key === "Escape" && state.mode === "transfer") return setMode("view");
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select")) return;
    if (target.tagName === "BUTTON" && event.key === "Enter") return;
    const key = event.key.toLowerCase();
    if (["1", "2", "3"].includes(key)) { selectDraft(Number(key) - 1); event.preventDefault(); }
    else if (key === "enter") { event.preventDefault(); sendSelected(); }
    else if (key === "e") { event.preventDefault(); startEdit(); }
    else if (key === "r") { event.preventDefault(); if (canAnswer()) setMode("reject"); }
    else if (key === "t") { event.preventDefault(); if (canAnswer()) setMode("transfer"); }
    else if (key === "j") { event.preventDefault(); move(1); }
    else if (key === "k") { event.preventDefault(); move(-1); }
  }

  async function start() {
    state.me = await Kefu.me();
    state.timers = state.me.timers;
    $("who").textContent = `${state.me.agent}${supervisor() ? `（${label(Kefu.ROLES, "supervisor")}）` : ""}`;
    $("team-link").hidden = !supervisor();
    KefuAlerts.start(state.me, state.timers, $("alerts"), openCase);
    await KefuHandover.start(state.me);
    KefuEditor.start((error) => notice(error.message, "error"));
    const on = (id, handler) => $(id).addEventListener("click", handler);
    on("sign-out", Kefu.signOut);
    on("takeover", takeOver);
    on("transfer", () => { if (canAnswer()) setMode("transfer"); });
    on("resolve", resolveCase);
    on("send-edit", () => sendEdit(false));
    on("send-anyway", () => sendEdit(true));
    on("send-stale", sendStale);
    on("back-to-edit", backToEdit);
    on("cancel-edit", () => setMode("view"));
    on("confirm-reject", confirmReject);
    on("confirm-transfer", confirmTransfer);
    on("cancel-transfer", () => setMode("view"));
    document.addEventListener("keydown", onKey);
    const transcript = $("transcript");
    transcript.addEventListener("scroll", () => {
      transcriptAtEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 24;
    });
    new ResizeObserver(() => latestInView(false)).observe(transcript);
    setInterval(tick, 1000);
    KefuLive.connect(onQueue);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
