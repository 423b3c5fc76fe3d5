// History and figures: search (substring, so 退款 finds 我要退款了, and 破快递 finds 破快遞),
// closed cases with their decisions, each opening to its transcript (and any handovers with their
// notes); for supervisors the figures: acceptance by concern and template, time to decide,
// first-response times.
"use strict";

(() => {
  const { el, api, label, duration } = Kefu;
  const $ = (id) => document.getElementById(id);
  const pct = (x) => `${Math.round(x * 100)}%`;

  function table(node, head, rows) {
    node.replaceChildren(
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((v) => el("td", { text: v })))) : el("tr", {}, el("td", { colspan: head.length, text: "暂无数据" }))),
    );
  }

  // The whole conversation, read on demand: who said what and when, and who handed the case on.
  async function toggleTranscript(c, button) {
    const item = button.closest("li");
    const shown = item.querySelector(".transcript-view");
    if (shown) {
      shown.remove();
      button.textContent = "查看对话";
      return;
    }
    const detail = await api("GET", `/api/cases/${c.id}`);
    const lines = detail.messages.map((m) => el("div", { class: `msg ${m.sender}` },
      el("div", { class: "who" }, label(Kefu.SENDERS, m.sender), el("time", { text: Kefu.when(m.at) })),
      m.image_id ? el("div", { class: "text photo" }, Kefu.photo(`/api/images/${encodeURIComponent(m.image_id)}`))
        : el("div", { class: "text", text: m.text })));
    const moves = (detail.handovers || []).map((h) => el("div", { class: "handover" },
      `${Kefu.when(h.at)} ${Kefu.handoverText(h)} → ${h.to || "共享队列"}`, h.note ? `：${h.note}` : ""));
    item.append(el("div", { class: "transcript-view", data: { caseId: c.id } }, moves, lines));
    button.textContent = "收起对话";
  }

  function caseItem(c) {
    const decisions = (c.decisions || []).map((d) => el("div", { class: "decision" },
      el("strong", { text: `${d.agent} · ${label(Kefu.ACTIONS, d.action)}` }), " ",
      el("span", { class: "text", text: d.final_text || (d.reason ? `原因：${d.reason}` : "") })));
    const said = c.match ? c.match.text : c.first_customer_text;
    const open = el("button", { type: "button", class: "secondary open-transcript", onclick: (e) => toggleTranscript(c, e.target) }, "查看对话");
    return el("li", { data: { caseId: c.id } },
      el("div", { class: "summary" },
        (c.concerns || []).slice(0, 2).map((k) => el("span", { class: `tag concern-${k}`, text: label(Kefu.CONCERNS, k) })),
        el("span", { text: { open: "处理中", resolved: "已结案", cancelled: "已取消" }[c.state] || c.state }),
        c.order_id ? el("span", { text: `订单 ${c.order_id}` }) : null,
        c.claimed_by ? el("span", { text: `客服 ${c.claimed_by}` }) : null,
        c.rating ? el("span", { text: `评分 ${c.rating}/5` }) : null,
        el("time", { text: Kefu.when(c.resolved_at || c.opened_at) })),
      said ? el("div", { class: "said", text: said }) : null,
      decisions, open);
  }

  async function search(event) {
    event.preventDefault();
    const q = $("q").value.trim();
    if (!q) return;
    const found = await api("GET", `/api/search?q=${encodeURIComponent(q)}`);
    $("results").replaceChildren(...(found.cases.length ? found.cases.map(caseItem) : [el("li", { text: "没有找到" })]));
  }

  async function figures() {
    const f = await api("GET", "/api/figures?days=30");
    $("decide").textContent = `共 ${f.decisions} 次决定；从草稿生成到客服决定的中位时间 ${duration(f.decide_seconds.median)}（p90 ${duration(f.decide_seconds.p90)}）`;
    const acceptance = (key) => (r) => [key === "concern" ? label(Kefu.CONCERNS, r.concern) : r.template, r.total, pct(r.sent_as_is), pct(r.edited), pct(r.rejected)];
    table($("by-concern"), ["诉求", "决定数", "原样发送", "修改后发送", "拒绝"], f.acceptance.by_concern.map(acceptance("concern")));
    table($("by-template"), ["模板", "决定数", "原样发送", "修改后发送", "拒绝"], f.acceptance.by_template.map(acceptance("template")));
    const timing = (name) => (r) => [name(r), r.cases, duration(r.median_seconds), duration(r.p90_seconds), pct(r.within_3_min)];
    table($("first-agent"), ["客服", "会话数", "中位", "p90", "3分钟内"], f.first_response.by_agent.map(timing((r) => r.agent)));
    table($("first-concern"), ["诉求", "会话数", "中位", "p90", "3分钟内"], f.first_response.by_concern.map(timing((r) => label(Kefu.CONCERNS, r.concern))));
  }

  async function history() {
    const h = await api("GET", "/api/history?limit=50");
    $("history").replaceChildren(...(h.cases.length ? h.cases.map(caseItem) : [el("li", { text: "还没有结束的会话" })]));
  }

  async function start() {
    const me = await Kefu.me();
    const supervisor = me.role === "supervisor";
    $("who").textContent = me.agent;
    $("sign-out").addEventListener("click", Kefu.signOut);
    $("search").addEventListener("submit", search);
    // The figures are the supervisor's (the API answers 403 to an agent).
    for (const id of ["team-link", "figures-title", "figures"]) $(id).hidden = !supervisor;
    await Promise.all([supervisor ? figures() : null, history()]);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
