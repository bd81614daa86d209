// The status page's refresh: fetch the server-rendered main fragment from
// the same listener every few seconds and swap it in. Nothing else is
// loaded; when the listener cannot be reached, the last view stays and the
// header says since when.
"use strict";
(() => {
  const EVERY_MS = 2000;
  const main = document.getElementById("main");
  const conn = document.getElementById("connection");
  let failedSince = null;
  let refreshes = 0;

  // Without this script the page reloads itself (a noscript refresh) and
  // the indicator stays hidden: it only speaks for the script's fetches.
  function show(state, text) {
    conn.hidden = false;
    conn.className = "connection " + state;
    conn.textContent = text;
    document.body.dataset.connection = state;
  }

  async function tick() {
    try {
      const r = await fetch("page/main", { cache: "no-store", credentials: "same-origin" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const html = await r.text();
      main.innerHTML = html;
      const badge = document.getElementById("sync");
      if (badge) document.title = badge.textContent + " \u00b7 handover reconcile";
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes);
      failedSince = null;
      show("live", "Live");
    } catch (e) {
      if (failedSince === null) failedSince = new Date();
      show("stale", "Unreachable since " + failedSince.toLocaleTimeString() +
        ": showing the last report, retrying");
    } finally {
      setTimeout(tick, EVERY_MS);
    }
  }

  document.body.dataset.refreshes = "0";
  show("live", "Live");
  setTimeout(tick, EVERY_MS);
})();
