// Alerts for an agent whose console is in another tab: the page title counts the customers
// waiting for a person (mine and the shared queue's), a red state once one waits past the red
// limit (title, favicon, top bar), an optional sound (the agent's choice, kept in localStorage),
// and a browser notification (after the agent allows it) when a case arrives, a customer writes,
// a case is handed to me, or a customer waits past the red limit. Text only, never HTML.
"use strict";

const KefuAlerts = (() => {
  const { el, parseTime, duration } = Kefu;
  const SOUND_KEY = "kefu.alerts.sound";
  const BASE_TITLE = document.title;

  let me = null, limits = { amber_seconds: 60, red_seconds: 180 }, onOpen = () => {};
  let cases = [];
  let known = null;            // case id → how many messages the customer had sent, as last seen (null: not yet)
  const handed = new Set();    // handovers to me already told
  const overdueTold = new Set(); // case id + waiting_since already told
  let audio = null;

  const $ = (id) => document.getElementById(id);
  const forMe = (c) => !c.claimed_by || c.claimed_by === me.agent;
  const soundOn = () => localStorage.getItem(SOUND_KEY) === "on";

  function waitSeconds(c, nowMs) {
    const since = parseTime(c.waiting_since);
    return since === null ? null : (nowMs - since) / 1000;
  }

  function beep() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.18);
    } catch (error) { /* a browser without sound: the title and notification still tell */ }
  }

  // The agent is elsewhere (another tab or window): the browser's notification tells them.
  function away() {
    return document.visibilityState !== "visible" || !document.hasFocus();
  }

  function tell(title, body, caseId) {
    if (soundOn()) beep();
    if (!("Notification" in window) || Notification.permission !== "granted" || !away()) return;
    try {
      const shown = new Notification(title, { body, tag: `kefu-${caseId}`, icon: "/static/favicon.svg" });
      shown.onclick = () => { window.focus(); onOpen(caseId); shown.close && shown.close(); };
    } catch (error) { /* some browsers allow notifications only from a service worker */ }
  }

  // ---- what changed since the last queue --------------------------------------------------------
  function events(nowMs) {
    const seen = new Map(cases.filter(forMe).map((c) => [c.id, c.customer_messages || 0]));
    if (known !== null) {
      for (const c of cases.filter(forMe)) {
        const words = c.last_customer_text || "";
        if (!known.has(c.id)) tell("新会话等待接待", words, c.id);
        else if ((c.customer_messages || 0) > known.get(c.id)) tell("顾客发来新消息", words, c.id);
      }
    }
    for (const c of cases) {
      const h = c.handover;
      if (!h || h.to !== me.agent) continue;
      const key = `${c.id}|${h.at}`;
      if (!handed.has(key)) {
        handed.add(key);
        if (known !== null) tell(`${Kefu.handoverText(h)}给您一个会话`, h.note || c.last_customer_text || "", c.id);
      }
    }
    known = seen;
    overdue(nowMs, true);
  }

  // ---- the title, the red state ------------------------------------------------------------------
  function overdue(nowMs, notify) {
    const waiting = cases.filter((c) => forMe(c) && c.waiting_since);
    const late = waiting.filter((c) => waitSeconds(c, nowMs) >= limits.red_seconds);
    const red = late.length > 0;
    document.title = waiting.length ? `${red ? "【超时】" : ""}(${waiting.length}) ${BASE_TITLE}` : BASE_TITLE;
    document.body.classList.toggle("overdue", red);
    const badge = $("alert-state");
    if (badge) {
      badge.hidden = !red;
      badge.textContent = red ? `${late.length} 位顾客等待超过 ${duration(limits.red_seconds)}` : "";
    }
    const icon = $("favicon");
    if (icon) icon.href = red ? "/static/favicon-alert.svg" : "/static/favicon.svg";
    if (!notify) return;
    for (const c of late) {
      const key = `${c.id}|${c.waiting_since}`;
      if (overdueTold.has(key)) continue;
      overdueTold.add(key);
      tell(`顾客已等待超过 ${duration(limits.red_seconds)}`, c.last_customer_text || "", c.id);
    }
  }

  // ---- the agent's choices -----------------------------------------------------------------------
  function renderChoices() {
    const sound = $("alert-sound"), notify = $("alert-notify");
    if (sound) sound.checked = soundOn();
    if (!notify) return;
    if (!("Notification" in window)) {
      notify.hidden = true;
      return;
    }
    const permission = Notification.permission;
    notify.disabled = permission !== "default";
    notify.dataset.permission = permission;
    notify.textContent = { granted: "桌面通知已开启", denied: "桌面通知被浏览器拦截" }[permission] || "开启桌面通知";
  }

  async function askPermission() {
    try {
      await Notification.requestPermission();
    } finally {
      renderChoices();
    }
  }

  function controls() {
    return [
      el("span", { class: "alert-state", id: "alert-state", hidden: true }),
      el("label", { class: "alert-choice", title: "有新会话或新消息时响一声" },
        el("input", { type: "checkbox", id: "alert-sound", onchange: (e) => {
          localStorage.setItem(SOUND_KEY, e.target.checked ? "on" : "off");
          if (e.target.checked) beep();  // the click is what lets the page play sound
        } }), " 提示音"),
      el("button", { type: "button", class: "link", id: "alert-notify", onclick: askPermission }, "开启桌面通知"),
    ];
  }

  // Called once the agent is known; `into` is where the choices go (the top bar).
  function start(who, timers, into, open) {
    me = who;
    limits = timers;
    onOpen = open || onOpen;
    into.replaceChildren(...controls());
    renderChoices();
  }

  return {
    start,
    onQueue(snapshot, nowMs) { cases = snapshot; events(nowMs); },
    tick(nowMs) { if (me) overdue(nowMs, true); },
  };
})();
