// The live queue stream (GET /api/live, server-sent events) for the workbench and the supervisor's
// page: each `queue` event goes to onQueue; a refused stream (signed out, server restarting) is
// reopened after asking who we are (a 401 goes to the sign-in page).
"use strict";

const KefuLive = (() => {
  function connect(onQueue) {
    const status = document.getElementById("live");
    const source = new EventSource("/api/live");
    source.addEventListener("queue", (event) => onQueue(JSON.parse(event.data)));
    source.addEventListener("open", () => { status.textContent = "● 实时"; status.className = "live on"; });
    source.addEventListener("error", () => {
      status.textContent = "● 重连中";
      status.className = "live off";
      // The browser retries a dropped stream by itself, but not a refused one.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => Kefu.me().then(() => connect(onQueue), () => setTimeout(() => connect(onQueue), 5000)), 2000);
      }
    });
  }

  return { connect };
})();
