// Embeds the secretary's web chat in any page: <script src="https://…/chat/embed.js" async></script>
// A button in the corner opens the chat in a frame; the chat keeps its own session.
(() => {
  "use strict";
  const url = __CHAT_URL__;
  if (document.getElementById("sa-chat-frame")) return;
  const frame = document.createElement("iframe");
  frame.id = "sa-chat-frame";
  frame.src = url;
  frame.title = "Chat";
  frame.style.cssText = "position:fixed;bottom:80px;right:16px;width:360px;height:520px;max-height:80vh;border:1px solid #ccc;border-radius:12px;display:none;z-index:2147483647;background:#fff";
  const open = document.createElement("button");
  open.id = "sa-chat-open";
  open.type = "button";
  open.textContent = "Chat";
  open.setAttribute("aria-controls", frame.id);
  open.style.cssText = "position:fixed;bottom:16px;right:16px;padding:12px 18px;border-radius:24px;border:none;background:#2b6cb0;color:#fff;font:inherit;cursor:pointer;z-index:2147483647";
  open.addEventListener("click", () => { frame.style.display = frame.style.display === "none" ? "block" : "none"; });
  const add = () => { document.body.appendChild(frame); document.body.appendChild(open); };
  if (document.body) add(); else document.addEventListener("DOMContentLoaded", add);
})();
