// Shared by the agents' pages: element building (text only, never HTML), the JSON API with
// the CSRF token, labels, and time formatting. No framework, no build step.
"use strict";

const Kefu = (() => {
  let csrf = null;
  let shopZone = "Asia/Shanghai";  // the shop's clock (policy.yml), from /api/me

  // el("li", {class: "x", data: {id: 1}, onclick: f}, "text", child) — strings become text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || `HTTP ${status}`);
      this.status = status;
      this.code = error.code || "http_error";
      this.body = error;
    }
  }

  async function api(method, path, payload, timeoutMs = 15000) {
    const headers = { Accept: "application/json" };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin", signal: controller.signal,
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } finally {
      clearTimeout(timer);
    }
    const body = await response.json().catch(() => null);
    if (response.status === 401 && path !== "/login") {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  async function me() {
    const who = await api("GET", "/api/me");
    csrf = who.csrf;
    if (who.timezone) shopZone = who.timezone;
    for (const [name, table] of Object.entries(TABLES)) Object.assign(table, (who.labels || {})[name] || {});
    return who;
  }

  async function signOut() {
    try { await api("POST", "/logout", {}); } finally { location.assign("/login"); }
  }

  // The store's times are ISO 8601 with their offset (UTC). The server sends its "now" with
  // every queue, so elapsed times come out right whatever the browser's clock says.
  function parseTime(iso) {
    if (!iso) return null;
    const ms = Date.parse(iso);
    return isNaN(ms) ? null : ms;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  // Times an agent reads are the shop's clock, wherever the agent's browser is.
  function shopTime(iso, withDate) {
    const ms = parseTime(iso);
    if (ms === null) return "";
    const options = { timeZone: shopZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (withDate) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
    try {
      return new Intl.DateTimeFormat("zh-CN", options).format(new Date(ms));
    } catch (error) {  // an unknown zone name: the browser's own clock
      delete options.timeZone;
      return new Intl.DateTimeFormat("zh-CN", options).format(new Date(ms));
    }
  }

  function clock(iso) {
    return shopTime(iso, false);
  }

  function when(iso) {
    return shopTime(iso, true);
  }

  function uuid4() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // An input method (拼音) is composing: Enter picks a candidate, it must not send.
  function composing(event) {
    return event.isComposing || event.keyCode === 229;
  }

  // The words for the core's names come from the server (assist/shop/labels.py, via /api/me),
  // so the pages and the drafts' reasons never disagree. Filled by me() before a page renders.
  const CONCERNS = {}, MOODS = {}, TEMPERAMENTS = {}, SENDERS = {}, ACTIONS = {}, FACTS = {}, ROLES = {}, HANDOVERS = {};
  // The conversation state's words (the case panel): acts, what was asked, done, stages, trends …
  const ACTS = {}, ASKED = {}, DONE = {}, OFFERED = {}, STAGES = {}, TRENDS = {}, IRRITATION = {}, QUESTIONS = {};
  const TABLES = {
    concerns: CONCERNS, moods: MOODS, temperaments: TEMPERAMENTS, senders: SENDERS, actions: ACTIONS, facts: FACTS,
    roles: ROLES, handovers: HANDOVERS, acts: ACTS, asked: ASKED, done: DONE, offered: OFFERED, stages: STAGES, trends: TRENDS, irritation: IRRITATION, questions: QUESTIONS,
  };
  const label = (table, key) => table[key] || key;
  // The word, or null when the table has none (where a raw key must never be shown).
  const word = (table, key) => (typeof key === "string" && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null);

  // Waiting timers: <span class="timer" data-since=ISO> counts up, amber and red past the limits.
  function timer(since) {
    return since ? el("span", { class: "timer", data: { since } }) : el("span", { class: "timer answered", text: "已回复" });
  }

  function waitClass(seconds, limits) {
    if (seconds >= limits.red_seconds) return "red";
    if (seconds >= limits.amber_seconds) return "amber";
    return "ok";
  }

  function tickTimers(nowMs, limits) {
    for (const node of document.querySelectorAll("[data-since]")) {
      const since = parseTime(node.dataset.since);
      const seconds = since === null ? null : (nowMs - since) / 1000;
      node.textContent = seconds === null ? "已回复" : `等待 ${duration(seconds)}`;
      node.classList.remove("ok", "amber", "red");
      if (seconds !== null) node.classList.add(waitClass(seconds, limits));
    }
  }

  // A handover in words: "小王 转交" / "老张 改派"; the note is shown beside it.
  function handoverText(h) {
    return `${h.by || h.from || ""} ${label(HANDOVERS, h.kind)}`.trim();
  }

  // A customer's photo (a URL of ours, never markup): a thumbnail that opens full size over the page;
  // a click, Escape or Enter closes it. While it is open no key reaches the page (the console's
  // Enter would send a draft).
  function photo(src, alt = "顾客发来的图片") {
    return el("img", { class: "photo-thumb", src, alt, loading: "lazy", tabindex: "0",
      onclick: (event) => { event.stopPropagation(); enlarge(src, alt); },
      onkeydown: (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault();
        event.stopPropagation();
        enlarge(src, alt);
      } });
  }

  function enlarge(src, alt) {
    const box = el("div", { class: "photo-box", role: "dialog", "aria-label": alt, tabindex: "-1" },
      el("img", { src, alt }));
    const close = () => { box.remove(); document.removeEventListener("keydown", onKey, true); };
    const onKey = (event) => {
      event.stopPropagation();
      event.preventDefault();
      if (["Escape", "Enter", " "].includes(event.key)) close();
    };
    box.addEventListener("click", close);
    document.addEventListener("keydown", onKey, true);
    document.body.append(box);
    box.focus();
  }

  return {
    el, api, ApiError, me, signOut, parseTime, duration, clock, when, uuid4, composing, label, word,
    timer, waitClass, tickTimers, handoverText, photo,
    CONCERNS, MOODS, TEMPERAMENTS, SENDERS, ACTIONS, FACTS, ROLES, HANDOVERS, ACTS, ASKED, DONE, OFFERED, STAGES, TRENDS, IRRITATION, QUESTIONS,
  };
})();
