// kefu-assist web chat for a shop's own pages: one script tag and a config object.
//   <script>window.KefuChat = { title: "小店客服", colors: { brand: "#e4393c" }, order_id: "1234567890" };</script>
//   <script src="https://kefu.example.com/chat/embed.js" async></script>
// It adds a button and a chat frame served by the console (the frame keeps its own styles and
// storage); the config travels in the frame's URL fragment, which no server ever logs.
(function () {
  "use strict";
  var script = document.currentScript;
  var cfg = window.KefuChat || {};
  var server = String(cfg.server || (script && script.src ? new URL(script.src).origin : "")).replace(/\/+$/, "");
  if (!server) return;
  var colors = cfg.colors || {};
  var brand = typeof colors.brand === "string" ? colors.brand : "#c8102e";
  var pass = { title: cfg.title, colors: colors, order_id: cfg.order_id, customer_id: cfg.customer_id, sig: cfg.sig };

  var frame = document.createElement("iframe");
  frame.src = server + "/chat/#" + encodeURIComponent(JSON.stringify(pass));
  frame.title = cfg.title || "在线客服";
  frame.setAttribute("data-kefu-chat", "frame");
  var f = frame.style;
  f.position = "fixed"; f.right = "20px"; f.bottom = "84px"; f.width = cfg.width || "360px"; f.height = cfg.height || "540px";
  f.maxWidth = "calc(100vw - 40px)"; f.maxHeight = "calc(100vh - 110px)"; f.border = "0"; f.borderRadius = "12px";
  f.boxShadow = "0 8px 30px rgba(0,0,0,.2)"; f.zIndex = "2147483000"; f.background = "#fff";
  f.display = cfg.open ? "block" : "none";

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = cfg.buttonText || "联系客服";
  button.setAttribute("data-kefu-chat", "button");
  button.setAttribute("aria-expanded", cfg.open ? "true" : "false");
  var b = button.style;
  b.position = "fixed"; b.right = "20px"; b.bottom = "20px"; b.zIndex = "2147483000"; b.border = "0";
  b.borderRadius = "24px"; b.padding = "12px 20px"; b.font = "15px sans-serif"; b.cursor = "pointer";
  b.background = brand; b.color = typeof colors.brandText === "string" ? colors.brandText : "#fff";
  b.boxShadow = "0 4px 14px rgba(0,0,0,.2)";
  button.addEventListener("click", function () {
    var open = frame.style.display === "none";
    frame.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  function mount() { document.body.appendChild(frame); document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
