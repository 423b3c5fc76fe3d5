// The supervisor's view: every agent's load (cases held, customers waiting, the longest wait,
// waits past the red limit) and every open case, live, each with a reassign control (to any
// agent, or back to the shared queue, with a note). Text only (Kefu.el), never HTML.
"use strict";

(() => {
  const { el, api, label, duration, parseTime } = Kefu;
  const $ = (id) => document.getElementById(id);
  let me = null, agents = [], offset = 0, timers = { amber_seconds: 60, red_seconds: 180 };
  const now = () => Date.now() + offset;

  function notice(text, kind = "") {
    $("notice").textContent = text;
    $("notice").className = `notice ${kind}`;
  }

  function loadRow(name, role, load) {
    const longest = load.longest_wait_seconds === null ? "—" : duration(load.longest_wait_seconds);
    return el("tr", { data: { agent: name } },
      el("td", { text: name }), el("td", { text: role ? label(Kefu.ROLES, role) : "" }),
      el("td", { text: String(load.cases) }), el("td", { text: String(load.waiting) }),
      el("td", { class: load.longest_wait_seconds >= timers.red_seconds ? "overdue" : "", text: longest }),
      el("td", { class: load.overdue ? "overdue" : "", text: String(load.overdue) }));
  }

  async function renderLoad() {
    const load = await api("GET", "/api/team");
    $("load").replaceChildren(
      el("thead", {}, el("tr", {}, ["客服", "角色", "接待中", "顾客在等", "最久等待", "超时"].map((h) => el("th", { text: h })))),
      el("tbody", {}, load.agents.map((a) => loadRow(a.name, a.role, a)), loadRow("共享队列（待接待）", null, load.shared)));
  }

  function reassignControl(c) {
    const to = el("select", { class: "reassign-to", "aria-label": "改派给" },
      el("option", { value: "", text: "改派给…" }),
      agents.filter((a) => a.name !== c.claimed_by).map((a) => el("option", { value: a.name, text: a.name })),
      c.claimed_by ? el("option", { value: "-", text: "放回共享队列" }) : null);
    const note = el("input", { type: "text", class: "reassign-note", maxlength: "500", placeholder: "给接手的人留一句话" });
    const go = el("button", { type: "button", class: "reassign-go", onclick: async () => {
      if (!to.value) { notice("请先选择改派给谁", "error"); return; }
      try {
        await api("POST", `/api/cases/${c.id}/reassign`, { to: to.value === "-" ? null : to.value, note: note.value.trim() || null });
        notice(to.value === "-" ? "已放回共享队列" : `已改派给 ${to.value}`, "ok");
        to.value = "";
        note.value = "";
        go.blur();
        showCases();
      } catch (error) {
        notice(error.code === "unknown_agent" ? "没有这位客服的账号" : error.message, "error");
      }
    } }, "改派");
    return el("div", { class: "reassign" }, to, note, go);
  }

  function caseItem(c) {
    const holder = c.claimed_by ? el("span", { class: "claimed", text: `${c.claimed_by} 接待中` }) : el("span", { class: "unclaimed", text: "待接待" });
    return el("li", { data: { caseId: c.id, holder: c.claimed_by || "" } },
      el("div", { class: "row" },
        (c.concerns || []).slice(0, 3).map((k) => el("span", { class: `tag concern-${k}`, text: label(Kefu.CONCERNS, k) })),
        el("span", { class: `mood mood-${c.mood}`, text: label(Kefu.MOODS, c.mood) }), holder, Kefu.timer(c.waiting_since),
        c.handover ? el("span", { class: "tag handed", title: c.handover.note || "", text: Kefu.handoverText(c.handover) }) : null),
      reassignControl(c),
      el("div", { class: "words", text: c.last_customer_text || "" }));
  }

  // A reassign in progress (a chosen agent, a note being typed) is not wiped by the next update.
  function busy() {
    return [...document.querySelectorAll(".team-cases select, .team-cases input")].some((n) => n.value) ||
      (document.activeElement && document.activeElement.closest && document.activeElement.closest(".team-cases"));
  }

  let pending = null;
  function onQueue(snapshot) {
    offset = parseTime(snapshot.now) - Date.now();
    KefuAlerts.onQueue(snapshot.cases, now());
    pending = snapshot;
    renderLoad().catch((error) => notice(error.message, "error"));
    if (!busy()) showCases();
  }

  function showCases() {
    if (!pending) return;
    const cases = pending.cases;
    pending = null;
    $("cases").replaceChildren(...cases.map(caseItem));
    $("case-count").textContent = String(cases.length);
    $("no-cases").hidden = cases.length > 0;
    Kefu.tickTimers(now(), timers);
  }

  async function start() {
    me = await Kefu.me();
    timers = me.timers;
    $("who").textContent = `${me.agent}（${label(Kefu.ROLES, me.role)}）`;
    $("sign-out").addEventListener("click", Kefu.signOut);
    agents = (await api("GET", "/api/agents")).agents;
    KefuAlerts.start(me, timers, $("alerts"), () => location.assign("/"));
    setInterval(() => {
      if (!busy()) showCases();
      Kefu.tickTimers(now(), timers);
      KefuAlerts.tick(now());
    }, 1000);
    KefuLive.connect(onQueue);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
