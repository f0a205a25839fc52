// The web chat page: what the visitor says goes to /chat/messages; their conversation (their
// words, the answers, the drafts of an answer being written) comes from /chat/events.
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("say");
  const input = document.getElementById("text");
  const state = document.getElementById("state");
  const shown = new Map(); // event body id -> its bubble

  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");

  function bubble(id, cls) {
    let el = shown.get(id);
    if (!el) {
      el = document.createElement("div");
      el.dataset.id = id;
      log.appendChild(el);
      shown.set(id, el);
    }
    el.className = "bubble " + cls;
    return el;
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function buttons(rows) {
    const box = document.createElement("div");
    box.className = "buttons";
    for (const row of rows) {
      for (const b of row) {
        if (b.url) {
          const a = document.createElement("a");
          a.href = b.url; a.target = "_blank"; a.rel = "noopener noreferrer"; a.textContent = b.text;
          box.appendChild(a);
        } else {
          const btn = document.createElement("button");
          btn.type = "button"; btn.textContent = b.text;
          btn.addEventListener("click", () => press(b, box));
          box.appendChild(btn);
        }
      }
    }
    return box;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function press(b, box) {
    for (const el of box.querySelectorAll("button")) el.disabled = true;
    try { await post("/chat/press", { data: b.data, label: b.text, id: newId() }); }
    catch (e) { state.textContent = "That did not go through: try again."; for (const el of box.querySelectorAll("button")) el.disabled = false; }
  }

  const on = {
    you(body) { bubble(body.id, "you").textContent = body.text; },
    draft(body) {
      const el = bubble(body.id, "answer draft");
      if (el.dataset.final) return; // the answer came first
      if (Number(el.dataset.seq || 0) > body.seq) return;
      el.dataset.seq = body.seq;
      el.innerHTML = body.html || "";
      if (body.status) {
        const s = document.createElement("div");
        s.className = "status"; s.textContent = body.status;
        el.appendChild(s);
      }
    },
    answer(body) {
      const el = bubble(body.id, "answer" + (body.kind === "error" ? " error" : ""));
      el.dataset.final = "1";
      el.innerHTML = body.html;
      if (body.picture && body.picture.startsWith("data:image/")) {
        const img = document.createElement("img");
        img.className = "picture"; img.alt = ""; img.src = body.picture;
        el.insertBefore(img, el.firstChild);
      }
      if (body.buttons && body.buttons.length) el.appendChild(buttons(body.buttons));
    },
  };

  const events = new EventSource("/chat/events", { withCredentials: true });
  for (const kind of Object.keys(on)) {
    events.addEventListener(kind, (e) => { on[kind](JSON.parse(e.data)); scroll(); state.textContent = ""; });
  }
  events.onerror = () => { state.textContent = "Reconnecting…"; };
  events.onopen = () => { state.textContent = ""; };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const id = newId();
    bubble(id, "you").textContent = text;
    scroll();
    input.value = "";
    try { await post("/chat/messages", { text, id }); }
    catch (err) { state.textContent = "Not sent: check your connection and try again."; input.value = text; }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
})();
