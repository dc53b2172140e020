/* embedlayer explorer: the page. Loads the points (from the server, or embedded in an offline
 * file), draws them (render.js), and answers searches, clicks and analogies through a backend
 * (query.js): the server's JSON API, or, offline, cosines computed on the embedded unit vectors.
 */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = {
    data: null, words: [], index: new Map(), n: 0, pos: null, baseColours: null, screen: null,
    view: { mode: "2d", zoom: 1, panX: 0, panY: 0, yaw: 0.6, pitch: 0.35 },
    renderer: null, highlight: null, hover: -1, focusLabel: -1, drawPending: false,
    stats: { draws: 0, lastDrawMs: 0, maxDrawMs: 0 }, backend: null, suggest: null, labelBoxes: [],
  };
  window.__explorer = state; // for tests and the curious: state.stats holds draw timings

  // ------------------------------------------------------------------ data
  function hexColour(hex, alpha) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255, alpha];
  }

  async function loadData() {
    const embedded = document.getElementById("embedded-data");
    if (embedded) return JSON.parse(embedded.textContent);
    const response = await fetch("api/points");
    if (!response.ok) throw new Error(`api/points answered ${response.status}`);
    return response.json();
  }

  function prepare(data) {
    state.data = data;
    state.words = data.words;
    state.n = data.words.length;
    data.words.forEach((w, i) => state.index.set(w, i));
    const comps = data.projection.components;
    const coords = EmbedQuery.decodeB64(data.coords, Float32Array);
    const pos = new Float32Array(state.n * 3);
    for (let i = 0; i < state.n; i++) {
      for (let c = 0; c < comps; c++) pos[i * 3 + c] = coords[i * comps + c];
    }
    state.pos = pos;
    state.screen = new Float32Array(state.n * 2);
    state.baseColours = colours(-1);
    state.sizes = sizes();
    state.suggest = EmbedQuery.completer(data.words);
    state.backend = data.offline ? EmbedQuery.localBackend(data, state.index, state.suggest)
      : EmbedQuery.serverBackend();
  }

  /** RGBA bytes per point: by label when there are labels (faded outside ``focus`` when >= 0);
   * unlabelled points are lighter then, so the labelled ones stand out. */
  function colours(focus) {
    const n = state.n, out = new Uint8Array(n * 4), labels = state.data.labels;
    const alpha = n > 20000 ? 150 : n > 2000 ? 190 : 230;
    const base = hexColour(state.data.colours.default, alpha);
    const none = hexColour(state.data.colours.none, Math.round(alpha * 0.6));
    const palette = labels ? labels.colours.map((c) => hexColour(c, 235)) : [];
    for (let i = 0; i < n; i++) {
      let c = base;
      if (labels) {
        const id = labels.ids[i];
        c = id >= 0 ? palette[id] || none : none;
        if (focus >= 0 && id !== focus) c = [c[0], c[1], c[2], 25];
      }
      out.set(c, i * 4);
    }
    return out;
  }

  /** Size factor per point: labelled points are drawn larger than the others. */
  function sizes() {
    const out = new Float32Array(state.n).fill(1), labels = state.data.labels;
    if (labels) labels.ids.forEach((id, i) => { if (id >= 0) out[i] = 1.7; });
    return out;
  }

  // ------------------------------------------------------------------ completion
  let completionIndex = -1;
  function showCompletions() {
    const box = $("completions"), text = $("search").value.trim();
    box.replaceChildren();
    completionIndex = -1;
    const items = text ? state.suggest(text, 12) : [];
    items.forEach((w, i) => {
      const li = document.createElement("li");
      li.textContent = w;
      li.setAttribute("role", "option");
      li.id = `completion-${i}`;
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(w); });
      box.appendChild(li);
    });
    box.hidden = items.length === 0;
    $("search").setAttribute("aria-expanded", String(!box.hidden));
  }

  function moveCompletion(step) {
    const items = $("completions").children;
    if (!items.length) return;
    if (completionIndex >= 0) items[completionIndex].setAttribute("aria-selected", "false");
    completionIndex = (completionIndex + step + items.length) % items.length;
    items[completionIndex].setAttribute("aria-selected", "true");
    items[completionIndex].scrollIntoView({ block: "nearest" });
  }

  function choose(word) {
    $("search").value = word;
    $("completions").hidden = true;
    $("search").setAttribute("aria-expanded", "false");
    search(word);
  }

  // ------------------------------------------------------------------ queries and results
  function readK() {
    const raw = $("k").value.trim(), max = state.data.k_max;
    const k = Number(raw);
    if (!/^[0-9]+$/.test(raw) || k < 1 || k > max) {
      showMessage(`k must be a whole number from 1 to ${max}; got '${raw}'`);
      return null;
    }
    return k;
  }

  function showMessage(text, hints) {
    const box = $("message");
    box.replaceChildren();
    if (!text) { box.hidden = true; return; }
    const p = document.createElement("div");
    p.textContent = text;
    box.appendChild(p);
    (hints || []).forEach((w) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = w;
      b.addEventListener("click", () => choose(w));
      box.appendChild(b);
    });
    box.hidden = false;
  }

  function renderList(list, items) {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      const rank = document.createElement("span");
      rank.className = "rank";
      rank.textContent = String(i + 1);
      const word = document.createElement("span");
      word.className = "word" + (item.index < 0 ? " hidden-point" : "");
      word.textContent = item.word;
      word.title = item.index < 0 ? "not among the drawn points" : "show its neighbours";
      word.addEventListener("click", () => choose(item.word));
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = `${Math.max(0, Math.min(1, item.score)) * 100}%`;
      const val = document.createElement("span");
      val.className = "val score";
      val.textContent = item.score.toFixed(3);
      bar.append(fill, val);
      li.append(rank, word, bar);
      list.appendChild(li);
    });
  }

  async function search(word) {
    word = word.trim();
    if (!word) return;
    const k = readK();
    if (k === null) return;
    const result = await state.backend.neighbours(word, k);
    if (result.error) {
      showMessage(result.error, result.suggestions);
      return;
    }
    showMessage("");
    const title = $("results-title");
    title.replaceChildren(document.createTextNode(`${result.neighbors.length} nearest to `));
    const q = document.createElement("span");
    q.className = "query";
    q.textContent = result.query.word;
    title.appendChild(q);
    renderList($("neighbours"), result.neighbors);
    $("results").hidden = false;
    setHighlight([result.query], result.neighbors);
  }

  async function analogy() {
    const [a, b, c] = ["an-a", "an-b", "an-c"].map((id) => $(id).value.trim());
    if (!a || !b || !c) {
      showMessage("the analogy needs three words: a − b + c (e.g. king − man + woman)");
      return;
    }
    const k = readK();
    if (k === null) return;
    const result = await state.backend.analogy(a, b, c, k);
    if (result.error) {
      showMessage(result.error, result.suggestions);
      return;
    }
    showMessage("");
    renderList($("analogy-results"), result.answers);
    setHighlight([result.query.a, result.query.b, result.query.c], result.answers);
  }

  // ------------------------------------------------------------------ drawing
  function setHighlight(queries, found) {
    state.highlight = { queries: queries.filter((q) => q.index >= 0), found: found.filter((f) => f.index >= 0) };
    requestDraw();
  }

  function requestDraw() {
    if (state.drawPending) return;
    state.drawPending = true;
    requestAnimationFrame(draw);
  }

  function stageSize() {
    const stage = $("stage");
    return { w: stage.clientWidth, h: stage.clientHeight, dpr: window.devicePixelRatio || 1 };
  }

  function draw() {
    state.drawPending = false;
    const t0 = performance.now();
    const { w, h, dpr } = stageSize();
    const W = Math.max(1, Math.round(w * dpr)), H = Math.max(1, Math.round(h * dpr));
    const canvas = state.renderer.canvas, overlay = $("overlay");
    for (const c of [canvas, overlay]) {
      if (c.width !== W || c.height !== H) { c.width = W; c.height = H; }
    }
    const f = EmbedRender.frame(state.view, w, h);
    const pointPx = (state.n > 20000 ? 3 : state.n > 2000 ? 4 : 6) * dpr;
    state.renderer.draw(f, W, H, dpr, pointPx);
    EmbedRender.projectAll(state.pos, state.n, f, state.screen);
    drawOverlay(overlay.getContext("2d"), dpr);
    const ms = performance.now() - t0;
    state.stats.draws += 1;
    state.stats.lastDrawMs = ms;
    state.stats.maxDrawMs = Math.max(state.stats.maxDrawMs, ms);
    $("status").textContent = `${state.renderer.kind === "webgl" ? "WebGL" : "canvas 2D"} · ` +
      `${state.n.toLocaleString("en")} points · ${ms.toFixed(1)} ms/frame`;
  }

  function drawOverlay(ctx, dpr) {
    state.labelBoxes = EmbedRender.drawHighlights(ctx, dpr, state.screen, state.highlight, state.hover);
  }

  // ------------------------------------------------------------------ tooltip
  const TIP_GAP = 12; // CSS px between the cursor and the tooltip's nearest corner

  /** Area shared by two boxes [x, y, w, h]. */
  function overlapArea(a, b) {
    return Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0])) *
      Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  }

  /** What the tooltip of point ``i`` must not cover: the point (its hover ring) and its labels. */
  function ownBoxes(i) {
    const x = state.screen[2 * i], y = state.screen[2 * i + 1];
    return [[x - 7, y - 7, 14, 14], ...state.labelBoxes.filter((b) => b[4] === i)];
  }

  /** The four tw x th boxes at the corners around the cursor (x, y), each moved inside the stage;
   * first the corner away from ``label`` (the hovered point's label box), above right without one. */
  function tooltipSpots(x, y, tw, th, label) {
    const { w, h } = stageSize();
    const right = !label || label[0] + label[2] / 2 <= x, below = !!label && label[1] + label[3] / 2 < y;
    const lefts = right ? [x + TIP_GAP, x - TIP_GAP - tw] : [x - TIP_GAP - tw, x + TIP_GAP];
    const tops = below ? [y + TIP_GAP, y - TIP_GAP - th] : [y - TIP_GAP - th, y + TIP_GAP];
    const inside = (v, size, room) => Math.max(0, Math.min(v, room - size));
    return [[0, 0], [1, 0], [0, 1], [1, 1]].map(([a, b]) =>
      [inside(lefts[a], tw, w), inside(tops[b], th, h), tw, th]);
  }

  /** Of ``spots``, the one covering least of ``own`` (any of it outweighs all else), then of the other labels. */
  function leastCovering(spots, own) {
    const others = state.labelBoxes.filter((b) => !own.includes(b));
    const covered = (spot, boxes) => boxes.reduce((sum, b) => sum + overlapArea(spot, b), 0);
    let best = spots[0], bestCost = Infinity;
    for (const spot of spots) {
      const cost = covered(spot, own) * 1e6 + covered(spot, others);
      if (cost < bestCost) { best = spot; bestCost = cost; }
    }
    return best;
  }

  /** Show point ``i``'s word in ``tip`` beside the cursor (x, y), clear of the point and its label and
   * inside the stage, covering as little of the other labels as it can. */
  function showTooltip(tip, i, x, y) {
    tip.textContent = state.words[i];
    const own = ownBoxes(i), size = tip.getBoundingClientRect(); // fractional px: offsetWidth rounds
    const spots = tooltipSpots(x, y, size.width, size.height, own[1]);
    const [left, top] = leastCovering(spots, own);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  // ------------------------------------------------------------------ interaction
  function nearestPoint(x, y, radius) {
    const scr = state.screen;
    let best = -1, bestD = radius * radius;
    for (let i = 0; i < state.n; i++) {
      const dx = scr[2 * i] - x, dy = scr[2 * i + 1] - y, dd = dx * dx + dy * dy;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    return best;
  }

  function bindStage() {
    const overlay = $("overlay"), tip = $("tooltip");
    let drag = null;
    overlay.addEventListener("mousedown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY, moved: 0, shift: ev.shiftKey };
      overlay.classList.add("dragging");
    });
    window.addEventListener("mousemove", (ev) => {
      const rect = overlay.getBoundingClientRect();
      if (drag) {
        const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
        drag.moved += Math.abs(dx) + Math.abs(dy);
        drag.x = ev.clientX;
        drag.y = ev.clientY;
        if (state.view.mode === "3d" && !drag.shift) {
          state.view.yaw += dx * 0.01;
          state.view.pitch = Math.max(-1.55, Math.min(1.55, state.view.pitch + dy * 0.01));
        } else {
          state.view.panX += dx;
          state.view.panY += dy;
        }
        requestDraw();
        return;
      }
      if (ev.target !== overlay) return;
      const i = nearestPoint(ev.clientX - rect.left, ev.clientY - rect.top, 6);
      if (i !== state.hover) {
        state.hover = i;
        requestDraw();
      }
      tip.hidden = i < 0;
      if (i >= 0) showTooltip(tip, i, ev.clientX - rect.left, ev.clientY - rect.top);
    });
    window.addEventListener("mouseup", (ev) => {
      if (!drag) return;
      const click = drag.moved < 4;
      drag = null;
      overlay.classList.remove("dragging");
      if (!click) return;
      const rect = overlay.getBoundingClientRect();
      const i = nearestPoint(ev.clientX - rect.left, ev.clientY - rect.top, 8);
      if (i >= 0) choose(state.words[i]);
    });
    overlay.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const rect = overlay.getBoundingClientRect();
      const { w, h } = stageSize();
      const mx = ev.clientX - rect.left - w / 2, my = ev.clientY - rect.top - h / 2;
      const old = state.view.zoom;
      const zoom = Math.max(0.2, Math.min(500, old * Math.exp(-ev.deltaY * 0.0015)));
      state.view.panX = mx - (mx - state.view.panX) * (zoom / old);
      state.view.panY = my - (my - state.view.panY) * (zoom / old);
      state.view.zoom = zoom;
      requestDraw();
    }, { passive: false });
    overlay.addEventListener("mouseleave", () => {
      tip.hidden = true;
      if (state.hover >= 0) { state.hover = -1; requestDraw(); }
    });
    new ResizeObserver(() => requestDraw()).observe($("stage"));
  }

  function setMode(mode) {
    state.view.mode = mode;
    $("view-2d").setAttribute("aria-pressed", String(mode === "2d"));
    $("view-3d").setAttribute("aria-pressed", String(mode === "3d"));
    requestDraw();
  }

  function bindPanel() {
    const input = $("search");
    input.addEventListener("input", showCompletions);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") { ev.preventDefault(); moveCompletion(1); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); moveCompletion(-1); }
      else if (ev.key === "Escape") { $("completions").hidden = true; }
      else if (ev.key === "Enter") {
        ev.preventDefault();
        const items = $("completions").children;
        choose(completionIndex >= 0 && items[completionIndex] ? items[completionIndex].textContent : input.value);
      }
    });
    input.addEventListener("blur", () => { $("completions").hidden = true; });
    $("analogy-form").addEventListener("submit", (ev) => { ev.preventDefault(); analogy(); });
    $("view-2d").addEventListener("click", () => setMode("2d"));
    $("view-3d").addEventListener("click", () => setMode("3d"));
    $("reset").addEventListener("click", () => {
      Object.assign(state.view, { zoom: 1, panX: 0, panY: 0, yaw: 0.6, pitch: 0.35 });
      requestDraw();
    });
  }

  function fillHeader() {
    const d = state.data, p = d.projection;
    const drawn = d.shown < d.count ? `${d.shown.toLocaleString("en")} of ${d.count.toLocaleString("en")}`
      : d.count.toLocaleString("en");
    const nb = (text) => text.replace(/-d\b/g, "\u2011d"); // keep "3-d" on one line
    $("info").textContent = `${d.source}: ${drawn} words · ${d.dim}-d vectors · ${nb(p.describe)}` +
      (d.offline ? " · offline file" : "");
    document.title = `${d.source} · embedlayer explorer`;
    $("k").value = String(d.k_default);
    $("k").max = String(d.k_max);
    if (p.components < 3) {
      $("view-3d").disabled = true;
      $("view-3d").title = "the projection has 2 components";
    }
    if (d.labels) fillLegend(d.labels);
  }

  function fillLegend(labels) {
    const counts = new Array(labels.names.length).fill(0);
    labels.ids.forEach((id) => { if (id >= 0) counts[id] += 1; });
    $("legend-title").textContent = `Labels (${labels.source}, ${labels.labelled.toLocaleString("en")} words)`;
    const list = $("legend");
    labels.names.forEach((name, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = labels.colours[i];
      const text = document.createElement("span");
      text.textContent = name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = counts[i].toLocaleString("en");
      li.append(sw, text, count);
      li.title = "click to show only this label; click again to show all";
      li.addEventListener("click", () => {
        state.focusLabel = state.focusLabel === i ? -1 : i;
        Array.from(list.children).forEach((el, j) => el.classList.toggle("muted", state.focusLabel >= 0 && j !== state.focusLabel));
        state.renderer.setColours(colours(state.focusLabel));
        requestDraw();
      });
      list.appendChild(li);
    });
    $("legend-section").hidden = false;
  }

  async function main() {
    try {
      prepare(await loadData());
    } catch (err) {
      showMessage(`could not load the points: ${err.message}`);
      return;
    }
    const force2d = new URLSearchParams(location.search).get("renderer") === "2d";
    state.renderer = EmbedRender.createRenderer($("points"), force2d);
    state.renderer.setPoints(state.pos, state.baseColours, state.sizes);
    state.renderer.canvas.addEventListener("webglcontextlost", (ev) => {
      ev.preventDefault();
      state.renderer = EmbedRender.createRenderer(state.renderer.canvas, true);
      state.renderer.setPoints(state.pos, colours(state.focusLabel), state.sizes);
      requestDraw();
    });
    document.body.dataset.renderer = state.renderer.kind;
    fillHeader();
    bindPanel();
    bindStage();
    draw();
    document.body.dataset.ready = "1";
  }

  main();
})();
