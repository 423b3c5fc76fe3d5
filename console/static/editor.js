// The reply editor's live etiquette check: the text is checked while the agent types, each
// finding shown with why and its fix (block findings first, quiet advice after), and a one-click
// fix where one exists. Text only (Kefu.el), never HTML.
"use strict";

const KefuEditor = (() => {
  const { el, api } = Kefu;
  const $ = (id) => document.getElementById(id);
  let seq = 0, timer = null, onError = () => {};

  function checkSoon() {
    clearTimeout(timer);
    timer = setTimeout(checkNow, 150);
  }

  async function checkNow() {
    const text = $("edit-text").value;
    const mine = ++seq;
    if (!text.trim()) { $("findings").replaceChildren(); return; }
    try {
      const result = await api("POST", "/api/check", { text });
      if (mine === seq) render(result.findings);
    } catch (error) {
      if (mine === seq) onError(error);
    }
  }

  // Block findings need a fix or an explicit override to send; advice (severity "advice": no polite
  // close, length) is shown quietly, after them, and never stops sending.
  function render(findings) {
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

  function start(reportError) {
    onError = reportError;
    $("edit-text").addEventListener("input", checkSoon);
  }

  // The findings a refused send came back with (422): no one-click fixes among them.
  const refused = (findings) => render(findings.map((f) => ({ apply: null, ...f })));

  function clear() {
    $("findings").replaceChildren();
  }

  return { start, checkSoon, checkNow, refused, clear };
})();
