// Progressive enhancement only: every page works without this script.
// Adds "Expand all" / "Collapse all" buttons above each invocation tree.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const tree of document.querySelectorAll(".tree")) {
    const tools = document.createElement("div");
    tools.className = "tree-tools";
    for (const [label, open] of [["Expand all", true], ["Collapse all", false]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = label;
      button.addEventListener("click", () => {
        for (const node of tree.querySelectorAll("details.call")) node.open = open;
      });
      tools.appendChild(button);
    }
    tree.before(tools);
  }
});

// Live updates: the server sends a "state" event (server-sent events, from
// /api/events) whenever the Inbox count or this page's run changes. The count is
// set from the event; a run page that changed fetches itself and swaps in
// the parts that show the run, keeping open calls open and never touching a
// part the person is typing in. Nothing sent is HTML; the swapped parts come
// from this server's own page, escaped as ever.
document.addEventListener("DOMContentLoaded", () => {
  const live = document.body.dataset.live;
  if (!live || !window.EventSource) return;
  const source = new EventSource(live);
  let fetching = false;
  let wanted = null;

  const setCount = (count) => {
    const badge = document.getElementById("pending-count");
    if (!badge) return;
    badge.textContent = String(count);
    badge.hidden = count === 0;
  };

  const swap = (fresh, id) => {
    const old = document.getElementById(id);
    const now = fresh.getElementById(id);
    if (!old || !now) return;
    const focused = document.activeElement;
    if (focused && old.contains(focused) && focused.matches("input, textarea, select")) return;
    for (const input of old.querySelectorAll("textarea, input[type=text], input:not([type])")) {
      if (input.value) return; // someone is typing an answer or a note
    }
    const open = new Set(
      [...old.querySelectorAll("details[open][data-path]")].map((d) => d.dataset.path)
    );
    for (const details of now.querySelectorAll("details[data-path]")) {
      if (open.has(details.dataset.path)) details.open = true;
    }
    old.replaceWith(now);
  };

  // One fetch per change seen; a change seen meanwhile fetches once more.
  const refresh = async (key) => {
    wanted = key;
    if (fetching) return;
    fetching = true;
    try {
      while (wanted !== null) {
        wanted = null;
        const response = await fetch(window.location.pathname, { credentials: "same-origin" });
        if (!response.ok) break;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const id of ["run-head", "run-pending", "run-calls"]) swap(fresh, id);
        document.body.dataset.liveKey = fresh.body.dataset.liveKey || "";
      }
    } finally {
      fetching = false;
    }
  };

  source.addEventListener("state", (message) => {
    const state = JSON.parse(message.data);
    setCount(state.inbox);
    if (state.run && state.run.key !== document.body.dataset.liveKey) refresh(state.run.key);
  });
});
