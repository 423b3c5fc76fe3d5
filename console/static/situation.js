// The case view's situation panel: the case's conversation state (assist/cases/state.py, sent as
// `conversation` with GET /api/cases/<id>) in the words agents read. Every word comes from the
// server's tables (Kefu.word, /api/me); a key without a word is left out, so a raw field name,
// null or undefined never reaches the agent. Text only (Kefu.el), never HTML.
"use strict";

const KefuSituation = (() => {
  const { el, label, word } = Kefu;
  const FACT_ORDER = ["order_id", "product", "status_zh", "carrier", "tracking_no", "waybill", "days_late", "promised_by",
    "last_location", "last_update_at", "shipped_at", "ordered_at", "duration", "days_waited", "phone", "address", "photo",
    "name", "order_id_from_shop", "customer_id"];
  const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
  const MASKED = /^\[[^\[\]\s]{1,6}x\]$/;  // a transcript's mask ([订单x]): given, but hidden from us
  const FROM_SHOP = { verified: "店铺页面（已验证）", unsigned: "店铺页面（未验证）" };
  const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

  function factText(key, value, nowMs) {
    if (value === null || value === undefined || value === "" || value === false || typeof value === "object") return null;
    if (key === "status") return null;  // the order's status in words is status_zh
    if (key === "days_late" || key === "days_waited") return Number(value) > 0 ? `${value} 天` : null;
    if (key === "order_id_from_shop") return own(FROM_SHOP, value) ? FROM_SHOP[value] : null;
    if (value === true) return "有";
    const text = String(value);
    if (MASKED.test(text)) return "已给（已脱敏）";
    if (ISO_TIME.test(text)) {  // the shop's clock, without this year's number
      const at = Kefu.when(text), year = Kefu.when(new Date(nowMs).toISOString()).slice(0, 5);
      return at ? (at.startsWith(year) ? at.slice(5) : at) : null;
    }
    return text;
  }

  function factsShown(facts, nowMs) {
    const keys = [...FACT_ORDER.filter((k) => own(facts, k)), ...Object.keys(facts).filter((k) => !FACT_ORDER.includes(k))];
    const shown = [];
    for (const key of keys) {
      if (key.startsWith("_")) continue;  // bookkeeping (_looked_up), not a fact
      if (key === "days_waited" && facts.duration) continue;  // the customer's own words say it already
      const name = word(Kefu.FACTS, key), text = factText(key, facts[key], nowMs);
      if (name && text) shown.push([name, text]);
    }
    return shown;
  }

  function openQuestions(ids) {
    const named = [...new Set(ids.map((q) => word(Kefu.QUESTIONS, q)).filter(Boolean))];
    const others = ids.filter((q) => !word(Kefu.QUESTIONS, q)).length;
    if (others) named.push(named.length ? `还有${others === 1 ? "一" : others}个问题没答` : `有${others === 1 ? "一" : others}个问题还没答`);
    return named.join("、");
  }

  function stateRows(c, nowMs) {
    const s = c.situation || {};
    const v = c.conversation || {};  // cases from before the state was kept have none
    const words = (table, keys) => (keys || []).map((k) => word(table, k)).filter(Boolean);
    const muted = (text) => (text ? el("span", { class: "muted", text }) : null);
    const rows = [];

    const concerns = (v.concerns || []).length ? v.concerns : (c.concerns || []);
    const primary = v.primary || concerns[0];
    if (concerns.length) {
      const marked = (k) => k === primary && (concerns.length > 1 || v.corrected);
      rows.push(["诉求", concerns.map((k) => marked(k)
        ? `${label(Kefu.CONCERNS, k)}（主要${v.corrected ? "，客服改过" : ""}）` : label(Kefu.CONCERNS, k)).join("、")]);
    }
    const trend = v.mood_trend || s.mood_trend;
    const irritation = words(Kefu.IRRITATION, v.irritation);
    const mood = [word(Kefu.MOODS, v.mood || c.mood || "calm"), trend && trend !== "steady" ? word(Kefu.TRENDS, trend) : null]
      .filter(Boolean).join("，") + (irritation.length ? `（${irritation.join("、")}）` : "");
    const temperament = word(Kefu.TEMPERAMENTS, c.temperament);
    rows.push(["情绪", [mood, muted(temperament ? ` · ${temperament}` : "")]]);
    const reasons = (s.urgency_reasons || []).join(" ");
    rows.push(["紧急", [String(Math.round(c.urgency || 0)), muted(reasons ? ` · ${reasons}` : "")]]);

    const act = v.customer_turns ? word(Kefu.ACTS, v.last_act) : null;
    if (act) rows.push(["顾客刚才", `${act}${v.reluctant ? "（勉强）" : ""}`]);
    const asked = v.asked && word(Kefu.ASKED, v.asked.what);
    if (asked) {
      rows.push(["我们问过", [`${asked}${v.asked.by === "bot" ? "（机器人问的）" : ""} — `,
        el("span", { class: v.asked.answered ? "answered" : "waiting", text: v.asked.answered ? "已回答" : "还在等" })]]);
    }
    const done = words(Kefu.DONE, v.done);
    if (done.length) rows.push(["已做", done.join("、")]);
    const offered = words(Kefu.OFFERED, v.offered);
    if (offered.length) rows.push(["提过的方案", `${offered.join("、")}（还没办）`]);
    if (v.promised) rows.push(["答应过", String(v.promised)]);
    if ((v.open_questions || []).length) rows.push(["还在问", openQuestions(v.open_questions)]);

    const facts = v.facts || s.facts || {};
    const shown = factsShown(facts, nowMs);
    if (shown.length) {
      rows.push(["事实", el("span", { class: "facts" }, shown.map(([name, text]) => el("span", { class: name.length + text.length > 15 ? "fact long" : "fact" },
        el("span", { class: "muted", text: name }), ` ${text}`)))]);
    }
    const missing = words(Kefu.FACTS, (s.missing || []).filter((m) => !facts[m]));
    if (missing.length) rows.push(["还缺", missing.join("、")]);
    if (c.shop_context) {
      const ctx = c.shop_context.context || {};
      const parts = Object.entries(ctx).filter(([k]) => word(Kefu.FACTS, k) && !k.startsWith("_"))
        .map(([k, value]) => `${word(Kefu.FACTS, k)} ${factText(k, value, nowMs) || ""}`.trim());
      rows.push(["店铺传入", `${parts.join("，")}${c.shop_context.verified ? "（已验证）" : "（页面提供，未验证）"}`]);
    }
    return rows;
  }

  // The panel's nodes: what is unclear (amber, first), the state row by row, the concern chips.
  function panel(c, { now = Date.now(), concerns = [], onCorrect = null } = {}) {
    const unclear = ((c.conversation || {}).unclear || []).filter((u) => typeof u === "string" && u);
    const current = (c.concerns || [])[0];
    const correct = el("div", { class: "correct" }, el("span", { text: "识别有误？改为：" }),
      concerns.filter((k) => k !== current).map((k) => el("button", {
        type: "button", class: "chip", data: { concern: k }, onclick: () => onCorrect && onCorrect(k),
      }, label(Kefu.CONCERNS, k))));
    return [
      unclear.length ? el("p", { class: "unclear" }, el("strong", { text: "读得不准" }), ` ${unclear.join("；")}`) : null,
      el("dl", {}, stateRows(c, now).map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])),
      c.state === "open" ? correct : null,
    ].filter(Boolean);  // replaceChildren would write a null as the text "null"
  }

  return { panel };
})();
