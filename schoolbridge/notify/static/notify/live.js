/* SchoolBridge live notifications.
 * Opens ws(s)://<host>/ws/notifications/, catches up from the last id this browser saw (kept in
 * localStorage per user), then receives live pushes. Updates #bell-count, prepends new items to
 * #inbox-list when present, and announces them through a polite live region. Reconnects with
 * exponential backoff; stops when the server says the visitor is not logged in (close code 4401).
 */
(function () {
  "use strict";
  if (window.SchoolBridgeLive || !("WebSocket" in window)) return;

  var MAX_DELAY = 30000;
  var socket = null;
  var userId = null;
  var attempts = 0;
  var timer = null;
  var stopped = false;
  var lang = (document.documentElement.lang || "zh-CN").toLowerCase();
  var zh = lang.indexOf("zh") === 0;
  var TEXT = {
    announce: zh ? "新通知：" : "New notification: ",
    unread: zh ? "未读" : "Unread",
    markRead: zh ? "标为已读" : "Mark as read"
  };

  function storageKey() { return "sb-notify-last-id:" + userId; }

  function getLastId() {
    try { return parseInt(window.localStorage.getItem(storageKey()), 10); } catch (e) { return NaN; }
  }

  function setLastId(id) {
    if (!id) return;
    var current = getLastId();
    if (!isNaN(current) && current >= id) return;
    try { window.localStorage.setItem(storageKey(), String(id)); } catch (e) { /* private mode */ }
  }

  function liveRegion() {
    var el = document.getElementById("notify-live");
    if (!el) {
      el = document.createElement("div");
      el.id = "notify-live";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      el.className = "visually-hidden";
      el.style.cssText = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap";
      document.body.appendChild(el);
    }
    return el;
  }

  function announce(text) {
    var el = liveRegion();
    el.textContent = "";
    window.setTimeout(function () { el.textContent = text; }, 50);
  }

  function setUnread(count) {
    var bell = document.getElementById("bell-count");
    if (bell) {
      bell.textContent = String(count);
      bell.setAttribute("data-count", String(count));
      bell.hidden = false;
    }
    var link = document.getElementById("bell");
    if (link && link.getAttribute("data-label-template")) {
      link.setAttribute("aria-label", link.getAttribute("data-label-template").replace("__N__", String(count)));
    }
    var summary = document.getElementById("inbox-summary");
    if (summary && summary.getAttribute("data-template")) {
      summary.textContent = summary.getAttribute("data-template").replace("%s", String(count));
    }
  }

  function csrfToken() {
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function urlFor(list, attr, id) {
    /* The list carries URLs made for id 0, e.g. /notifications/0/read/. */
    var tpl = list.getAttribute(attr) || "";
    var at = tpl.lastIndexOf("/0/");
    return at < 0 ? tpl : tpl.slice(0, at) + "/" + id + "/" + tpl.slice(at + 3);
  }

  function renderItem(list, n) {
    var li = document.createElement("li");
    li.className = "inbox-item" + (n.read ? "" : " unread") + " inbox-item-new";
    li.id = "notification-" + n.id;
    li.setAttribute("data-id", String(n.id));
    var main = document.createElement("div");
    main.className = "inbox-item-main";
    if (!n.read) {
      var badge = document.createElement("span");
      badge.className = "badge-unread";
      badge.textContent = list.getAttribute("data-label-unread") || TEXT.unread;
      main.appendChild(badge);
    }
    var title;
    if (n.link) {
      title = document.createElement("a");
      title.href = urlFor(list, "data-open-url", n.id);
    } else {
      title = document.createElement("span");
    }
    title.className = "inbox-title";
    title.textContent = n.title;
    main.appendChild(title);
    if (n.body) {
      var body = document.createElement("p");
      body.className = "inbox-body";
      body.textContent = n.body;
      main.appendChild(body);
    }
    var time = document.createElement("time");
    time.setAttribute("datetime", n.created_at);
    var d = new Date(n.created_at);
    time.textContent = isNaN(d.getTime()) ? n.created_at : d.toLocaleString(document.documentElement.lang || undefined);
    main.appendChild(time);
    li.appendChild(main);
    if (!n.read && list.getAttribute("data-read-url")) {
      var url = urlFor(list, "data-read-url", n.id);
      var form = document.createElement("form");
      form.method = "post";
      form.action = url;
      form.setAttribute("hx-post", url);
      form.setAttribute("hx-target", "#notification-" + n.id);
      form.setAttribute("hx-swap", "outerHTML");
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrfmiddlewaretoken";
      token.value = csrfToken();
      form.appendChild(token);
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "btn btn-small";
      button.textContent = list.getAttribute("data-label-mark-read") || TEXT.markRead;
      form.appendChild(button);
      li.appendChild(form);
    }
    return li;
  }

  function addItems(items) {
    var list = document.getElementById("inbox-list");
    var newest = 0;
    for (var i = 0; i < items.length; i++) {
      var n = items[i];
      if (n.id > newest) newest = n.id;
      if (!list || document.getElementById("notification-" + n.id)) continue;
      var pageLast = parseInt(list.getAttribute("data-last-id") || "0", 10);
      if (n.id <= pageLast) continue; /* already rendered by the server */
      var li = renderItem(list, n);
      list.insertBefore(li, list.firstChild);
      if (window.htmx && window.htmx.process) window.htmx.process(li);
      var empty = document.getElementById("inbox-empty");
      if (empty) empty.hidden = true;
    }
    setLastId(newest);
  }

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    if (msg.type === "welcome") {
      userId = msg.user;
      var last = getLastId();
      if (isNaN(last)) {
        /* First visit in this browser: the page is fresh; start from the server's newest id,
           or from what the inbox page rendered. */
        var list = document.getElementById("inbox-list");
        last = list ? parseInt(list.getAttribute("data-last-id") || "0", 10) : msg.latest_id;
        setLastId(last || msg.latest_id);
        last = getLastId();
        if (isNaN(last)) last = msg.latest_id;
      }
      send({ type: "hello", last_id: last });
    } else if (msg.type === "catchup") {
      addItems(msg.notifications || []);
      if (msg.notifications && msg.notifications.length) {
        announce(TEXT.announce + msg.notifications[msg.notifications.length - 1].title);
      }
      setLastId(msg.last_id);
      if (msg.more) send({ type: "hello", last_id: msg.last_id });
    } else if (msg.type === "notification") {
      addItems([msg.notification]);
      announce(TEXT.announce + msg.notification.title);
    } else if (msg.type === "unread") {
      setUnread(msg.count);
    }
  }

  function send(obj) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj));
  }

  function schedule() {
    if (stopped || timer) return;
    var delay = Math.min(MAX_DELAY, 1000 * Math.pow(2, attempts));
    delay = delay / 2 + Math.random() * delay / 2;
    attempts += 1;
    timer = window.setTimeout(function () { timer = null; connect(); }, delay);
  }

  function connect() {
    if (stopped) return;
    if (socket && (socket.readyState === 0 || socket.readyState === 1)) return;
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    try {
      socket = new WebSocket(proto + "//" + window.location.host + "/ws/notifications/");
    } catch (e) {
      schedule();
      return;
    }
    socket.onopen = function () { attempts = 0; };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401) { stopped = true; return; } /* not logged in */
      schedule();
    };
  }

  function wake() {
    if (stopped) return;
    if (timer) { window.clearTimeout(timer); timer = null; }
    attempts = 0;
    connect();
  }

  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") wake();
  });

  window.SchoolBridgeLive = {
    connect: connect,
    get socket() { return socket; }
  };
  connect();
})();
