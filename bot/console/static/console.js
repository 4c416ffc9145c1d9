// Parley Console: progressive enhancement of server-rendered pages.
// Every form works without this file. With it, actions post with fetch
// (the CSRF token in the X-CSRF-Token header), the inbox and the open
// conversation update live from Server-Sent Events, canned responses are
// searched as you type, and waiting times tick. All HTML it inserts comes
// from the server's templates (escaped there); text it builds itself is
// set with textContent, never innerHTML.
(() => {
  'use strict';
  document.documentElement.classList.add('js');
  const $ = (sel, root = document) => root.querySelector(sel);
  const csrf = ($('meta[name="csrf-token"]') || {}).content || '';
  const loginPath = '/console/login';

  // --- small helpers -------------------------------------------------

  let announceTimer;
  function announce(text) {
    const a = $('#announcer');
    if (!a) return;
    a.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => { a.textContent = text; }, 60);
  }

  let toastTimer;
  function toast(text, isError) {
    if (!text) return;
    let t = $('#toast');
    if (!t) {
      t = document.createElement('div');
      t.id = 'toast';
      t.className = 'toast is-hidden';
      t.setAttribute('role', isError ? 'alert' : 'status');
      document.body.appendChild(t);
    }
    t.textContent = text;
    t.classList.toggle('is-error', !!isError);
    t.classList.remove('is-hidden');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => t.classList.add('is-hidden'), isError ? 6000 : 3000);
  }

  function toLogin() {
    location.assign(loginPath + '?next=' + encodeURIComponent(location.pathname + location.search));
  }

  // fetchFragment gets server-rendered HTML; a lost session goes to the
  // login page instead of swapping the login form into the inbox.
  async function fetchFragment(url) {
    const r = await fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
    if (r.redirected && new URL(r.url).pathname === loginPath) {
      toLogin();
      throw new Error('signed out');
    }
    if (!r.ok) throw new Error(url + ': ' + r.status);
    return r.text();
  }

  // swap replaces each element of the fragment that has an id with the
  // fragment's version.
  function swap(html) {
    const t = document.createElement('template');
    t.innerHTML = html;
    for (const el of Array.from(t.content.children)) {
      const cur = el.id && document.getElementById(el.id);
      if (cur) cur.replaceWith(el);
    }
  }

  // --- waiting times -------------------------------------------------

  let skew = 0; // server clock minus browser clock, ms
  function readSkew() {
    const list = $('#inbox-list');
    const t = list && Date.parse(list.dataset.now);
    if (t) skew = t - Date.now();
  }
  // Same thresholds and wording as the server (templates.go).
  function formatWait(ms) {
    const min = Math.floor(ms / 60000);
    if (min < 1) return 'now';
    if (min < 60) return min + ' min';
    if (min < 1440) return Math.floor(min / 60) + ' h ' + String(min % 60).padStart(2, '0');
    return Math.floor(min / 1440) + ' d';
  }
  function urgency(ms) {
    const min = ms / 60000;
    return min >= 15 ? 'wait-high' : min >= 5 ? 'wait-mid' : 'wait-low';
  }
  function tickWaits() {
    const now = Date.now() + skew;
    document.querySelectorAll('.wait[data-since]').forEach((el) => {
      const since = Date.parse(el.dataset.since);
      if (!since) return;
      const ms = Math.max(0, now - since);
      el.textContent = formatWait(ms);
      el.classList.remove('wait-low', 'wait-mid', 'wait-high');
      el.classList.add(urgency(ms));
    });
  }

  // --- live inbox and conversation ----------------------------------

  const paneEl = () => $('[data-conversation]');
  const openID = () => { const p = paneEl(); return p ? Number(p.dataset.conversation) : 0; };
  const view = () => { const l = $('#inbox-list'); return l ? l.dataset.view : 'all'; };

  function scrollTranscript(force) {
    const tr = $('#transcript');
    if (!tr) return;
    if (force || tr.scrollHeight - tr.scrollTop - tr.clientHeight < 160) tr.scrollTop = tr.scrollHeight;
  }

  async function refreshList() {
    const list = $('#inbox-list');
    if (!list) return;
    const before = new Set(Array.from(list.querySelectorAll('.row')).map((r) => r.dataset.id));
    const html = await fetchFragment('/console/inbox?view=' + encodeURIComponent(list.dataset.view) + '&open=' + openID());
    swap(html);
    readSkew();
    document.querySelectorAll('#inbox-list .row').forEach((r) => {
      if (!before.has(r.dataset.id)) r.classList.add('is-new');
    });
    tickWaits();
  }

  async function refreshPane() {
    const id = openID();
    if (!id) return;
    const html = await fetchFragment('/console/conversations/' + id + '?fragment=pane&view=' + encodeURIComponent(view()));
    const old = $('#notice');
    if (old) old.remove();
    const tr = $('#transcript');
    const stick = !tr || tr.scrollHeight - tr.scrollTop - tr.clientHeight < 160;
    swap(html);
    scrollTranscript(stick);
    tickWaits();
  }

  // Coalesce bursts of events into one fetch of each part.
  const pending = { list: false, pane: false };
  let flushTimer;
  function schedule(list, pane) {
    pending.list = pending.list || list;
    pending.pane = pending.pane || pane;
    clearTimeout(flushTimer);
    flushTimer = setTimeout(async () => {
      const { list: l, pane: p } = pending;
      pending.list = pending.pane = false;
      try {
        if (p) await refreshPane();
        if (l) await refreshList();
      } catch (_) {
        // A failed refresh waits for the next event; the stream's own
        // state shows whether the console is still live.
      }
    }, 80);
  }

  function setLive(state) {
    const el = $('#live');
    if (!el) return;
    el.dataset.state = state;
    const text = $('.live-text', el);
    if (text) text.textContent = state === 'on' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline';
  }

  function onEvent(e) {
    const mine = e.id === openID();
    schedule(true, mine);
    if (e.kind === 'escalated') announce('A new conversation is waiting for a person.');
    else if (e.kind === 'customer' && mine) announce('The customer wrote a new message.');
  }

  let source;
  function connect() {
    if (!$('#inbox-list') || typeof EventSource === 'undefined') return;
    setLive('connecting');
    let dropped = false;
    source = new EventSource('/console/events');
    source.onopen = () => {
      setLive('on');
      // After a reconnect, catch up on what happened meanwhile.
      if (dropped) schedule(true, true);
    };
    source.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      if (e && typeof e.id === 'number') onEvent(e);
    };
    source.addEventListener('signedout', () => { source.close(); toLogin(); });
    source.onerror = () => {
      dropped = true;
      setLive(source.readyState === EventSource.CLOSED ? 'off' : 'connecting');
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (signed out, or shutting down):
        // try again later; a signed-out page goes to the login form then.
        setTimeout(() => fetchFragment('/console/inbox?view=' + encodeURIComponent(view())).then(connect, () => {}), 5000);
      }
    };
  }

  // --- actions -------------------------------------------------------

  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('.js-action, #compose')) return;
    ev.preventDefault();
    const submitter = ev.submitter;
    const action = submitter && submitter.hasAttribute('formaction') ? submitter.getAttribute('formaction') : form.getAttribute('action');
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const r = await fetch(action, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: 'application/json', 'X-CSRF-Token': csrf },
        credentials: 'same-origin',
      });
      let data = {};
      try { data = await r.json(); } catch (_) { /* not JSON */ }
      if (r.status === 401) { toLogin(); return; }
      if (!r.ok) { toast(data.error || 'That did not work (' + r.status + ').', true); return; }
      toast(data.notice);
      if (form.id === 'compose' || form.matches('.resolve')) form.reset();
      const results = $('#canned-results');
      if (form.id === 'compose' && results) results.replaceChildren();
      await refreshPane();
      await refreshList();
      if (form.id === 'compose') { const ta = $('#compose-text'); if (ta) ta.focus(); }
    } catch (err) {
      toast('The server could not be reached. Try again.', true);
    } finally {
      buttons.forEach((b) => { if (b.isConnected) b.disabled = false; });
    }
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.target && ev.target.id === 'compose-text' && ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      const form = $('#compose');
      if (form) form.requestSubmit($('#send-reply'));
    }
  });

  // --- canned responses ----------------------------------------------

  let cannedTimer;
  let cannedSeq = 0;
  function renderCanned(hits) {
    const ul = $('#canned-results');
    if (!ul) return;
    ul.replaceChildren(...hits.map((h) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'canned-hit';
      b.dataset.answer = h.answer;
      const strong = document.createElement('strong');
      strong.textContent = h.title;
      const span = document.createElement('span');
      span.textContent = h.answer;
      b.append(strong, span);
      li.append(b);
      return li;
    }));
  }
  document.addEventListener('input', (ev) => {
    if (!ev.target || ev.target.id !== 'canned-q') return;
    const q = ev.target.value.trim();
    clearTimeout(cannedTimer);
    if (!q) { renderCanned([]); return; }
    cannedTimer = setTimeout(async () => {
      const seq = ++cannedSeq;
      try {
        const r = await fetch('/console/api/canned?q=' + encodeURIComponent(q), { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (r.status === 401) { toLogin(); return; }
        const data = await r.json();
        if (seq === cannedSeq && Array.isArray(data.hits)) renderCanned(data.hits);
      } catch (_) { /* keep the last results */ }
    }, 150);
  });
  function closeCanned() {
    const q = $('#canned-q');
    if (q) q.value = '';
    cannedSeq++; // a search still under way shows nothing
    renderCanned([]);
  }
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && $('#canned-results .canned-hit')) {
      closeCanned();
      return;
    }
    if (ev.target && ev.target.id === 'canned-q' && ev.key === 'Enter') {
      ev.preventDefault(); // results appear as you type; Enter takes the first
      const first = $('#canned-results .canned-hit');
      if (first) first.click();
    }
  });
  document.addEventListener('click', (ev) => {
    const hit = ev.target instanceof Element && ev.target.closest('.canned-hit');
    if (!hit) return;
    const ta = $('#compose-text');
    if (!ta) return;
    ta.value = ta.value.trim() ? ta.value.replace(/\s*$/, '\n\n') + hit.dataset.answer : hit.dataset.answer;
    closeCanned();
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  });

  // --- retraining progress (NLU inbox) --------------------------------

  // While a retraining runs, its stage is polled and shown; the page
  // reloads when it ends, to show the result.
  function watchTraining() {
    const card = $('#train-status');
    if (!card || card.dataset.running !== 'true') return;
    const stage = $('#train-stage');
    const timer = setInterval(async () => {
      try {
        const r = await fetch('/console/training/status', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (r.status === 401) { clearInterval(timer); toLogin(); return; }
        const st = await r.json();
        if (st.running) {
          const s = st.stage || {};
          const step = s.of ? ' ' + s.step + '/' + s.of : '';
          const secs = s.elapsed_ns ? ' (' + (s.elapsed_ns / 1e9).toFixed(1) + ' s)' : '';
          stage.textContent = 'Running: ' + (s.name || '') + step + (s.detail ? ' ' + s.detail : '') + secs;
        } else {
          clearInterval(timer);
          location.reload();
        }
      } catch (_) { /* the next poll tries again */ }
    }, 1000);
  }

  // --- start ---------------------------------------------------------

  function start() {
    readSkew();
    tickWaits();
    setInterval(tickWaits, 20000);
    scrollTranscript(true);
    connect();
    watchTraining();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
