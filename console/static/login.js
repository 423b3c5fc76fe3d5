// Sign-in: JSON to /login (a cross-site form cannot send JSON), then on to where the agent was going.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signin");
  const error = document.getElementById("error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 15000);
    try {
      const response = await fetch("/login", {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: form.name.value.trim(), password: form.password.value }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        error.textContent = response.status === 401 ? "账号或密码不对" : (body.error && body.error.message) || "登录失败";
        return;
      }
      const next = new URLSearchParams(location.search).get("next") || "/";
      // Only a path on this site: never an open redirect.
      location.assign(/^\/(?!\/)/.test(next) ? next : "/");
    } catch (e) {
      error.textContent = "连接不上服务器，请稍后再试";
    } finally {
      clearTimeout(timer);
    }
  });
});
