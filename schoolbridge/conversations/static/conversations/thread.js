/* Conversations in the browser.
 * - Thread page: new messages appear live. A socket at /ws/messages/<thread>/ says "a message arrived";
 *   the page then fetches the messages after the last one it shows (through the access-checked view,
 *   which also records the read receipts). Without a socket it polls every 20 seconds.
 * - Voice notes: a "record" button (MediaRecorder) puts the recording into the voice file input.
 * - Q&A: choosing a canned reply inserts its text into the answer.
 */
(function () {
  "use strict";

  /* ---------------- live thread ---------------- */
  var list = document.getElementById("thread-messages");
  if (list) {
    var busy = false;
    var again = false;
    var fetchNew = function () {
      if (busy) { again = true; return; }
      busy = true;
      var url = list.getAttribute("data-after-url") + "?after=" + encodeURIComponent(list.getAttribute("data-last-id") || "0");
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) return;
          var box = document.createElement("div");
          box.innerHTML = html;
          var receipts = box.querySelectorAll("[hx-swap-oob]");
          for (var i = 0; i < receipts.length; i++) {
            var old = document.getElementById(receipts[i].id);
            receipts[i].removeAttribute("hx-swap-oob");
            if (old) old.replaceWith(receipts[i]);
          }
          var items = box.querySelectorAll("li.cv-msg");
          for (var j = 0; j < items.length; j++) {
            if (!document.getElementById(items[j].id)) list.appendChild(items[j]);
          }
          var marker = box.querySelector("template[data-last-id]");
          if (marker) list.setAttribute("data-last-id", marker.getAttribute("data-last-id"));
        })
        .catch(function () { /* next push or poll retries */ })
        .then(function () {
          busy = false;
          if (again) { again = false; fetchNew(); }
        });
    };
    var socket = null;
    var attempts = 0;
    var connect = function () {
      if (!("WebSocket" in window)) return;
      var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(proto + "//" + window.location.host + "/ws/messages/" + list.getAttribute("data-thread") + "/");
      socket.onopen = function () { attempts = 0; fetchNew(); };
      socket.onmessage = function () { fetchNew(); };
      socket.onclose = function (event) {
        socket = null;
        if (event.code === 4404 || event.code === 4401) return;
        attempts += 1;
        window.setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempts)));
      };
    };
    connect();
    window.setInterval(function () {
      if (!socket || socket.readyState !== 1) fetchNew();
    }, 20000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") fetchNew();
    });
    window.SchoolBridgeThread = { refresh: fetchNew, get socket() { return socket; } };
  }

  /* ---------------- voice notes ---------------- */
  var recorders = document.querySelectorAll("[data-recorder]");
  Array.prototype.forEach.call(recorders, function (box) {
    var input = box.parentNode.querySelector("input[type=file][name=voice]");
    if (!input || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
    box.hidden = false;
    var button = box.querySelector("[data-record]");
    var status = box.querySelector("[data-record-status]");
    var preview = box.querySelector("[data-preview]");
    var recorder = null;
    var chunks = [];
    button.addEventListener("click", function () {
      if (recorder && recorder.state === "recording") { recorder.stop(); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var type = ["audio/webm", "audio/ogg", "audio/mp4"].filter(function (t) {
          return MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(t);
        })[0];
        recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
        chunks = [];
        recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          var mime = (recorder.mimeType || type || "audio/webm").split(";")[0];
          var ext = mime.indexOf("ogg") >= 0 ? "ogg" : mime.indexOf("mp4") >= 0 ? "m4a" : "webm";
          var file = new File(chunks, "voice-note." + ext, { type: mime });
          var dt = new DataTransfer();
          dt.items.add(file);
          input.files = dt.files;
          preview.src = URL.createObjectURL(file);
          preview.hidden = false;
          button.textContent = box.getAttribute("data-label-start");
          button.setAttribute("aria-pressed", "false");
          status.textContent = box.getAttribute("data-label-ready");
        };
        recorder.start();
        button.textContent = box.getAttribute("data-label-stop");
        button.setAttribute("aria-pressed", "true");
        status.textContent = "";
      }).catch(function () {
        status.textContent = box.getAttribute("data-label-denied");
      });
    });
  });

  /* ---------------- canned replies ---------------- */
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-canned-for]") || !select.value) return;
    var area = document.getElementById(select.getAttribute("data-canned-for"));
    if (!area) return;
    area.value = area.value ? area.value.replace(/\s+$/, "") + "\n" + select.value : select.value;
    area.focus();
    select.value = "";
  });
})();
