/* embedlayer explorer: the view transform and two point renderers.
 *
 * Points are normalised coordinates in [-1, 1]^3 (z = 0 for a 2-D projection). A view maps them
 * to CSS pixels: rotate (3-D mode only), scale, centre and pan. The WebGL renderer draws every
 * point in one draw call; where WebGL is missing (or ?renderer=2d) a canvas 2D renderer writes
 * the points straight into an ImageData buffer, which stays fast at 50,000 points. Highlights and
 * their labels go on a second, 2D canvas on top (drawHighlights).
 */
"use strict";
(function (global) {
  /** Row-major 3x3 rotation of the view: Rx(pitch) * Ry(yaw) in 3-D, identity in 2-D. */
  function rotation(view) {
    if (view.mode !== "3d") return [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw);
    const cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    return [cy, 0, sy, sp * sy, cp, -sp * cy, -cp * sy, sp, cp * cy];
  }

  /** Centre, scale (CSS px per unit) and rotation of ``view`` on a w x h CSS-pixel stage. */
  function frame(view, w, h) {
    return {
      cx: w / 2 + view.panX, cy: h / 2 + view.panY,
      s: 0.45 * Math.min(w, h) * view.zoom, R: rotation(view),
    };
  }

  /** Screen positions (CSS px) of n points ``pos`` (n*3) into ``out`` (n*2). */
  function projectAll(pos, n, f, out) {
    const R = f.R, s = f.s, cx = f.cx, cy = f.cy;
    for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 2) {
      const x = pos[j], y = pos[j + 1], z = pos[j + 2];
      out[k] = cx + s * (R[0] * x + R[1] * y + R[2] * z);
      out[k + 1] = cy - s * (R[3] * x + R[4] * y + R[5] * z);
    }
    return out;
  }

  const VERTEX = `
    attribute vec3 a_pos;
    attribute vec4 a_col;
    attribute float a_size;
    uniform mat3 u_rot;
    uniform vec2 u_center;
    uniform float u_scale;
    uniform vec2 u_size;
    uniform float u_point;
    varying vec4 v_col;
    void main() {
      vec3 r = u_rot * a_pos;
      vec2 sc = u_center + u_scale * vec2(r.x, -r.y);
      gl_Position = vec4(sc.x / u_size.x * 2.0 - 1.0, 1.0 - sc.y / u_size.y * 2.0, 0.0, 1.0);
      gl_PointSize = u_point * a_size;
      v_col = a_col;
    }`;
  const FRAGMENT = `
    precision mediump float;
    varying vec4 v_col;
    void main() {
      vec2 d = gl_PointCoord - vec2(0.5);
      if (dot(d, d) > 0.25) discard;
      gl_FragColor = v_col;
    }`;

  function compile(gl, type, source) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) return null;
    return shader;
  }

  /** A WebGL renderer on ``canvas``, or null when WebGL is not available. */
  function createWebGL(canvas) {
    let gl = null;
    try {
      gl = canvas.getContext("webgl", { antialias: false, premultipliedAlpha: false, preserveDrawingBuffer: true });
    } catch (e) {
      gl = null;
    }
    if (!gl) return null;
    const vs = compile(gl, gl.VERTEX_SHADER, VERTEX), fs = compile(gl, gl.FRAGMENT_SHADER, FRAGMENT);
    if (!vs || !fs) return null;
    const prog = gl.createProgram();
    gl.attachShader(prog, vs);
    gl.attachShader(prog, fs);
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) return null;
    const loc = {
      pos: gl.getAttribLocation(prog, "a_pos"), col: gl.getAttribLocation(prog, "a_col"),
      rot: gl.getUniformLocation(prog, "u_rot"), center: gl.getUniformLocation(prog, "u_center"),
      scale: gl.getUniformLocation(prog, "u_scale"), size: gl.getUniformLocation(prog, "u_size"),
      point: gl.getUniformLocation(prog, "u_point"), psize: gl.getAttribLocation(prog, "a_size"),
    };
    const posBuf = gl.createBuffer(), colBuf = gl.createBuffer(), sizeBuf = gl.createBuffer();
    let n = 0;
    return {
      kind: "webgl",
      canvas,
      setPoints(pos, col, sizes) {
        n = pos.length / 3;
        gl.bindBuffer(gl.ARRAY_BUFFER, posBuf);
        gl.bufferData(gl.ARRAY_BUFFER, pos, gl.STATIC_DRAW);
        gl.bindBuffer(gl.ARRAY_BUFFER, sizeBuf);
        gl.bufferData(gl.ARRAY_BUFFER, sizes, gl.STATIC_DRAW);
        this.setColours(col);
      },
      setColours(col) {
        gl.bindBuffer(gl.ARRAY_BUFFER, colBuf);
        gl.bufferData(gl.ARRAY_BUFFER, col, gl.STATIC_DRAW);
      },
      draw(f, W, H, dpr, pointPx) {
        gl.viewport(0, 0, W, H);
        gl.clearColor(0, 0, 0, 0);
        gl.clear(gl.COLOR_BUFFER_BIT);
        if (!n) return;
        gl.useProgram(prog);
        gl.enable(gl.BLEND);
        gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
        const R = f.R;
        gl.uniformMatrix3fv(loc.rot, false, [R[0], R[3], R[6], R[1], R[4], R[7], R[2], R[5], R[8]]);
        gl.uniform2f(loc.center, f.cx * dpr, f.cy * dpr);
        gl.uniform1f(loc.scale, f.s * dpr);
        gl.uniform2f(loc.size, W, H);
        gl.uniform1f(loc.point, pointPx);
        gl.bindBuffer(gl.ARRAY_BUFFER, posBuf);
        gl.enableVertexAttribArray(loc.pos);
        gl.vertexAttribPointer(loc.pos, 3, gl.FLOAT, false, 0, 0);
        gl.bindBuffer(gl.ARRAY_BUFFER, colBuf);
        gl.enableVertexAttribArray(loc.col);
        gl.vertexAttribPointer(loc.col, 4, gl.UNSIGNED_BYTE, true, 0, 0);
        gl.bindBuffer(gl.ARRAY_BUFFER, sizeBuf);
        gl.enableVertexAttribArray(loc.psize);
        gl.vertexAttribPointer(loc.psize, 1, gl.FLOAT, false, 0, 0);
        gl.drawArrays(gl.POINTS, 0, n);
      },
    };
  }

  /** A canvas 2D renderer: points written into one ImageData, put once per frame. */
  function create2D(canvas) {
    const ctx = canvas.getContext("2d");
    if (!ctx) return null;
    let pos = null, col32 = null, sz = null, n = 0, img = null, buf = null;
    return {
      kind: "2d",
      canvas,
      setPoints(p, col, sizes) {
        pos = p;
        sz = sizes;
        n = p.length / 3;
        this.setColours(col);
      },
      setColours(col) {
        // ImageData does not blend: mix each colour with the stage's background by its alpha
        // instead. RGBA bytes read as little-endian uint32 are what ImageData's uint32 view holds.
        const opaque = new Uint8Array(col.length), bg = [251, 251, 253];
        for (let i = 0; i < col.length; i += 4) {
          const a = col[i + 3] / 255;
          for (let c = 0; c < 3; c++) opaque[i + c] = Math.round(col[i + c] * a + bg[c] * (1 - a));
          opaque[i + 3] = col[i + 3] ? 255 : 0;
        }
        col32 = new Uint32Array(opaque.buffer);
      },
      draw(f, W, H, dpr, pointPx) {
        if (!img || img.width !== W || img.height !== H) {
          img = ctx.createImageData(W, H);
          buf = new Uint32Array(img.data.buffer);
        }
        buf.fill(0);
        const R = f.R, s = f.s * dpr, cx = f.cx * dpr, cy = f.cy * dpr;
        const base = pointPx * 0.8;
        for (let i = 0, j = 0; i < n; i++, j += 3) {
          const c = col32[i];
          if (!c) continue;
          const size = Math.max(1, Math.round(base * sz[i])), half = size >> 1;
          const x = pos[j], y = pos[j + 1], z = pos[j + 2];
          const sx = Math.round(cx + s * (R[0] * x + R[1] * y + R[2] * z)) - half;
          const sy = Math.round(cy - s * (R[3] * x + R[4] * y + R[5] * z)) - half;
          if (sx < 0 || sy < 0 || sx + size > W || sy + size > H) continue;
          for (let dy = 0; dy < size; dy++) {
            const row = (sy + dy) * W + sx;
            for (let dx = 0; dx < size; dx++) buf[row + dx] = c;
          }
        }
        ctx.putImageData(img, 0, 0);
      },
    };
  }

  /** The overlay: the hovered point, then the query points (red), the found points (orange) with
   * lines from a single query to them, and their labels; returns the label boxes [x, y, w, h, point]
   * (CSS px on the overlay, and the index of the labelled point). */
  function drawHighlights(ctx, dpr, scr, hl, hover) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    if (hover >= 0) dot(ctx, scr[2 * hover], scr[2 * hover + 1], 5, "#1d2433", "#ffffff");
    if (!hl) return [];
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(192, 57, 43, 0.35)";
    const q0 = hl.queries[0];
    if (q0 && hl.queries.length === 1) {
      for (const f of hl.found) {
        ctx.beginPath();
        ctx.moveTo(scr[2 * q0.index], scr[2 * q0.index + 1]);
        ctx.lineTo(scr[2 * f.index], scr[2 * f.index + 1]);
        ctx.stroke();
      }
    }
    const labels = [];
    for (const f of hl.found) {
      dot(ctx, scr[2 * f.index], scr[2 * f.index + 1], 4.5, "#f28e2b", "#7a3d00");
      labels.push({ i: f.index, text: `${f.word} ${f.score.toFixed(2)}`, bold: false });
    }
    for (const q of hl.queries) {
      dot(ctx, scr[2 * q.index], scr[2 * q.index + 1], 6.5, "#c0392b", "#ffffff");
      labels.unshift({ i: q.index, text: q.word, bold: true });
    }
    return placeLabels(ctx, labels, scr);
  }

  function dot(ctx, x, y, r, fill, stroke) {
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = stroke;
    ctx.stroke();
  }

  /** Labels beside their points: each takes the first spot (8 directions, then farther rings with a
   * leader line) that overlaps no earlier label; a label with no free spot goes where it overlaps least.
   * Returns the boxes [x, y, w, h, point] in the order of ``labels``. */
  function placeLabels(ctx, labels, scr) {
    const placed = [], h = 16, dirs = [[1, 0], [-1, 0], [0, -1], [0, 1], [1, -1], [-1, -1], [1, 1], [-1, 1]];
    const overlap = (b) => placed.reduce((sum, p) => sum +
      Math.max(0, Math.min(b[0] + b[2], p[0] + p[2]) - Math.max(b[0], p[0])) *
      Math.max(0, Math.min(b[1] + b[3], p[1] + p[3]) - Math.max(b[1], p[1])), 0);
    for (const l of labels) {
      ctx.font = `${l.bold ? "600 " : ""}12.5px system-ui, sans-serif`;
      const w = ctx.measureText(l.text).width + 6, x = scr[2 * l.i], y = scr[2 * l.i + 1];
      let best = null, bestCost = Infinity;
      for (let ring = 0; ring < 4 && bestCost > 0; ring++) {
        const r = 8 + ring * 14;
        for (const [dx, dy] of dirs) {
          const left = dx < 0 ? x - r - w : dx > 0 ? x + r : x - w / 2;
          const box = [left, y + dy * (r + 4) - h / 2, w, h];
          const cost = overlap(box);
          if (cost < bestCost) { best = box; bestCost = cost; }
          if (cost === 0) break;
        }
      }
      placed.push([...best, l.i]);
      const cx = Math.max(best[0], Math.min(x, best[0] + best[2])), cy = Math.max(best[1], Math.min(y, best[1] + h));
      if (Math.hypot(cx - x, cy - y) > 12) {
        ctx.strokeStyle = "rgba(29, 36, 51, 0.45)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, y);
        ctx.lineTo(cx, cy);
        ctx.stroke();
      }
      ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
      ctx.fillRect(best[0], best[1], best[2], best[3]);
      ctx.fillStyle = l.bold ? "#c0392b" : "#1d2433";
      ctx.textBaseline = "middle";
      ctx.fillText(l.text, best[0] + 3, best[1] + h / 2);
    }
    return placed;
  }

  /** WebGL on ``canvas`` unless ``force2d``; else (or when WebGL fails) canvas 2D on a fresh canvas. */
  function createRenderer(canvas, force2d) {
    if (!force2d) {
      const webgl = createWebGL(canvas);
      if (webgl) return webgl;
    }
    const fresh = document.createElement("canvas");
    fresh.id = canvas.id;
    canvas.replaceWith(fresh);
    return create2D(fresh);
  }

  global.EmbedRender = { rotation, frame, projectAll, createRenderer, create2D, drawHighlights };
})(window);
