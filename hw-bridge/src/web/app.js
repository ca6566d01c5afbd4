// okmesh node pages: progressive scripts. Reading works without them;
// writes need them, because a write must carry the API token in an
// Authorization header, which a plain HTML form cannot send.
"use strict";
(function () {
  var KEY = "okmesh-token";
  function token() { return localStorage.getItem(KEY) || ""; }
  function show(el, ok, text) {
    // classList keeps the element's own classes (tests and styles find it by them).
    el.classList.remove("ok", "bad");
    el.classList.add("msg", ok ? "ok" : "bad");
    el.textContent = text;
  }
  // The words are the page's (#ui-text, from text.rs), not the script's.
  var words = document.getElementById("ui-text");
  function say(k) { return (words && words.getAttribute("data-" + k)) || k; }
  // A write to the API with the token; resolves to [status, JSON].
  function send(method, path, type, body) {
    return fetch(path, {
      method: method,
      headers: { "Authorization": "Bearer " + token(), "Content-Type": type },
      body: body
    }).then(function (r) {
      return r.json().then(function (j) { return [r.status, j]; });
    });
  }
  function read(path) { return send("GET", path, "application/json", undefined); }
  // Runs a write from a form: refuses unpaired, reports refusals and
  // unreachable nodes in `out`, hands a success to `done`.
  function write(out, path, type, body, done) {
    if (!token()) { show(out, false, say("unpaired")); return; }
    send("POST", path, type, body).then(function (sj) {
      if (sj[0] >= 400) { show(out, false, say("refused") + " (" + sj[0] + "): " + (sj[1].error || "")); return; }
      done(sj[1]);
    }).catch(function (err) { show(out, false, say("unreachable") + " " + err); });
  }
  function link(href, text, id) {
    var a = document.createElement("a");
    a.href = href; a.textContent = text;
    if (id) { a.id = id; }
    return a;
  }

  // Pairing: keep the token in this browser (localStorage for writes, a
  // same-site-only cookie so pages can be read when the node listens
  // beyond loopback).
  var pair = document.getElementById("pair-form");
  if (pair) {
    pair.addEventListener("submit", function (e) {
      e.preventDefault();
      var t = document.getElementById("token").value.trim();
      var out = document.getElementById("pair-result");
      if (!/^[0-9a-fA-F]{16,128}$/.test(t)) { show(out, false, say("not-token")); return; }
      localStorage.setItem(KEY, t);
      document.cookie = "okmesh_token=" + t + "; Path=/; SameSite=Strict; Max-Age=31536000";
      show(out, true, say("paired"));
    });
    var forget = document.getElementById("forget");
    forget.addEventListener("click", function () {
      localStorage.removeItem(KEY);
      document.cookie = "okmesh_token=; Path=/; SameSite=Strict; Max-Age=0";
      show(document.getElementById("pair-result"), true, say("forgotten"));
    });
  }

  // The wizard: templates tick boxes; publishing posts an OKW facility.
  var wiz = document.getElementById("setup-form");
  if (wiz) {
    var tpl = document.getElementById("template");
    tpl.addEventListener("change", function () {
      var opt = tpl.options[tpl.selectedIndex];
      var keys = (opt.getAttribute("data-keys") || "").split(" ");
      var boxes = wiz.querySelectorAll("input[type=checkbox]");
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = keys.indexOf(boxes[i].value) >= 0; }
    });
    wiz.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("setup-result");
      var v = function (id) { return document.getElementById(id).value.trim(); };
      var picked = function (kind) {
        var r = [], boxes = wiz.querySelectorAll("input[data-kind=" + kind + "]:checked");
        for (var i = 0; i < boxes.length; i++) { r.push(boxes[i].getAttribute("data-name")); }
        return r;
      };
      var name = v("name");
      if (!name) { show(out, false, say("need-name")); return; }
      var loc = { city: v("city"), country: v("country") };
      var lat = v("lat"), lon = v("lon");
      if (lat || lon) {
        var la = Number(lat), lo = Number(lon);
        if (!(la >= -90 && la <= 90 && lo >= -180 && lo <= 180)) { show(out, false, say("bad-place")); return; }
        loc.latitude = la; loc.longitude = lo;
      }
      var facility = {
        name: name, location: loc,
        manufacturing_processes: picked("process"),
        equipment: picked("tool").map(function (t) { return { equipment_type: t }; }),
        typical_materials: picked("material")
      };
      var extra = v("other");
      if (extra) { facility.description = extra; }
      if (!token()) { show(out, false, say("unpaired")); return; }
      fetch("/facilities?name=" + encodeURIComponent(name.replace(/[^A-Za-z0-9_-]+/g, "-") + ".okw.json"), {
        method: "POST",
        headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" },
        body: JSON.stringify(facility, null, 1)
      }).then(function (r) {
        return r.json().then(function (j) { return [r.status, j]; });
      }).then(function (sj) {
        var s = sj[0], j = sj[1];
        if (s >= 400) { show(out, false, say("refused") + " (" + s + "): " + (j.error || "")); return; }
        var id = j.published[0].id;
        show(out, true, say("facility-published") + " " + id + " (" + say("version") + " " + j.published[0].seq + "); " + say("spreads"));
        var a = document.createElement("a");
        a.href = "/build?facility=" + id; a.id = "published-link"; a.className = "button";
        a.textContent = say("build-here");
        out.appendChild(document.createElement("br")); out.appendChild(a);
      }).catch(function (err) { show(out, false, say("unreachable") + " " + err); });
    });
  }

  // The wizard's map: a click sets the latitude and longitude fields
  // (the SVG carries its bounds), and typed numbers move the cross.
  var map = document.getElementById("map");
  if (map) {
    var bound = function (k) { return Number(map.getAttribute("data-" + k)); };
    var here = document.getElementById("map-here");
    var latIn = document.getElementById("lat"), lonIn = document.getElementById("lon");
    var box = map.viewBox.baseVal;
    var put = function (la, lo) {
      var x = (lo - bound("lon-min")) / (bound("lon-max") - bound("lon-min")) * box.width;
      var y = (bound("lat-max") - la) / (bound("lat-max") - bound("lat-min")) * box.height;
      here.setAttribute("transform", "translate(" + x.toFixed(1) + " " + y.toFixed(1) + ")");
      here.setAttribute("visibility", "visible");
    };
    map.addEventListener("click", function (e) {
      var r = map.getBoundingClientRect();
      var fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
      var lo = bound("lon-min") + fx * (bound("lon-max") - bound("lon-min"));
      var la = bound("lat-max") - fy * (bound("lat-max") - bound("lat-min"));
      latIn.value = la.toFixed(5); lonIn.value = lo.toFixed(5);
      put(la, lo);
    });
    var typed = function () {
      var la = Number(latIn.value), lo = Number(lonIn.value);
      if (latIn.value && lonIn.value && la >= bound("lat-min") && la <= bound("lat-max") &&
          lo >= bound("lon-min") && lo <= bound("lon-max")) { put(la, lo); }
    };
    latIn.addEventListener("input", typed); lonIn.addEventListener("input", typed);
  }

  // The demand board: make a demand, confirm one, live notices.
  var dform = document.getElementById("demand-form");
  if (dform && document.getElementById("design")) {
    dform.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("demand-result");
      var q = "design=" + encodeURIComponent(document.getElementById("design").value) +
        "&quantity=" + encodeURIComponent(document.getElementById("quantity").value) +
        "&deadline=" + encodeURIComponent(document.getElementById("deadline").value.trim()) +
        "&urgent=" + (document.getElementById("urgent").checked ? "true" : "false");
      write(out, "/demands?" + q, "application/json", "", function (j) {
        show(out, true, say("demand-made") + " " + j.id + ". ");
        out.appendChild(link("/board", say("reload"), "reload-board"));
      });
    });
  }
  var offers = document.querySelectorAll("form.confirm");
  for (var i = 0; i < offers.length; i++) {
    offers[i].addEventListener("submit", function (e) {
      e.preventDefault();
      var f = e.currentTarget, id = f.getAttribute("data-demand");
      var out = f.querySelector(".offer-result");
      var n = f.querySelector("input").value;
      write(out, "/offers?demand=" + encodeURIComponent(id) + "&quantity=" + encodeURIComponent(n),
        "application/json", "", function (j) {
          show(out, true, say("confirmed") + " " + j.id + ".");
        });
    });
  }
  // Withdrawing this node's own demand (a signed cancellation; asked first).
  var withdraws = document.querySelectorAll("button.withdraw");
  for (var w = 0; w < withdraws.length; w++) {
    withdraws[w].addEventListener("click", function (e) {
      var b = e.currentTarget, id = b.getAttribute("data-demand");
      var out = b.parentNode.querySelector(".withdraw-result");
      if (!window.confirm(say("confirm-withdraw"))) { return; }
      write(out, "/cancellations?signal=" + encodeURIComponent(id), "application/json", "", function () {
        show(out, true, say("withdrawn"));
        b.parentNode.removeChild(b);
      });
    });
  }
  var notices = document.getElementById("notice-list");
  if (notices && window.EventSource) {
    var state = document.getElementById("notices-state");
    var es = new EventSource("/events");
    es.onopen = function () { state.textContent = say("live"); };
    es.onerror = function () { state.textContent = say("lost"); };
    var notice = function (label, href, name, extra) {
      var li = document.createElement("li");
      li.className = "notice";
      li.appendChild(document.createTextNode(label + " "));
      li.appendChild(link(href, name));
      if (extra) { li.appendChild(document.createTextNode(" " + extra)); }
      notices.insertBefore(li, notices.firstChild);
    };
    es.addEventListener("demand", function (e) {
      var d = JSON.parse(e.data);
      notice(say("new-demand"), "/board", d.name || d.design, "× " + d.quantity);
    });
    es.addEventListener("manifest", function (e) {
      var d = JSON.parse(e.data);
      notice(say("new-design"), "/item/" + d.item, d.name || d.item, "");
    });
  }

  // Publishing a design or facility file, read from the device or pasted.
  var pform = document.getElementById("publish-form");
  if (pform) {
    var file = document.getElementById("file");
    file.addEventListener("change", function () {
      var f = file.files[0];
      if (!f) { return; }
      var r = new FileReader();
      r.onload = function () {
        document.getElementById("file-text").value = r.result;
        document.getElementById("file-name").value = f.name;
      };
      r.readAsText(f);
    });
    pform.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("publish-result");
      var body = document.getElementById("file-text").value;
      var name = document.getElementById("file-name").value.trim();
      if (!body.trim() || !name) { show(out, false, say("no-file")); return; }
      var kind = document.getElementById("item-kind").value === "facility" ? "/facilities" : "/manifests";
      write(out, kind + "?name=" + encodeURIComponent(name), "application/octet-stream", body, function (j) {
        var p = j.published[0];
        // What it was signed with, and whom sync can offer it to.
        Promise.all([read("/items/" + p.id), read("/status")]).then(function (two) {
          var item = two[0][1], st = two[1][1];
          show(out, true, say("published") + " ");
          out.appendChild(link("/item/" + p.id, item.name || p.id, "published-item"));
          out.appendChild(document.createTextNode(", " + say("version") + " " + p.seq + ", " + say("signed-by") + " "));
          var key = document.createElement("span");
          key.className = "mono"; key.id = "signed-key"; key.textContent = item.signed_by || "";
          out.appendChild(key);
          var spread = document.createElement("p");
          spread.id = "spread";
          out.appendChild(spread);
          // Its spread: neighbours whose last summary matches this
          // catalogue hold it too. Polled until all do (or for two
          // minutes); also while no neighbour has summarised yet (a quiet
          // neighbour speaks up once the new version makes it ask).
          var polls = 0;
          var tell = function (st) {
            var sy = st.sync || {};
            spread.textContent = say("held-by") + " " + sy.peers_in_sync + " " + say("of") + " " +
              sy.peers_summarised + ". " + (st.neighbours || []).length + " " + say("neighbours");
            var pending = !sy.peers_summarised || sy.peers_in_sync < sy.peers_summarised;
            if (pending && ++polls < 60) {
              setTimeout(function () { read("/status").then(function (r) { tell(r[1]); }); }, 2000);
            }
          };
          tell(st);
        });
      });
    });
  }

  // My items: retire one (a signed tombstone, irreversible: asked first).
  var retires = document.querySelectorAll("button.retire");
  for (var k = 0; k < retires.length; k++) {
    retires[k].addEventListener("click", function (e) {
      var b = e.currentTarget, id = b.getAttribute("data-item");
      var out = b.parentNode.querySelector(".retire-result");
      if (!window.confirm(say("confirm-retire"))) { return; }
      write(out, "/items/" + encodeURIComponent(id) + "/retire", "application/json", "", function () {
        show(out, true, say("retired"));
        var row = document.getElementById("mine-" + id);
        row.className = "retired";
        // Nothing left to change: the edit link and the button go.
        var edit = document.getElementById("edit-" + id);
        if (edit) { edit.parentNode.removeChild(edit); }
        b.parentNode.removeChild(b);
      });
    });
  }
})();
