"use strict";
// Renders the alerts embedded as JSON, a page at a time. Every alert string is set with
// textContent (never innerHTML), so no log field is ever parsed as HTML.
(function () {
  var ALL = JSON.parse(document.getElementById("alert-data").textContent);
  var PAGE = 50;
  var SVG = "http://www.w3.org/2000/svg";
  var page = 0;
  var shown = ALL;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function kv(dl, k, v) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) return;
    dl.appendChild(el("dt", null, k));
    dl.appendChild(el("dd", null, Array.isArray(v) ? v.join(", ") : v));
  }
  function list(title, items, ordered) {
    var d = el("div");
    d.appendChild(el("h4", null, title));
    var l = el(ordered ? "ol" : "ul");
    (items || []).forEach(function (i) { l.appendChild(el("li", null, i)); });
    if (!items || !items.length) l.appendChild(el("li", "muted", "none"));
    d.appendChild(l);
    return d;
  }
  var COLORS = { precursor: "#e8a500", revert: "#c92a2a", confirmation: "#7a8793" };

  // The evidence on a time axis: precursors, then the revert steps, left to right.
  function timeline(a) {
    var ev = a.evidence.filter(function (e) { return e.t !== null; });
    var W = 860, H = 150, L = 70, R = 70, Y = 70;
    var s = sv("svg", { "class": "tl", viewBox: "0 0 " + W + " " + H, role: "img" });
    s.appendChild(sv("title", {}, "Timeline of the evidence of alert " + a.id));
    if (!ev.length) return s;
    var t0 = Math.min.apply(null, ev.map(function (e) { return e.t; }));
    var t1 = Math.max.apply(null, ev.map(function (e) { return e.t; }));
    var span = Math.max(t1 - t0, 1);
    s.appendChild(sv("line", { x1: L, y1: Y, x2: W - R, y2: Y, stroke: "#9aa4ae", "stroke-width": 2 }));
    var prev = null;
    ev.forEach(function (e, i) {
      var x = L + (W - L - R) * (ev.length === 1 ? 0.5 : (e.t - t0) / span);
      if (prev !== null && x - prev < 2) x = prev + 2;
      var c = COLORS[e.role] || "#555";
      s.appendChild(sv("circle", { cx: x, cy: Y, r: 7, fill: c }));
      var up = i % 2 === 0;
      s.appendChild(sv("line", { x1: x, y1: Y, x2: x, y2: up ? Y - 22 : Y + 22, stroke: c }));
      // Keep labels inside the picture: anchor them at their start or end near the edges.
      var anchor = x < L + 60 ? "start" : x > W - R - 60 ? "end" : "middle";
      var lx = anchor === "start" ? x - 8 : anchor === "end" ? x + 8 : x;
      s.appendChild(sv("text", { x: lx, y: up ? Y - 28 : Y + 36, "font-size": 11, "text-anchor": anchor, fill: "#1d232b" }, e.op));
      s.appendChild(sv("text", { x: lx, y: up ? Y - 42 : Y + 50, "font-size": 9, "text-anchor": anchor, fill: "#6b7580" }, e.time.replace("T", " ").replace(/\.\d+/, "")));
      prev = x;
    });
    var legend = 0;
    ["precursor", "revert", "confirmation"].forEach(function (r) {
      if (!ev.some(function (e) { return e.role === r; })) return;
      s.appendChild(sv("circle", { cx: L + legend, cy: H - 8, r: 5, fill: COLORS[r] }));
      s.appendChild(sv("text", { x: L + legend + 9, y: H - 4, "font-size": 10, fill: "#39424d" }, r));
      legend += 110;
    });
    s.appendChild(sv("text", { x: W - R, y: H - 4, "font-size": 10, "text-anchor": "end", fill: "#39424d" },
      "span " + Math.round(span / 1000) + " s"));
    return s;
  }

  function card(a) {
    var d = el("article", "alert s-" + a.severity);
    d.id = "alert-" + a.id;
    var h = el("h3", null, a.title);
    d.appendChild(h);
    var b = el("div");
    b.appendChild(el("span", "badge b-" + a.severity, a.severity + " · risk " + a.risk));
    b.appendChild(el("span", "badge plain", a.cloud));
    if (a.escalated) b.appendChild(el("span", "badge b-critical", "kill-chain escalated"));
    if (a.confirmed === false) b.appendChild(el("span", "badge plain", "unconfirmed: no success record"));
    if (a.suppressed) b.appendChild(el("span", "badge plain", "suppressed: " + a.suppressed));
    d.appendChild(b);
    if (a.desc) d.appendChild(el("p", null, a.desc));
    d.appendChild(timeline(a));
    var dl = el("dl", "kv");
    kv(dl, "Actor", a.actor);
    kv(dl, "Account", a.account + (a.region ? " · " + a.region : ""));
    kv(dl, "Entities", a.entities.map(function (e) { return e[0] + " " + e[1]; }));
    kv(dl, "When", a.first + " → " + a.last);
    kv(dl, "Rule", a.rule + " (" + a.rule_id + ")");
    kv(dl, "ATT&CK", a.attack.concat(a.tactics));
    kv(dl, "Alert id", a.id);
    d.appendChild(dl);
    var cols = el("div", "cols");
    cols.appendChild(list("Why this risk score", a.reasons, false));
    var g = el("div");
    g.appendChild(list("Check next", a.check, true));
    g.appendChild(list("Respond", a.respond, true));
    cols.appendChild(g);
    d.appendChild(cols);
    var t = el("table", "ev");
    var hr = el("tr");
    ["Role", "Time", "Operation", "Outcome", "Actor", "Source IP", "User agent", "Record"].forEach(function (x) { hr.appendChild(el("th", null, x)); });
    t.appendChild(hr);
    a.evidence.forEach(function (e) {
      var r = el("tr");
      [e.role, e.time, e.op, e.outcome, e.actor, e.ip || "", e.ua || "", e.file + "@" + e.offset].forEach(function (x) { r.appendChild(el("td", null, x)); });
      t.appendChild(r);
    });
    d.appendChild(t);
    return d;
  }

  function checked(name) {
    var out = {};
    Array.prototype.forEach.call(document.querySelectorAll("input[name=" + name + "]"), function (i) { out[i.value] = i.checked; });
    return out;
  }
  function apply() {
    var sev = checked("sev"), cloud = checked("cloud");
    var q = document.getElementById("q").value.toLowerCase();
    shown = ALL.filter(function (a) {
      if (!sev[a.severity] || cloud[a.cloud] === false) return false;
      if (!q) return true;
      return [a.title, a.actor, a.account, a.rule, a.id, a.region].concat(a.entities.map(function (e) { return e[1]; }))
        .some(function (s) { return String(s).toLowerCase().indexOf(q) >= 0; });
    });
    page = 0;
    render();
  }
  function render() {
    var box = document.getElementById("alerts");
    box.textContent = "";
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (page >= pages) page = pages - 1;
    var slice = shown.slice(page * PAGE, page * PAGE + PAGE);
    slice.forEach(function (a) { box.appendChild(card(a)); });
    document.getElementById("shown").textContent = shown.length
      ? "Showing " + (page * PAGE + 1) + "–" + (page * PAGE + slice.length) + " of " + shown.length + " matching alert(s) (" + ALL.length + " in all)."
      : "No alert matches the filters (" + ALL.length + " in all).";
    var nav = document.getElementById("pager");
    nav.textContent = "";
    if (pages > 1) {
      for (var p = 0; p < pages; p++) {
        if (pages > 15 && p > 2 && p < pages - 3 && Math.abs(p - page) > 2) {
          if (nav.lastChild && nav.lastChild.textContent !== "…") nav.appendChild(el("span", null, "…"));
          continue;
        }
        var btn = el("button", null, p + 1);
        btn.type = "button";
        btn.disabled = p === page;
        btn.addEventListener("click", (function (n) { return function () { page = n; render(); window.scrollTo(0, document.getElementById("alerts-section").offsetTop); }; })(p));
        nav.appendChild(btn);
      }
    }
  }
  // A link can carry the filters (report.html#sev=critical,high&cloud=aws&q=i-0abc), and the
  // address follows the filters, so an analyst can share the view they are looking at.
  function fromHash() {
    var h = (location.hash || "").replace(/^#/, "");
    if (!h) return;
    h.split("&").forEach(function (part) {
      var eq = part.indexOf("="), k, v;
      try {
        k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
        v = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1));
      } catch (e) { return; }
      if (k === "sev" || k === "cloud") {
        var want = v.split(",");
        Array.prototype.forEach.call(document.querySelectorAll("input[name=" + k + "]"), function (i) { i.checked = want.indexOf(i.value) >= 0; });
      } else if (k === "q") {
        document.getElementById("q").value = v;
      }
    });
  }
  function toHash() {
    var parts = ["sev", "cloud"].map(function (name) {
      var on = checked(name), vals = [];
      for (var k in on) if (on[k]) vals.push(encodeURIComponent(k));
      return name + "=" + vals.join(",");
    });
    var q = document.getElementById("q").value;
    if (q) parts.push("q=" + encodeURIComponent(q));
    try { history.replaceState(null, "", "#" + parts.join("&")); } catch (e) { /* file: URLs in some browsers */ }
  }
  var form = document.getElementById("filters");
  form.addEventListener("change", function () { apply(); toHash(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("q").addEventListener("input", function () { apply(); toHash(); });
  fromHash();
  apply();
})();
