// okmesh node pages: progressive scripts. Reading works without them;
// writes need them, because a write must carry the API token in an
// Authorization header, which a plain HTML form cannot send.
"use strict";
(function () {
  var KEY = "okmesh-token";
  function token() { return localStorage.getItem(KEY) || ""; }
  function show(el, ok, text) {
    el.className = "msg " + (ok ? "ok" : "bad");
    el.textContent = text;
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
      if (!/^[0-9a-fA-F]{16,128}$/.test(t)) { show(out, false, "That is not a token: it is the hex digits `okmesh key show --token` prints."); return; }
      localStorage.setItem(KEY, t);
      document.cookie = "okmesh_token=" + t + "; Path=/; SameSite=Strict; Max-Age=31536000";
      show(out, true, "Paired: this browser now sends the token with its changes.");
    });
    var forget = document.getElementById("forget");
    forget.addEventListener("click", function () {
      localStorage.removeItem(KEY);
      document.cookie = "okmesh_token=; Path=/; SameSite=Strict; Max-Age=0";
      show(document.getElementById("pair-result"), true, "Forgotten.");
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
      if (!name) { show(out, false, "Give the facility a name."); return; }
      var loc = { city: v("city"), country: v("country") };
      var lat = v("lat"), lon = v("lon");
      if (lat || lon) {
        var la = Number(lat), lo = Number(lon);
        if (!(la >= -90 && la <= 90 && lo >= -180 && lo <= 180)) { show(out, false, "Latitude is -90 to 90 and longitude -180 to 180 (decimal degrees)."); return; }
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
      if (!token()) { show(out, false, "This browser is not paired: open Pair and enter the node's token first."); return; }
      fetch("/facilities?name=" + encodeURIComponent(name.replace(/[^A-Za-z0-9_-]+/g, "-") + ".okw.json"), {
        method: "POST",
        headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" },
        body: JSON.stringify(facility, null, 1)
      }).then(function (r) {
        return r.json().then(function (j) { return [r.status, j]; });
      }).then(function (sj) {
        var s = sj[0], j = sj[1];
        if (s >= 400) { show(out, false, "Refused (" + s + "): " + (j.error || "")); return; }
        var id = j.published[0].id;
        show(out, true, "Published facility " + id + " (version " + j.published[0].seq + "); it now spreads over the mesh.");
        var a = document.createElement("a");
        a.href = "/build?facility=" + id; a.id = "published-link"; a.className = "button";
        a.textContent = "What can this facility build?";
        out.appendChild(document.createElement("br")); out.appendChild(a);
      }).catch(function (err) { show(out, false, "Could not reach the node: " + err); });
    });
  }
})();
