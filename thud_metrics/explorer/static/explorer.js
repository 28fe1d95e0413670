/* Thud report explorer: plain JavaScript, no framework, no network.
 *
 * Reads window.THUD_REPORT (data.js) and renders the Clever-Hans lists and one card per pair
 * (an original probe and one intervened probe of the same clip and dimension). Every value
 * from the data is written with textContent, never as HTML. Videos get their src only when
 * their card comes near the viewport. */
(function () {
  "use strict";
  var D = window.THUD_REPORT;
  var PAGE = 60; // cards rendered per "Show more"
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function fmt(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }
  function signed(x) { return (x > 0 ? "+" : "") + Number(x).toFixed(2) + " s"; }

  if (!D) {
    document.getElementById("cards").textContent = "data.js did not load: keep it next to index.html.";
    return;
  }

  var probes = D.probes, couples = D.couples, models = D.models;

  function conditionText(p) {
    if (p.condition === "shift") {
      return "shift " + signed(p.offset_s) + " (audio " + (p.offset_s < 0 ? "early" : "delayed") + ")";
    }
    if (p.condition === "swap" && p.donor) return "swap (sound of " + p.donor + ")";
    return p.condition;
  }

  // -- outcomes and filters ----------------------------------------------------------------
  function answer(m, probeIndex) { return models[m].answers[probeIndex]; } // [raw, reading, ok, stated]
  function outcome(m, k) { // the one class a model's couple falls in
    var o = answer(m, couples[k][0])[2], i = answer(m, couples[k][1])[2];
    if (o && i) return "pair-right";
    return o ? "clever-hans" : "original-wrong";
  }
  function hasOutcome(m, k, want) { // "pair-wrong" is any couple not right on both probes
    var got = outcome(m, k);
    return want === got || (want === "pair-wrong" && got !== "pair-right");
  }
  var OUTCOMES = [
    ["all", "any"],
    ["pair-right", "both probes right"],
    ["pair-wrong", "any probe wrong"],
    ["clever-hans", "Clever Hans: right on original, wrong on intervened"],
    ["original-wrong", "wrong on the original"]
  ];

  function fill(select, options) {
    options.forEach(function (o) { select.appendChild(el("option", { value: o[0] }, o[1])); });
  }
  function distinct(values) {
    var seen = [];
    values.forEach(function (v) { if (seen.indexOf(v) < 0) seen.push(v); });
    return seen;
  }
  var F = {
    model: document.getElementById("f-model"),
    dimension: document.getElementById("f-dimension"),
    condition: document.getElementById("f-condition"),
    outcome: document.getElementById("f-outcome"),
    reading: document.getElementById("f-reading")
  };
  fill(F.model, [["all", "all models"]].concat(models.map(function (m, i) { return [String(i), m.name]; })));
  fill(F.dimension, [["all", "all"]].concat(distinct(couples.map(function (c) { return probes[c[0]].dimension; }))
    .map(function (d) { return [d, d]; })));
  fill(F.condition, [["all", "all"]].concat(distinct(couples.map(function (c) { return probes[c[1]].condition; }))
    .map(function (c) { return [c, c]; })));
  fill(F.outcome, OUTCOMES);
  fill(F.reading, [["all", "any"]].concat(D.readings.map(function (r) { return [r, r]; })));

  function selectedModels() {
    return F.model.value === "all" ? models.map(function (_, i) { return i; }) : [Number(F.model.value)];
  }
  function matches(k) {
    var c = couples[k], orig = probes[c[0]], inter = probes[c[1]];
    if (F.dimension.value !== "all" && orig.dimension !== F.dimension.value) return false;
    if (F.condition.value !== "all" && inter.condition !== F.condition.value) return false;
    var ms = selectedModels(), want = F.outcome.value, reading = F.reading.value;
    if (want === "all" && reading === "all") return true;
    var code = D.readings.indexOf(reading);
    return ms.some(function (m) {
      if (want !== "all" && !hasOutcome(m, k, want)) return false;
      if (reading !== "all" && answer(m, c[0])[1] !== code && answer(m, c[1])[1] !== code) return false;
      return true;
    });
  }

  // -- lazy videos ----------------------------------------------------------------------------
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { load(e.target); observer.unobserve(e.target); }
    });
  }, { rootMargin: "300px 0px" }) : null;
  function load(video) {
    if (!video.getAttribute("src")) {
      video.preload = "metadata";
      video.src = video.getAttribute("data-src");
    }
  }
  function lazy(video) { if (observer) observer.observe(video); else load(video); }

  // -- the strip: both waveforms, seen and heard times ------------------------------------
  var W = 640, ROW = 44, LEFT = 78;
  function envelopePath(env, y0, scale) {
    var n = env.length, w = (W - LEFT - 8) / n, top = [], bottom = [];
    for (var j = 0; j < n; j++) {
      var h = Math.max(0.5, env[j] * scale);
      top.push((LEFT + j * w).toFixed(1) + "," + (y0 - h).toFixed(1));
      bottom.push((LEFT + j * w).toFixed(1) + "," + (y0 + h).toFixed(1));
    }
    return "M" + top.join("L") + "L" + bottom.reverse().join("L") + "Z";
  }
  function strip(orig, inter, clip) {
    var duration = orig.duration_s || inter.duration_s || 1;
    var x = function (t) { return LEFT + (W - LEFT - 8) * Math.min(Math.max(t / duration, 0), 1); };
    var files = [D.files[orig.file], D.files[inter.file]];
    var peak = Math.max(1, Math.max.apply(null, files.map(function (f) {
      return f.envelope ? Math.max.apply(null, f.envelope) : 0;
    })));
    var s = svg("svg", { viewBox: "0 0 " + W + " " + (2 * ROW + 22), class: "strip", role: "img",
      "aria-label": "waveforms of the original and the intervened sound" });
    [[orig, files[0], "original", clip.audio_time], [inter, files[1], inter.condition, inter.edited_audio_time]]
      .forEach(function (row, r) {
        var p = row[0], f = row[1], y0 = 8 + r * ROW + ROW / 2;
        s.appendChild(svg("text", { x: 4, y: y0 + 4, class: "row-label" }, row[2]));
        if (f.envelope) {
          s.appendChild(svg("path", { d: envelopePath(f.envelope, y0, (ROW / 2 - 2) / peak), class: "wave wave-" + r }));
        } else {
          s.appendChild(svg("text", { x: LEFT, y: y0 + 4, class: "note" }, "waveform unavailable: " + (f.error || "?")));
        }
        if (clip.visual_time !== null) {
          s.appendChild(svg("line", { x1: x(clip.visual_time), x2: x(clip.visual_time), y1: y0 - ROW / 2 + 2,
            y2: y0 + ROW / 2 - 2, class: "seen" }));
        }
        var heard = row[3];
        if (heard !== null && heard !== undefined) {
          s.appendChild(svg("line", { x1: x(heard), x2: x(heard), y1: y0 - ROW / 2 + 2, y2: y0 + ROW / 2 - 2,
            class: "heard" }));
        } else if (p.condition === "mute") {
          s.appendChild(svg("text", { x: x(clip.visual_time || 0) + 4, y: y0 - 8, class: "note" }, "no sound"));
        }
      });
    var axisY = 8 + 2 * ROW + 10;
    for (var t = 0; t <= duration + 1e-9; t += duration > 6 ? 2 : 1) {
      s.appendChild(svg("text", { x: x(t), y: axisY, class: "tick" }, t + " s"));
    }
    return s;
  }

  // -- cards -------------------------------------------------------------------------------
  function probeFigure(p, role) {
    var fig = el("figure", { class: "probe " + role });
    var file = D.files[p.file];
    var video = el("video", { controls: "", preload: "none", "data-src": p.video, "data-probe": p.id,
      "data-duration": file.duration, width: "320", height: "180", playsinline: "" });
    video.addEventListener("play", function () { // one sound at a time: pause the other video
      var card = video.closest(".pair");
      Array.prototype.forEach.call(card.querySelectorAll("video"), function (v) { if (v !== video) v.pause(); });
    });
    lazy(video);
    fig.appendChild(video);
    var cap = el("figcaption");
    cap.appendChild(el("b", null, role === "original" ? "original" : conditionText(p)));
    cap.appendChild(document.createTextNode(" · gold "));
    cap.appendChild(el("span", { class: "label" }, p.label));
    fig.appendChild(cap);
    return fig;
  }
  function mark(ok) { return el("span", { class: ok ? "ok" : "wrong", title: ok ? "right" : "wrong" }, ok ? "✓" : "✗"); }
  function answerCells(tr, a) {
    var raw = el("td", { class: "raw" });
    raw.appendChild(el("div", null, a[0] === null ? "(no answer: failed call)" : a[0]));
    tr.appendChild(raw);
    var reading = el("td", { class: "reading reading-" + D.readings[a[1]] }, D.readings[a[1]]);
    if (a[3] !== null) reading.appendChild(el("small", null, " states " + signed(a[3])));
    tr.appendChild(reading);
    var okCell = el("td");
    okCell.appendChild(mark(a[2]));
    tr.appendChild(okCell);
  }
  function card(k) {
    var c = couples[k], orig = probes[c[0]], inter = probes[c[1]], clip = D.clips[orig.clip];
    var art = el("article", { class: "pair", id: "pair-" + k, "data-couple": k, "data-dimension": orig.dimension,
      "data-condition": inter.condition, "data-original": orig.id, "data-intervened": inter.id });
    var head = el("header");
    head.appendChild(el("b", null, orig.clip));
    head.appendChild(document.createTextNode(" · " + orig.dimension + " · " + conditionText(inter) +
      (clip.category ? " · " + clip.category : "")));
    art.appendChild(head);
    art.appendChild(el("p", { class: "events" }, "seen: " + clip.visual_event + " at " + fmt(clip.visual_time, 2) +
      " s · heard: " + clip.audio_event + " at " + fmt(clip.audio_time, 2) + " s" +
      (inter.condition === "mute" ? " · intervened: muted" : " · intervened: heard at " +
        fmt(inter.edited_audio_time, 2) + " s")));
    var videos = el("div", { class: "videos" });
    videos.appendChild(probeFigure(orig, "original"));
    videos.appendChild(probeFigure(inter, "intervened"));
    art.appendChild(videos);
    art.appendChild(strip(orig, inter, clip));
    var legend = el("p", { class: "strip-legend" });
    legend.appendChild(el("span", { class: "seen-key" }, "seen"));
    legend.appendChild(document.createTextNode(" when the event is seen; "));
    legend.appendChild(el("span", { class: "heard-key" }, "heard"));
    legend.appendChild(document.createTextNode(" when its sound is in the track"));
    art.appendChild(legend);
    var prompt = el("details", { class: "prompt" });
    prompt.appendChild(el("summary", null, "prompt"));
    prompt.appendChild(el("pre", null, orig.prompt));
    if (inter.prompt !== orig.prompt) prompt.appendChild(el("pre", null, inter.prompt));
    art.appendChild(prompt);
    var table = el("table", { class: "answers" });
    var hr = el("tr");
    ["model", "original: answer", "reading", "", inter.condition + ": answer", "reading", ""].forEach(function (h) {
      hr.appendChild(el("th", null, h));
    });
    table.appendChild(el("thead")).appendChild(hr);
    var body = el("tbody");
    selectedModels().forEach(function (m) {
      var tr = el("tr", { "data-model": models[m].name, "data-outcome": outcome(m, k) });
      var name = el("th");
      var sw = el("span", { class: "swatch" });
      sw.style.background = models[m].color;
      name.appendChild(sw);
      name.appendChild(document.createTextNode(models[m].name));
      if (outcome(m, k) === "clever-hans") name.appendChild(el("span", { class: "badge" }, "Clever Hans"));
      tr.appendChild(name);
      answerCells(tr, answer(m, c[0]));
      answerCells(tr, answer(m, c[1]));
      body.appendChild(tr);
    });
    table.appendChild(body);
    art.appendChild(table);
    return art;
  }

  var cards = document.getElementById("cards"), more = document.getElementById("more");
  // cards by clip (in dataset order), then dimension, then intervened probe
  var clipRank = {}, DIMS = ["sync", "existence", "consistency"];
  probes.forEach(function (p) { if (!(p.clip in clipRank)) clipRank[p.clip] = Object.keys(clipRank).length; });
  var ORDER = couples.map(function (_, k) { return k; }).sort(function (a, b) {
    var pa = probes[couples[a][0]], pb = probes[couples[b][0]];
    return (clipRank[pa.clip] - clipRank[pb.clip]) || (DIMS.indexOf(pa.dimension) - DIMS.indexOf(pb.dimension)) ||
      (couples[a][1] - couples[b][1]);
  });
  var matching = [], shown = 0;
  function renderMore() {
    var end = Math.min(shown + PAGE, matching.length);
    for (var j = shown; j < end; j++) {
      var k = matching[j], c = probes[couples[k][0]].clip, last = cards.lastElementChild;
      var group = last && last.getAttribute("data-clip") === c ? last : null;
      if (!group) {
        group = el("section", { class: "clip", "data-clip": c });
        group.appendChild(el("h3", null, c));
        cards.appendChild(group);
      }
      group.appendChild(card(k));
    }
    shown = end;
    more.hidden = shown >= matching.length;
    more.textContent = "Show more (" + (matching.length - shown) + " left)";
  }
  function render() {
    if (observer) observer.disconnect();
    cards.textContent = "";
    matching = [];
    ORDER.forEach(function (k) { if (matches(k)) matching.push(k); });
    shown = 0;
    document.getElementById("match-count").textContent = matching.length + " of " + couples.length + " pairs";
    renderMore();
  }
  Object.keys(F).forEach(function (key) { F[key].addEventListener("change", render); });
  more.addEventListener("click", renderMore);

  // -- the Clever-Hans view: exactly the couples the metric counts right-then-wrong ----------
  function cleverHans() {
    var root = document.getElementById("clever-hans-lists");
    root.textContent = "";
    models.forEach(function (m, i) {
      var block = el("div", { class: "ch-model", "data-model": m.name });
      var h = el("h3");
      var sw = el("span", { class: "swatch" });
      sw.style.background = m.color;
      h.appendChild(sw);
      h.appendChild(document.createTextNode(m.name + ": " + m.clever_hans.length + " of " + couples.length + " pairs"));
      block.appendChild(h);
      if (m.clever_hans.length) {
        var table = el("table", { class: "ch" });
        var hr = el("tr");
        ["clip", "dimension", "intervention", "original: read as", "intervened: gold", "read as", ""].forEach(function (t) {
          hr.appendChild(el("th", null, t));
        });
        table.appendChild(el("thead")).appendChild(hr);
        var body = el("tbody");
        m.clever_hans.forEach(function (k) {
          var c = couples[k], o = probes[c[0]], p = probes[c[1]];
          var tr = el("tr", { class: "ch-row", "data-model": m.name, "data-original": o.id, "data-intervened": p.id });
          [o.clip, o.dimension, conditionText(p), D.readings[answer(i, c[0])[1]], p.label,
            D.readings[answer(i, c[1])[1]]].forEach(function (t) { tr.appendChild(el("td", null, t)); });
          var link = el("td");
          var a = el("a", { href: "#explorer" }, "show");
          a.addEventListener("click", function () { showCouple(i, k); });
          link.appendChild(a);
          tr.appendChild(link);
          body.appendChild(tr);
        });
        table.appendChild(body);
        block.appendChild(table);
      }
      root.appendChild(block);
    });
  }
  function showCouple(m, k) {
    F.model.value = String(m);
    F.dimension.value = probes[couples[k][0]].dimension;
    F.condition.value = probes[couples[k][1]].condition;
    F.outcome.value = "clever-hans";
    F.reading.value = "all";
    render();
    while (!document.getElementById("pair-" + k) && shown < matching.length) renderMore();
    var target = document.getElementById("pair-" + k);
    if (target) setTimeout(function () { target.scrollIntoView(); }, 0);
  }

  cleverHans();
  render();
})();
