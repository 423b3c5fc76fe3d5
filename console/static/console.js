// The agent's workbench: the live queue (server-sent events), the case view, the keys.
// Every customer or agent text is set with textContent (Kefu.el): it is never HTML.
"use strict";

(() => {
  const { el, api, label, duration, parseTime, composing } = Kefu;
  const $ = (id) => document.getElementById(id);
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
    mode: "view",         // view | edit | reject
    acted: false,         // the agent decided something on the open case
    checkSeq: 0,
  };

  const mine = (c) => c && c.claimed_by === state.me.agent;
  const takenByOther = (c) => c && c.claimed_by && c.claimed_by !== state.me.agent;
  const now = () => Date.now() + state.offset;

  function notice(text, kind = "") {
    const node = $("notice");
    node.textContent = text;
    node.className = `notice ${kind}`;
  }

  // ---- timers ------------------------------------------------------------------------------
  function timerClass(seconds) {
    if (seconds >= state.timers.red_seconds) return "red";
    if (seconds >= state.timers.amber_seconds) return "amber";
    return "ok";
  }

  function tick() {
    for (const node of document.querySelectorAll("[data-since]")) {
      const since = parseTime(node.dataset.since);
      const seconds = since === null ? null : (now() - since) / 1000;
      node.textContent = seconds === null ? "已回复" : `等待 ${duration(seconds)}`;
      node.classList.remove("ok", "amber", "red");
      if (seconds !== null) node.classList.add(timerClass(seconds));
    }
  }

  function timer(since) {
    return since ? el("span", { class: "timer", data: { since } }) : el("span", { class: "timer answered", text: "已回复" });
  }

  // ---- the queue ---------------------------------------------------------------------------
  function tags(concerns) {
    return (concerns || []).slice(0, 3).map((c) => el("span", { class: `tag concern-${c}`, text: label(Kefu.CONCERNS, c) }));
  }

  function queueItem(c, index) {
    const claim = c.claimed_by
      ? el("span", { class: mine(c) ? "claimed mine" : "claimed", text: mine(c) ? "我在接待" : `${c.claimed_by} 接待中` })
      : el("span", { class: "unclaimed", text: "待接待" });
    return el("li", {
      class: `queue-item mood-${c.mood || "calm"}${c.id === state.caseId ? " current" : ""}`,
      data: { caseId: c.id, conversation: c.conversation_id, index },
      tabindex: "0",
      onclick: () => openCase(c.id),
    },
      el("div", { class: "row" }, tags(c.concerns), el("span", { class: `mood mood-${c.mood}`, text: label(Kefu.MOODS, c.mood) }),
        el("span", { class: "urgency", title: (c.urgency_reasons || []).join(" "), text: `紧急 ${Math.round(c.urgency || 0)}` })),
      el("div", { class: "words", text: c.last_customer_text || "" }),
      el("div", { class: "row meta" }, timer(c.waiting_since), claim, c.order_id ? el("span", { class: "order", text: `订单 ${c.order_id}` }) : null),
    );
  }

  function renderQueue() {
    const list = $("queue-list");
    list.replaceChildren(...state.queue.map(queueItem));
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
    const current = state.queue.find((c) => c.id === state.caseId);
    if (!state.caseId) {
      // An idle agent gets the most urgent case nobody has taken.
      const next = state.queue.find((c) => !takenByOther(c));
      if (next) openCase(next.id);
    } else if (current ? versionOf(current) !== state.version : state.detail && state.detail.state === "open") {
      refreshCase();
    }
  }

  function versionOf(c) {
    return `${c.batch}|${c.messages}|${c.delivered}|${c.claimed_by || ""}|${(c.concerns || []).join(",")}`;
  }

  function connectLive() {
    const source = new EventSource("/api/live");
    source.addEventListener("queue", (event) => onQueue(JSON.parse(event.data)));
    source.addEventListener("open", () => { $("live").textContent = "● 实时"; $("live").className = "live on"; });
    source.addEventListener("error", () => {
      $("live").textContent = "● 重连中";
      $("live").className = "live off";
      // The browser retries a dropped stream by itself, but not a refused one (signed out, server
      // restarting): ask who we are (a 401 goes to the sign-in page), then open a new stream.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => Kefu.me().then(connectLive, () => setTimeout(connectLive, 5000)), 2000);
      }
    });
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
    notice("");
    try {
      await api("POST", `/api/cases/${id}/claim`, {});
    } catch (error) {
      if (error.code !== "claimed") notice(error.message, "error");
    }
    await refreshCase();
    renderQueue();
  }

  async function takeOver() {
    try {
      await api("POST", `/api/cases/${state.caseId}/claim`, { takeover: true });
      notice("已接手此会话", "ok");
    } catch (error) {
      notice(error.message, "error");
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
    const batchChanged = state.detail && state.detail.batch !== detail.batch;
    state.detail = detail;
    const delivered = (detail.deliveries || []).filter((d) => d.state === "delivered").length;
    state.version = versionOf({ ...detail, messages: detail.messages.length, delivered });
    if (batchChanged) {
      state.selected = 0;
      if (state.mode !== "edit") notice("顾客发来新消息，建议回复已更新");
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
    $("case-tags").replaceChildren(...tags(c.concerns), el("span", { class: `tag state-${c.state}`, text: open ? "处理中" : c.state === "resolved" ? "已结案" : "已取消" }));
    $("case-timer").replaceChildren(open ? timer(c.waiting_since) : "");
    const claim = $("case-claim");
    if (takenByOther(c)) {
      claim.textContent = `${c.claimed_by} 正在接待此会话，接手后才能发送`;
      claim.className = "claim other";
    } else {
      claim.textContent = mine(c) ? "我在接待" : "";
      claim.className = "claim";
    }
    $("takeover").hidden = !(open && takenByOther(c));
    $("resolve").hidden = !open;
    renderTranscript(c);
    renderSituation(c);
    renderDrafts(c);
    document.body.classList.toggle("locked", !open || !!takenByOther(c));
    tick();
  }

  function renderTranscript(c) {
    const delivered = {};
    for (const d of c.deliveries || []) delivered[d.text] = d.state;
    const box = $("transcript");
    box.replaceChildren(...c.messages.map((m) => el("div", { class: `msg ${m.sender}` },
      el("div", { class: "who" }, label(Kefu.SENDERS, m.sender), el("time", { text: Kefu.clock(m.at) }),
        m.sender === "agent" && delivered[m.text] ? el("span", { class: `delivery ${delivered[m.text]}`, text: { pending: "发送中", delivered: "已送达", failed: "发送失败" }[delivered[m.text]] }) : null),
      el("div", { class: "text", text: m.text }))));
    box.scrollTop = box.scrollHeight;
  }

  function renderSituation(c) {
    const s = c.situation || {};
    const facts = s.facts || {};
    const rows = [
      ["情绪", `${label(Kefu.MOODS, c.mood)}${s.mood_trend === "rising" ? "（在升级）" : ""}`],
      ["性格", label(Kefu.TEMPERAMENTS, c.temperament)],
      ["紧急度", `${Math.round(c.urgency || 0)}  ${(s.urgency_reasons || []).join(" ")}`],
    ];
    for (const [key, value] of Object.entries(facts)) {
      if (value !== null && value !== undefined && value !== "") rows.push([label(Kefu.FACTS, key), String(value)]);
    }
    if ((s.missing || []).length) rows.push(["还缺", s.missing.map((m) => label(Kefu.FACTS, m)).join("、")]);
    if (c.shop_context) {
      const ctx = c.shop_context.context || {};
      const parts = Object.entries(ctx).map(([k, v]) => `${k === "customer_id" ? "顾客ID" : label(Kefu.FACTS, k)} ${v}`);
      rows.push(["店铺传入", `${parts.join("，")}${c.shop_context.verified ? "（已验证）" : "（页面提供，未验证）"}`]);
    }
    const current = (c.concerns || [])[0];
    const correct = el("div", { class: "correct" }, el("span", { text: "识别有误？改为：" }),
      PERSON_CONCERNS.filter((k) => k !== current).map((k) => el("button", {
        type: "button", class: "chip", data: { concern: k }, onclick: () => correctConcern(k),
      }, label(Kefu.CONCERNS, k))));
    $("situation").replaceChildren(
      el("dl", {}, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      c.state === "open" ? correct : null,
    );
  }

  function renderDrafts(c) {
    const list = $("drafts");
    list.replaceChildren(...(c.drafts || []).map((d, i) => el("li", {
      class: `draft${i === state.selected ? " selected" : ""}`, data: { rank: d.rank, draftId: d.id },
      onclick: () => selectDraft(i),
    },
      el("span", { class: "key", text: String(i + 1) }),
      el("div", { class: "draft-text", text: d.text }),
      el("div", { class: "reason", text: d.reason ? `理由：${d.reason}` : "" }))));
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
    if (takenByOther(c)) { notice(`${c.claimed_by} 正在接待此会话，请先接手`, "error"); return false; }
    return true;
  }

  async function decided(promise, done) {
    try {
      await promise;
      state.acted = true;
      notice(done, "ok");
      setMode("view");
    } catch (error) {
      if (error.code === "claimed") notice(`${error.body.claimed_by} 已接手此会话`, "error");
      else if (error.code === "already_handled") notice("草稿已更新或已被处理，请重新选择", "error");
      else if (error.code !== "etiquette_findings") notice(error.message, "error");
      await refreshCase();
      throw error;
    }
    await refreshCase();
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

  // ---- editing, with the etiquette check live under the text --------------------------------
  function setMode(mode) {
    state.mode = mode;
    $("editor").hidden = mode !== "edit";
    $("rejector").hidden = mode !== "reject";
    $("send-anyway").hidden = true;
    if (mode === "edit") $("edit-text").focus();
    if (mode === "reject") $("reject-reason").focus();
  }

  function startEdit() {
    if (!canAnswer()) return;
    const draft = (state.detail.drafts || [])[state.selected];
    $("edit-text").value = draft ? draft.text : "";
    $("findings").replaceChildren();
    setMode("edit");
    checkSoon();
  }

  let checkTimer = null;
  function checkSoon() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(checkNow, 150);
  }

  async function checkNow() {
    const text = $("edit-text").value;
    const seq = ++state.checkSeq;
    if (!text.trim()) { $("findings").replaceChildren(); return; }
    try {
      const result = await api("POST", "/api/check", { text });
      if (seq === state.checkSeq) renderFindings(result.findings);
    } catch (error) {
      if (seq === state.checkSeq) notice(error.message, "error");
    }
  }

  // Block findings need a fix or an explicit override to send; advice (severity "advice": no polite
  // close, length) is shown quietly, after them, and never stops sending.
  function renderFindings(findings) {
    const text = $("edit-text").value;
    const advice = (f) => f.severity === "advice";
    const ordered = [...findings.filter((f) => !advice(f)), ...findings.filter(advice)];
    $("findings").replaceChildren(...ordered.map((f) => el("li", { class: advice(f) ? "finding advice" : "finding", data: { rule: f.rule, severity: f.severity || "block" } },
      advice(f) ? el("span", { class: "severity", text: "提示" }) : null,
      el("mark", { text: text.slice(f.span[0], f.span[1]) || "（整条）" }),
      el("span", { class: "why", text: f.why }),
      el("span", { class: "fix", text: `建议：${f.fix}` }),
      f.apply ? el("button", { type: "button", class: "apply", onclick: () => applyFix(f.apply) }, "一键修改") : null)));
    $("findings").dataset.count = String(findings.length);
    $("findings").dataset.block = String(findings.length - findings.filter(advice).length);
  }

  // A fix may leave a marked gap (【请填写原因】) only the agent can fill: select it, so typing replaces it.
  function applyFix(text) {
    const box = $("edit-text");
    box.value = text;
    box.focus();
    const gap = text.match(/【请填写[^】]*】/);
    if (gap) box.setSelectionRange(gap.index, gap.index + gap[0].length);
    checkNow();
  }

  async function sendEdit(override = false) {
    if (!canAnswer()) return;
    const text = $("edit-text").value.trim();
    if (!text) { notice("回复不能为空", "error"); return; }
    const draft = (state.detail.drafts || [])[state.selected];
    try {
      await decided(api("POST", `/api/cases/${state.caseId}/edit`, { ...decisionBase(), text, draft_id: draft ? draft.id : null, override }), "已发送");
    } catch (error) {
      if (error.code === "etiquette_findings") {
        renderFindings(with_apply(error.body.findings));
        $("send-anyway").hidden = false;
        notice("这段话有礼仪问题：先修改，或确认后“仍然发送”", "error");
      }
    }
  }

  const with_apply = (findings) => findings.map((f) => ({ apply: null, ...f }));

  async function confirmReject() {
    if (!canAnswer()) return;
    const reason = $("reject-reason").value.trim();
    if (!reason) { notice("请写一句拒绝原因", "error"); return; }
    await decided(api("POST", `/api/cases/${state.caseId}/reject`, { batch: state.detail.batch, reason }), "已拒绝这组草稿").catch(() => {});
    $("reject-reason").value = "";
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

  function onKey(event) {
    if (composing(event)) return;
    const target = event.target;
    if (target === $("edit-text")) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendEdit(false); }
      else if (event.key === "Escape") setMode("view");
      return;
    }
    if (target === $("reject-reason")) {
      if (event.key === "Enter") { event.preventDefault(); confirmReject(); }
      else if (event.key === "Escape") setMode("view");
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select")) return;
    if (target.tagName === "BUTTON" && event.key === "Enter") return;
    const key = event.key.toLowerCase();
    if (["1", "2", "3"].includes(key)) { selectDraft(Number(key) - 1); event.preventDefault(); }
    else if (key === "enter") { event.preventDefault(); sendSelected(); }
    else if (key === "e") { event.preventDefault(); startEdit(); }
    else if (key === "r") { event.preventDefault(); if (canAnswer()) setMode("reject"); }
    else if (key === "j") { event.preventDefault(); move(1); }
    else if (key === "k") { event.preventDefault(); move(-1); }
  }

  async function start() {
    state.me = await Kefu.me();
    state.timers = state.me.timers;
    $("who").textContent = state.me.agent;
    $("sign-out").addEventListener("click", Kefu.signOut);
    $("takeover").addEventListener("click", takeOver);
    $("resolve").addEventListener("click", resolveCase);
    $("send-edit").addEventListener("click", () => sendEdit(false));
    $("send-anyway").addEventListener("click", () => sendEdit(true));
    $("cancel-edit").addEventListener("click", () => setMode("view"));
    $("confirm-reject").addEventListener("click", confirmReject);
    $("edit-text").addEventListener("input", checkSoon);
    document.addEventListener("keydown", onKey);
    setInterval(tick, 1000);
    connectLive();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
