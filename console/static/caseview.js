// What the workbench draws from a case, given everything it needs: the queue's rows, the
// transcript (with each agent text's delivery state) and the drafts. Text only (Kefu.el).
"use strict";

const KefuCaseView = (() => {
  const { el, label } = Kefu;
  const DELIVERY = { pending: "发送中", delivered: "已送达", failed: "发送失败" };

  function tags(concerns) {
    return (concerns || []).slice(0, 3).map((c) => el("span", { class: `tag concern-${c}`, text: label(Kefu.CONCERNS, c) }));
  }

  // One row of the queue: concerns, a handover to me, mood, urgency, the last words, the wait, who answers.
  function queueItem(c, index, { agent, current, onOpen, handed }) {
    const mine = c.claimed_by === agent;
    const claim = c.claimed_by
      ? el("span", { class: mine ? "claimed mine" : "claimed", text: mine ? "我在接待" : `${c.claimed_by} 接待中` })
      : el("span", { class: "unclaimed", text: "待接待" });
    return el("li", {
      class: `queue-item mood-${c.mood || "calm"}${current ? " current" : ""}`,
      data: { caseId: c.id, conversation: c.conversation_id, index },
      tabindex: "0",
      onclick: () => onOpen(c.id),
    },
      el("div", { class: "row" }, tags(c.concerns), handed, el("span", { class: `mood mood-${c.mood}`, text: label(Kefu.MOODS, c.mood) }),
        el("span", { class: "urgency", title: (c.urgency_reasons || []).join(" "), text: `紧急 ${Math.round(c.urgency || 0)}` })),
      el("div", { class: "words", text: c.last_customer_text || "" }),
      el("div", { class: "row meta" }, Kefu.timer(c.waiting_since), claim, c.order_id ? el("span", { class: "order", text: `订单 ${c.order_id}` }) : null),
    );
  }

  // A message's words, or the photo it carried (served to signed-in agents only: /api/images/<id>).
  function body(m) {
    if (m.image_id) return el("div", { class: "text photo" }, Kefu.photo(`/api/images/${encodeURIComponent(m.image_id)}`));
    return el("div", { class: "text", text: m.text });
  }

  // A failed delivery says why (WeChat's 48-hour rule: 顾客已超过48小时没有给公众号发消息…), so the agent knows
  // the customer has not got it and that sending again will not help until they write.
  function transcript(c) {
    const delivery = {};
    for (const d of c.deliveries || []) delivery[d.text] = d;
    return c.messages.map((m) => {
      const d = m.sender === "agent" ? delivery[m.text] : null;
      return el("div", { class: `msg ${m.sender}` },
        el("div", { class: "who" }, label(Kefu.SENDERS, m.sender), el("time", { text: Kefu.clock(m.at) }),
          d ? el("span", { class: `delivery ${d.state}`, text: DELIVERY[d.state] }) : null),
        body(m),
        d && d.state === "failed" && d.last_error ? el("div", { class: "delivery-error", text: `未送达：${d.last_error}` }) : null);
    });
  }

  // The ranked drafts (the selected one marked), or, on an open case with none, what to do instead.
  function drafts(c, selected, onSelect) {
    const list = c.drafts || [];
    if (!list.length && c.state === "open") return [el("li", { class: "no-drafts", text: "没有别的建议回复了：按 E 自己写回复" })];
    return list.map((d, i) => el("li", {
      class: `draft${i === selected ? " selected" : ""}`, data: { rank: d.rank, draftId: d.id },
      onclick: () => onSelect(i),
    },
      el("span", { class: "key", text: String(i + 1) }),
      el("div", { class: "draft-text", text: d.text }),
      el("div", { class: "reason", text: d.reason ? `理由：${d.reason}` : "" })));
  }

  return { tags, queueItem, transcript, drafts, body };
})();
