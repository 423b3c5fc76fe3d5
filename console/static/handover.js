// Handing a case on: an agent transfers it to a named colleague with a note; the receiver sees
// who handed it over and the note, on the queue item and above the case. Text only, never HTML.
"use strict";

const KefuHandover = (() => {
  const { el, api, label } = Kefu;
  const $ = (id) => document.getElementById(id);
  let me = null, colleagues = [];

  async function start(who) {
    me = who;
    try {
      colleagues = (await api("GET", "/api/agents")).agents.filter((a) => a.name !== me.agent);
    } catch (error) {
      colleagues = [];
    }
  }

  // The form: the colleagues by name (a supervisor marked), the note the receiver will read.
  function open() {
    $("transfer-to").replaceChildren(
      el("option", { value: "", text: colleagues.length ? "选择同事" : "还没有别的同事账号" }),
      ...colleagues.map((a) => el("option", { value: a.name, text: a.role === "supervisor" ? `${a.name}（${label(Kefu.ROLES, a.role)}）` : a.name })));
    $("transfer-note").value = "";
    $("transfer-to").focus();
  }

  function problem(error) {
    if (error.code === "unknown_agent") return "没有这位同事的账号";
    if (error.code === "claimed") return `${error.body.claimed_by || "别的客服"} 正在接待此会话，不能由您转交`;
    if (error.code === "wrong_state") return "这个会话已经结束";
    return error.message;
  }

  // Sends the transfer; resolves to the colleague's name, or throws the words to show.
  async function send(caseId) {
    const to = $("transfer-to").value, note = $("transfer-note").value.trim();
    if (!to) throw new Error("请选择要转交的同事");
    if (!note) throw new Error("请写一句交接说明，同事接手时会看到");
    try {
      await api("POST", `/api/cases/${caseId}/transfer`, { to, note });
    } catch (error) {
      throw new Error(problem(error));
    }
    return to;
  }

  const toMe = (h, holder) => h && h.to === me.agent && holder === me.agent;

  // Above the case: the latest handover to me with its note (while I hold the case).
  function banner(c) {
    const last = (c.handovers || []).slice(-1)[0];
    if (!toMe(last, c.claimed_by)) return [];
    return [el("strong", { text: `${Kefu.handoverText(last)}给您：` }), el("span", { class: "note", text: last.note || "（没有留言）" }),
      el("time", { text: ` ${Kefu.clock(last.at)}` })];
  }

  // On the queue item: a tag with the note as its tooltip.
  function tag(c) {
    const h = c.handover;
    return toMe(h, c.claimed_by) ? el("span", { class: "tag handed", title: h.note || "", text: Kefu.handoverText(h) }) : null;
  }

  return { start, open, send, banner, tag };
})();
