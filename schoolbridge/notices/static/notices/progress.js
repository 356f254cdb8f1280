/* A notice's progress page, live: a WebSocket at /ws/notices/<id>/ says when something changed and the
 * page fetches the fresh counts (the #progress-live fragment). Without a socket it polls every 20 s.
 */
(function () {
  "use strict";
  var root = document.getElementById("progress-live");
  if (!root) return;
  var noticeId = root.getAttribute("data-notice");
  var url = root.getAttribute("data-url");
  var socket = null, attempts = 0, pollTimer = null, inflight = false, again = false;

  function refresh() {
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          root.innerHTML = html;
          var status = document.getElementById("progress-announce");
          var summary = root.querySelector("[data-summary]");
          if (status && summary) status.textContent = summary.getAttribute("data-summary");
        }
      })
      .catch(function () {})
      .then(function () { inflight = false; if (again) { again = false; refresh(); } });
  }

  function poll(on) {
    if (on && !pollTimer) pollTimer = window.setInterval(refresh, 20000);
    if (!on && pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
  }

  function connect() {
    if (!("WebSocket" in window)) { poll(true); return; }
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(proto + "//" + window.location.host + "/ws/notices/" + noticeId + "/");
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "welcome") { attempts = 0; poll(false); refresh(); }
      else if (msg.type === "progress") refresh();
    };
    socket.onclose = function (event) {
      socket = null;
      poll(true);
      if (event.code === 4403) return;
      attempts += 1;
      window.setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempts)));
    };
  }
  window.SchoolBridgeProgress = { refresh: refresh, get socket() { return socket; } };
  connect();
})();
