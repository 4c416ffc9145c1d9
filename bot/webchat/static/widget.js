/*
 * Parley chat widget. Add it to any page with one tag:
 *
 *   <script src="https://chat.example/widget.js" defer></script>
 *
 * Optional attributes: data-title="Shop help", data-accent="#4f46e5",
 * data-server="https://chat.example" (default: where the script came from).
 *
 * It keeps a visitor id in localStorage so the conversation continues
 * across page loads, keeps unacknowledged messages and resends them after
 * a reconnect (with backoff), and renders everything as text.
 */
(function () {
  "use strict";
  if (window.__parleyWidget) return;
  window.__parleyWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var base = (script && script.dataset.server) || (script ? new URL(script.src, location.href).origin : location.origin);
  var title = (script && script.dataset.title) || "Customer service";
  var accent = (script && script.dataset.accent) || "#4f46e5";
  var wsURL = base.replace(/^http/, "ws") + "/ws";

  var KEY = "parley:" + base + ":";
  function load(k, d) {
    try { var v = localStorage.getItem(KEY + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; }
  }
  function save(k, v) { try { localStorage.setItem(KEY + k, JSON.stringify(v)); } catch (e) {} }

  var visitor = load("visitor", "");
  var pending = load("pending", []); // [{id, text}] not yet acknowledged
  var shown = {};                    // seq -> true
  var lastSeq = 0;
  var ws = null, open = false, backoff = 500, retryTimer = null, everConnected = false;

  // --- DOM, in a shadow root so the page's styles and ours don't mix ---
  var host = document.createElement("div");
  host.id = "parley-chat";
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/widget.css";
  root.appendChild(css);
  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  var wrap = el("div", "pw", { "data-state": "closed" });
  wrap.style.setProperty("--accent", accent);
  var bubble = el("button", "pw-bubble", { type: "button", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "pw-panel" });
  bubble.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M12 3C6.5 3 2 6.6 2 11c0 2.1 1 4 2.7 5.4L4 21l4.6-2.3c1.1.3 2.2.4 3.4.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z"/></svg>';
  var panel = el("section", "pw-panel", { id: "pw-panel", role: "dialog", "aria-label": title, "aria-modal": "false", hidden: "" });
  var header = el("header", "pw-header");
  var h = el("h2", "pw-title"); h.textContent = title;
  var status = el("p", "pw-status", { "aria-live": "polite" }); status.textContent = "We usually answer in seconds";
  var heading = el("div", "pw-heading"); heading.appendChild(h); heading.appendChild(status);
  var closeBtn = el("button", "pw-close", { type: "button", "aria-label": "Close chat" });
  closeBtn.textContent = "\u00d7";
  header.appendChild(heading); header.appendChild(closeBtn);
  var log = el("ol", "pw-log", { role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var typing = el("div", "pw-typing", { "aria-label": "Assistant is typing", hidden: "" });
  typing.innerHTML = "<span></span><span></span><span></span>";
  var quick = el("div", "pw-quick", { role: "group", "aria-label": "Suggested replies" });
  var form = el("form", "pw-form");
  var input = el("textarea", "pw-input", { rows: "1", placeholder: "Write a message…", "aria-label": "Message", maxlength: "2000" });
  var send = el("button", "pw-send", { type: "submit", "aria-label": "Send" });
  send.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>';
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(header); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(quick); panel.appendChild(form);
  wrap.appendChild(panel); wrap.appendChild(bubble);
  root.appendChild(wrap);

  function setOpen(v) {
    wrap.dataset.state = v ? "open" : "closed";
    bubble.setAttribute("aria-expanded", v ? "true" : "false");
    bubble.setAttribute("aria-label", v ? "Close chat" : "Open chat");
    if (v) { panel.removeAttribute("hidden"); input.focus(); scroll(); connect(); }
    else { panel.setAttribute("hidden", ""); bubble.focus(); }
    save("open", v);
  }
  bubble.addEventListener("click", function () { setOpen(wrap.dataset.state !== "open"); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  // After layout, so a message that grew the list is in view.
  function scroll() { requestAnimationFrame(function () { log.scrollTop = log.scrollHeight; }); }

  function timeOf(at) {
    var d = at ? new Date(at) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // addLine renders one message; text is always text, never markup.
  function addLine(from, text, opts) {
    opts = opts || {};
    var li = el("li", "pw-msg pw-" + from);
    if (opts.id) li.dataset.id = opts.id;
    if (opts.seq) li.dataset.seq = opts.seq;
    if (from === "agent") {
      var who = el("span", "pw-who"); who.textContent = opts.author || "Support team";
      li.appendChild(who);
    }
    var b = el("p", "pw-text"); b.textContent = text;
    li.appendChild(b);
    var meta = el("span", "pw-meta"); meta.textContent = opts.pending ? "Sending…" : timeOf(opts.at);
    li.appendChild(meta);
    if (opts.pending) li.classList.add("pw-pending");
    // Stored messages go in seq order, before anything still unsent.
    var next = null;
    if (opts.seq) {
      for (var n = log.firstChild; n; n = n.nextSibling) {
        if (!n.dataset.seq || +n.dataset.seq > opts.seq) { next = n; break; }
      }
    }
    log.insertBefore(li, next);
    scroll();
    return li;
  }

  function showQuick(list) {
    quick.textContent = "";
    (list || []).forEach(function (q) {
      var b = el("button", "pw-chip", { type: "button" });
      b.textContent = q;
      b.addEventListener("click", function () { quick.textContent = ""; sendText(q); });
      quick.appendChild(b);
    });
  }

  function newID() {
    var a = new Uint8Array(8);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return "c" + Date.now().toString(36) + Array.prototype.map.call(a, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function submit() {
    var t = input.value.trim();
    if (!t) return;
    input.value = ""; input.style.height = "auto";
    sendText(t);
  }

  function sendText(t) {
    var m = { id: newID(), text: t };
    pending.push(m); save("pending", pending);
    addLine("customer", t, { id: m.id, pending: true });
    showQuick([]);
    if (open) transmit(m); else connect();
  }

  function transmit(m) {
    try { ws.send(JSON.stringify({ type: "message", id: m.id, text: m.text })); } catch (e) {}
  }

  function acked(id, seq) {
    pending = pending.filter(function (m) { return m.id !== id; });
    save("pending", pending);
    var li = log.querySelector('li[data-id="' + id + '"]');
    if (li) {
      li.classList.remove("pw-pending", "pw-failed");
      li.dataset.seq = seq;
      li.querySelector(".pw-meta").textContent = timeOf();
    }
    shown[seq] = true;
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        visitor = f.visitor; save("visitor", visitor);
        setStatus(f.state);
        // What was typed while offline is resent, in order; the history
        // that follows is placed before it.
        pending.forEach(function (m) {
          if (!log.querySelector('li[data-id="' + m.id + '"]')) addLine("customer", m.text, { id: m.id, pending: true });
          transmit(m);
        });
        break;
      case "ack":
        acked(f.id, f.seq);
        break;
      case "message":
        if (f.seq && shown[f.seq]) return;
        if (f.seq) { shown[f.seq] = true; lastSeq = Math.max(lastSeq, f.seq); }
        if (f.from === "customer" && f.id) {
          var mine = log.querySelector('li[data-id="' + f.id + '"]');
          if (mine) { acked(f.id, f.seq); return; }
        }
        addLine(f.from, f.text, { seq: f.seq, id: f.id, author: f.author, at: f.at });
        if (f.from !== "customer") showQuick(f.quick_replies);
        if (f.from === "agent") setStatus("assigned");
        break;
      case "typing":
        if (f.on) typing.removeAttribute("hidden"); else typing.setAttribute("hidden", "");
        scroll();
        break;
      case "state":
        setStatus(f.state);
        break;
      case "error":
        if ((f.code === "rate_limited" || f.code === "unavailable") && f.id) {
          // Not stored: keep it and send it again after the pause.
          var m = pending.filter(function (x) { return x.id === f.id; })[0];
          if (m) setTimeout(function () { if (open) transmit(m); }, f.retry_after_ms || 1000);
          var wait = log.querySelector('li[data-id="' + f.id + '"]');
          if (wait && f.code === "unavailable") wait.querySelector(".pw-meta").textContent = f.message;
        } else if (f.id) {
          var li = log.querySelector('li[data-id="' + f.id + '"]');
          if (f.code !== "internal") {
            // The server will never take it: stop resending.
            pending = pending.filter(function (x) { return x.id !== f.id; });
            save("pending", pending);
          }
          if (li) { li.classList.add("pw-failed"); li.querySelector(".pw-meta").textContent = f.message || "Not sent"; }
        }
        break;
    }
  }

  function setStatus(state) {
    var t = { bot: "We usually answer in seconds", resolved: "We usually answer in seconds", escalated: "A member of our team will join shortly", assigned: "You're chatting with our team" }[state];
    if (t) status.textContent = t;
    wrap.dataset.conn = "online";
  }

  function connect() {
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) return;
    clearTimeout(retryTimer);
    try { ws = new WebSocket(wsURL); } catch (e) { return retry(); }
    ws.onopen = function () {
      open = true; backoff = 500; everConnected = true;
      ws.send(JSON.stringify({ type: "hello", visitor: visitor, last_seq: lastSeq }));
    };
    ws.onmessage = function (e) {
      var f; try { f = JSON.parse(e.data); } catch (x) { return; }
      onFrame(f);
    };
    ws.onclose = function () {
      open = false; typing.setAttribute("hidden", "");
      if (everConnected) { wrap.dataset.conn = "reconnecting"; status.textContent = "Reconnecting…"; }
      retry();
    };
    ws.onerror = function () {};
  }

  function retry() {
    clearTimeout(retryTimer);
    var wait = backoff * (0.75 + Math.random() / 2);
    backoff = Math.min(backoff * 2, 10000);
    retryTimer = setTimeout(connect, wait);
  }

  // A returning visitor sees the conversation again, and what was not
  // yet sent is sent.
  if (visitor || pending.length) connect();
  if (load("open", false)) setOpen(true);
  pending.forEach(function (m) { addLine("customer", m.text, { id: m.id, pending: true }); });
  window.addEventListener("online", function () { backoff = 500; connect(); });
})();
