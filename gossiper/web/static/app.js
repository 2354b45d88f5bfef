// Peerster web GUI: plain JavaScript, no libraries, no build step.
//
// Data comes from the JSON API on the same origin (/id, /message, /node,
// /links, /panels). Live updates come from the server-sent event stream /events; an
// event only says "something changed", and we re-fetch the matching GET
// endpoint, so a dropped or duplicated event never leaves the page wrong.
// While the stream is down we poll every second and retry the stream.
//
// Safety: every piece of data reaches the page through textContent, never
// innerHTML, so names, addresses and messages always show literally.
"use strict";

(function () {
  const POLL_MS = 1000;       // polling period while the stream is down
  const RETRY_MS = 3000;      // delay before opening a new stream
  const SAFETY_MS = 15000;    // slow full refresh even while live (the server may skip events for a slow tab)
  const OK_CLEAR_MS = 4000;   // how long a success message stays
  const ERR_CLEAR_MS = 12000; // errors stay longer; a click or Escape dismisses either

  const $ = (id) => document.getElementById(id);

  // el builds an element with an optional class and text (always textContent).
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---- feedback ---------------------------------------------------------

  let statusTimer = 0;
  function say(text, ok) {
    const s = $("status");
    clearTimeout(statusTimer);
    s.className = "status " + (ok ? "ok" : "err");
    s.textContent = text;
    statusTimer = setTimeout(clearStatus, ok ? OK_CLEAR_MS : ERR_CLEAR_MS);
  }
  function clearStatus() {
    clearTimeout(statusTimer);
    $("status").textContent = "";
    $("status").className = "status";
  }
  $("status").addEventListener("click", clearStatus);
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") clearStatus(); });

  // Connection indicator in the header: how the page is being kept up to date.
  let mode = "connecting";    // "connecting" | "live" | "poll"
  let reachable = true;
  const CONN = {
    connecting: ["conn", "Connecting…"],
    live: ["conn live", "Live"],
    poll: ["conn poll", "Polling (live updates unavailable)"],
    down: ["conn down", "Cannot reach the node, retrying…"],
  };
  function setConn() {
    const [cls, text] = CONN[reachable ? mode : "down"];
    $("conn").className = cls;
    $("conn").textContent = text;
  }

  // ---- HTTP -------------------------------------------------------------

  // request sends one API call and resolves to the parsed JSON answer (or
  // null for an empty body). It rejects with an Error whose message is the
  // server's {"error": ...} text, or a plain network error.
  async function request(method, url, body) {
    const opts = { method: method, cache: "no-store", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let res, text;
    try {
      res = await fetch(url, opts);
      text = await res.text();
    } catch (e) {
      throw new Error("network error, the node cannot be reached");
    }
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { /* not JSON: keep the text for the error */ }
    }
    if (!res.ok) {
      const why = data && typeof data.error === "string" ? data.error : (text.trim() || res.statusText);
      throw new Error(why + " (HTTP " + res.status + ")");
    }
    return data;
  }

  // loader returns a function that runs run and reports reachability.
  // Calls made while one is in flight fold into one follow-up run, so a
  // burst of events costs at most two fetches and the last render is fresh.
  function loader(run) {
    let busy = false, again = false;
    return async function load() {
      if (busy) { again = true; return; }
      busy = true;
      try {
        do {
          again = false;
          try {
            await run();
            if (!reachable) { reachable = true; setConn(); }
          } catch (e) {
            if (reachable) { reachable = false; setConn(); }
          }
        } while (again);
      } finally {
        busy = false;
      }
    };
  }

  // refresher GETs url and renders the answer.
  function refresher(url, render) {
    return loader(async () => render(await request("GET", url)));
  }

  // ---- rendering --------------------------------------------------------

  function localTime(d) {
    const now = new Date();
    return d.toDateString() === now.toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }

  // timeEl shows a Date in local time, keeping the exact value in datetime.
  function timeEl(d, raw) {
    const t = el("time", "time");
    if (d && !isNaN(d.getTime())) {
      t.dateTime = d.toISOString();
      t.textContent = localTime(d);
      t.title = d.toString();
    } else {
      t.textContent = raw ? String(raw) : "—";
    }
    return t;
  }

  function renderId(id) {
    if (!id || typeof id !== "object") return;
    $("id-name").textContent = id.name || "";
    // Every running protocol's fields, in its own words: a protocol the
    // page knows nothing of shows up here too.
    const list = $("id-list");
    while (list.children.length > 2) list.lastElementChild.remove();
    for (const f of Array.isArray(id.fields) ? id.fields : []) {
      const dd = el("dd", null, f.value);
      dd.id = "id-" + f.key;
      dd.dataset.protocol = f.protocol;
      list.append(el("dt", null, f.label), dd);
    }
    document.title = id.name ? "Peerster: " + id.name : "Peerster";
  }

  let nodesShown = "";
  function renderNodes(nodes) {
    if (!Array.isArray(nodes)) return;
    const sig = JSON.stringify(nodes);
    if (sig === nodesShown) return;      // unchanged: keep the DOM (and any selection) as is
    nodesShown = sig;
    const list = $("nodes");
    list.textContent = "";
    for (const n of nodes) list.append(el("li", null, n));
  }

  // The chat is read a page at a time by cursor (every message has one, and
  // they only grow): the newest PAGE messages first, what follows the last
  // one shown as it arrives (the event carries it), and older pages when the
  // reader scrolls to the top. Nothing ever fetches the whole history.
  const PAGE = 200;
  let firstCursor = 0, lastCursor = 0;   // the oldest and newest shown; 0 before the first load
  let olderDone = false;                 // the oldest message is shown
  let stickToBottom = true;              // first load and own sends jump to the newest message

  function atBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 40; }

  // showNewest replaces the list with the newest page.
  function showNewest(msgs) {
    if (!Array.isArray(msgs)) return;
    const list = $("chat");
    list.textContent = "";
    firstCursor = lastCursor = 0;
    olderDone = msgs.length < PAGE;
    appendChat(msgs);
    list.scrollTop = list.scrollHeight;
  }

  // appendChat adds messages newer than the last one shown; it follows them
  // only if the reader was already at the bottom.
  function appendChat(msgs) {
    if (!Array.isArray(msgs)) return;
    const list = $("chat");
    const follow = atBottom(list) || stickToBottom;
    for (const m of msgs) {
      if (m.cursor <= lastCursor) continue;
      list.append(messageItem(m));
      if (!firstCursor) firstCursor = m.cursor;
      lastCursor = m.cursor;
    }
    if (follow) list.scrollTop = list.scrollHeight;
    stickToBottom = false;
  }

  // prependChat adds an older page above, keeping what the reader sees in
  // place.
  function prependChat(msgs) {
    if (!Array.isArray(msgs)) return;
    const list = $("chat");
    if (msgs.length < PAGE) olderDone = true;
    const older = msgs.filter((m) => m.cursor < firstCursor);
    if (!older.length) return;
    const height = list.scrollHeight;
    list.prepend(...older.map(messageItem));
    firstCursor = older[0].cursor;
    list.scrollTop += list.scrollHeight - height;
  }

  const loadNewest = loader(async () => showNewest(await request("GET", "/message?limit=" + PAGE)));
  const loadNewer = loader(async () => {
    if (!lastCursor) { showNewest(await request("GET", "/message?limit=" + PAGE)); return; }
    for (;;) {
      const msgs = await request("GET", "/message?after=" + lastCursor + "&limit=" + PAGE);
      appendChat(msgs);
      if (!Array.isArray(msgs) || msgs.length < PAGE) return;
    }
  });
  // Scroll events come in bursts; one at the top loads one page, and the
  // page it adds moves the reader away from the top.
  const loadOlder = loader(async () => {
    if (olderDone || !firstCursor || $("chat").scrollTop >= 80) return;
    prependChat(await request("GET", "/message?before=" + firstCursor + "&limit=" + PAGE));
  });
  $("chat").addEventListener("scroll", () => { if ($("chat").scrollTop < 80) loadOlder(); });

  // onMessage shows the message an event carries when it is the next one;
  // after a gap (events are dropped when a tab falls behind) it asks for
  // what it missed.
  function onMessage(ev) {
    let m = null;
    try { m = JSON.parse(ev.data); } catch (e) { /* fall back to asking */ }
    if (m && lastCursor && m.cursor === lastCursor + 1) appendChat([m]);
    else if (!m || m.cursor > lastCursor) loadNewer();
    else loadNewest();                   // cursors start again: the node restarted without its history
  }

  function messageItem(m) {
    const li = el("li", "msg");
    const meta = el("div", "meta");
    meta.append(el("span", "origin", m.origin || "?"), el("span", "protocol", m.protocol || "?"));
    if (m.suspect) {
      // Our name, an ID we never issued: someone else wrote it.
      li.classList.add("suspect");
      const tag = el("span", "suspect-tag", "not sent by this node");
      tag.title = "carries this node's name with an ID it never issued";
      meta.append(tag);
    }
    meta.append(timeEl(m.time ? new Date(m.time) : null, m.time));
    li.append(meta, el("p", "text", m.text));
    if (m.from) li.title = "from " + m.from;
    return li;
  }

  // Panels are the protocols' own boxes (the digit table…), drawn from
  // /panels alone: a protocol the page knows nothing of shows up too. A
  // panel's box is made once, so a form keeps what is typed in it; its
  // table is redrawn only when its rows change.
  const panelBoxes = new Map();          // panel id -> {box, body, empty, shown}
  const panelEvents = new Set();         // update events after which /panels is read again

  function panelBox(p) {
    const box = el("section", "box panel-box");
    box.id = "panel-" + p.id;
    box.dataset.protocol = p.protocol;
    const title = el("h2", null, p.title);
    title.id = p.id + "-title";
    box.setAttribute("aria-labelledby", title.id);
    const table = el("table", "panel-table");
    table.setAttribute("aria-labelledby", title.id);
    const head = el("tr");
    for (const c of p.columns || []) {
      const th = el("th", c.kind === "time" ? "col-time" : null, c.title);
      th.scope = "col";
      head.append(th);
    }
    const thead = el("thead");
    thead.append(head);
    const body = el("tbody");
    body.id = p.id;
    table.append(thead, body);
    const empty = el("p", "empty", p.empty || "Nothing yet.");
    box.append(title, table, empty);
    if (p.form) box.append(panelForm(p));
    return { box: box, body: body, table: table, empty: empty, columns: p.columns || [], shown: "" };
  }

  function panelForm(p) {
    const f = p.form;
    const form = el("form", "row");
    form.autocomplete = "off";
    const label = el("label", "sr-only", f.label);
    const input = el("input");
    input.id = label.htmlFor = p.id + "-input";
    input.name = f.field;
    input.required = true;
    if (f.placeholder) input.placeholder = f.placeholder;
    const ranged = typeof f.min === "number" && typeof f.max === "number";
    if (ranged) { input.type = "number"; input.min = f.min; input.max = f.max; input.step = 1; }
    else input.type = "text";
    const button = el("button", null, f.button);
    button.id = p.id + "-submit";
    button.type = "submit";
    form.append(label, input, button);
    wire(form, f.action,
      (v) => {
        if (!ranged) return v.trim() ? { [f.field]: v.trim() } : "fill in " + f.label.toLowerCase();
        const n = Number(v);
        return v.trim() !== "" && Number.isInteger(n) && n >= f.min && n <= f.max
          ? { [f.field]: n } : f.label.toLowerCase() + " must be " + f.min + " to " + f.max;
      },
      f.button, (a, b) => { refreshPanels(); return (f.done || "Done.").replace("{value}", b[f.field]); });
    return form;
  }

  function renderPanels(panels) {
    if (!Array.isArray(panels)) return;
    const holder = $("panels");
    const seen = new Set();
    for (const p of panels) {
      if (!p || typeof p.id !== "string") continue;
      seen.add(p.id);
      let shown = panelBoxes.get(p.id);
      if (!shown) {
        shown = panelBox(p);
        panelBoxes.set(p.id, shown);
        holder.append(shown.box);
      }
      for (const name of p.refresh || []) listenForPanels(name);
      const rows = Array.isArray(p.rows) ? p.rows : [];
      const sig = JSON.stringify(rows);
      if (sig === shown.shown) continue;
      shown.shown = sig;
      shown.body.textContent = "";
      for (const r of rows) {
        const tr = el("tr", r.own ? "own" : null);
        (r.cells || []).forEach((cell, i) => {
          const td = el("td");
          if ((shown.columns[i] || {}).kind === "time") {
            // Unix seconds; empty means never.
            td.className = "col-time";
            td.append(timeEl(cell ? new Date(Number(cell) * 1000) : null, null));
          } else {
            td.textContent = cell;
          }
          if (i === 0 && r.own) td.append(el("span", "sr-only", " (this node)"));
          tr.append(td);
        });
        shown.body.append(tr);
      }
      shown.empty.hidden = rows.length > 0;
      shown.table.hidden = rows.length === 0;
    }
    for (const [id, shown] of panelBoxes) {
      if (!seen.has(id)) { shown.box.remove(); panelBoxes.delete(id); }
    }
  }

  function listenForPanels(name) {
    if (panelEvents.has(name)) return;
    panelEvents.add(name);
    if (stream) stream.addEventListener(name, refreshPanels);
  }

  let linksShown = "";
  function renderLinks(rows) {
    if (!Array.isArray(rows)) return;
    const sig = JSON.stringify(rows);
    if (sig === linksShown) return;
    linksShown = sig;
    const body = $("links");
    body.textContent = "";
    for (const r of rows) {
      const tr = el("tr", r.alive ? "alive" : "dead");
      tr.append(el("td", null, r.protocol), el("td", "peer", r.peer), el("td", null, r.addr || "?"),
        el("td", "state", r.alive ? "alive" : "down"));
      body.append(tr);
    }
    $("links-empty").hidden = rows.length > 0;
    body.closest("table").hidden = rows.length === 0;
  }

  const refreshId = refresher("/id", renderId);
  const refreshChat = loadNewer;
  const refreshNodes = refresher("/node", renderNodes);
  const refreshPanels = refresher("/panels", renderPanels);
  const refreshLinks = refresher("/links", renderLinks);
  function refreshPeers() { refreshNodes(); refreshLinks(); }
  function refreshAll() { refreshId(); refreshChat(); refreshPeers(); refreshPanels(); }

  // ---- live updates -----------------------------------------------------

  let stream = null, pollTimer = 0, retryTimer = 0;

  function startPolling() {
    mode = "poll";
    setConn();
    if (!pollTimer) pollTimer = setInterval(refreshAll, POLL_MS);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  function connect() {
    retryTimer = 0;
    if (!window.EventSource) { startPolling(); return; }
    const es = new EventSource("/events");
    stream = es;
    es.onopen = () => {
      stopPolling();
      mode = "live";
      setConn();
      // Catch up on what happened while we were not listening; the chat
      // from its newest page, in case the node restarted meanwhile.
      refreshId(); refreshPeers(); refreshPanels(); loadNewest();
    };
    es.onerror = () => {
      // The browser's built-in retry is silent and gives up for good on an
      // HTTP error, so we take over: close, poll meanwhile, reopen later.
      es.close();
      if (stream !== es) return;
      stream = null;
      startPolling();
      if (!retryTimer) retryTimer = setTimeout(connect, RETRY_MS);
    };
    es.addEventListener("message", onMessage);
    es.addEventListener("retract", loadNewest);
    // peers events may concern any protocol; /node (the PEERS list) and
    // /links are authoritative, so re-fetch them rather than trusting the
    // event data.
    es.addEventListener("peers", refreshPeers);
    for (const name of panelEvents) es.addEventListener(name, refreshPanels);
    es.addEventListener("name", refreshId);
  }

  setInterval(() => { if (mode === "live") refreshAll(); }, SAFETY_MS);

  // ---- forms ------------------------------------------------------------

  // wire handles one form: check the input, POST it, report the outcome.
  // check returns the JSON body, or a string explaining what is wrong.
  // The button is never disabled (that would drop keyboard focus); a busy
  // flag stops double submits instead.
  function wire(form, url, check, verb, done) {
    if (typeof form === "string") form = $(form);
    const input = form.querySelector("input");
    const button = form.querySelector("button");
    let busy = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const body = check(input.value);
      if (typeof body === "string") { say(verb + " failed: " + body, false); input.focus(); return; }
      busy = true;
      button.setAttribute("aria-disabled", "true");
      form.setAttribute("aria-busy", "true");
      // Clear at once, so the input is already empty when the server's own
      // event shows the result; put the text back if the request fails.
      const typed = input.value;
      input.value = "";
      try {
        const answer = await request("POST", url, body);
        say(done(answer, body), true);
      } catch (e) {
        if (input.value === "") input.value = typed;
        say(verb + " failed: " + e.message, false);
        input.focus();
      } finally {
        busy = false;
        button.removeAttribute("aria-disabled");
        form.removeAttribute("aria-busy");
      }
    });
  }

  wire("chat-form", "/message",
    (v) => (v.trim() ? { text: v } : "type a message first"),
    "Sending", () => { stickToBottom = true; refreshChat(); return "Message sent."; });

  wire("node-form", "/node",
    (v) => (v.trim() ? { addr: v.trim() } : "enter an address as ip:port"),
    "Adding node", (a, b) => { refreshNodes(); return "Node " + b.addr + " added."; });

  wire("name-form", "/id",
    (v) => (v.trim() ? { name: v.trim() } : "enter a name"),
    "Changing name", (a, b) => {
      if (a && a.name) renderId(a); else refreshId();
      return "Name changed to " + b.name + ".";
    });

  // ---- start ------------------------------------------------------------

  setConn();
  refreshAll();
  connect();
})();
