/* embedlayer explorer: where answers come from. The served page asks the server's JSON API; the
 * offline file computes the same answers here, by exact cosine over the embedded unit vectors.
 */
"use strict";
(function (global) {
  /** Little-endian bytes in base64 -> a typed array (``Type``: Float32Array, ...). */
  function decodeB64(text, Type) {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  async function getJSON(url) {
    const response = await fetch(url);
    let body;
    try {
      body = await response.json();
    } catch (e) {
      return { error: `the server answered ${response.status} without JSON` };
    }
    return response.ok ? body : { error: body.error || `HTTP ${response.status}`, suggestions: body.suggestions || [] };
  }

  function serverBackend() {
    return {
      neighbours: (word, k) => getJSON(`api/neighbors?word=${encodeURIComponent(word)}&k=${k}`),
      analogy: (a, b, c, k) => getJSON(`api/analogy?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}` +
        `&c=${encodeURIComponent(c)}&k=${k}`),
    };
  }

  /** Offline: exact cosine over the embedded unit rows (the drawn words only), answering with the
   * server's JSON shapes. ``index`` maps word -> row; ``suggest(prefix, limit)`` gives close words. */
  function localBackend(data, index, suggest) {
    const words = data.words, vectors = decodeB64(data.vectors, Float32Array), d = data.dim, n = words.length;
    const entry = (i, score) => (score === undefined ? { word: words[i], index: i }
      : { word: words[i], index: i, score: Math.round(score * 1e6) / 1e6 });
    function unknown(query) {
      const w = query.find((x) => !index.has(x));
      if (w === undefined) return null;
      const hint = suggest(w, 5).filter((s) => s !== w);
      const more = hint.length ? `; did you mean ${hint.join(", ")}?` : "";
      return { error: `word '${w}' is not in the vocabulary of ${data.source} (${n.toLocaleString("en")} words)${more}`,
               suggestions: hint };
    }
    function topk(query, k, exclude) {
      const best = [], scores = [];
      for (let r = 0; r < n; r++) {
        if (exclude.includes(r)) continue;
        let dot = 0;
        for (let j = 0, o = r * d; j < d; j++) dot += vectors[o + j] * query[j];
        if (best.length === k && dot <= scores[k - 1]) continue;
        let at = best.length;
        while (at > 0 && scores[at - 1] < dot) at--;
        best.splice(at, 0, r);
        scores.splice(at, 0, dot);
        if (best.length > k) { best.pop(); scores.pop(); }
      }
      return best.map((r, i) => entry(r, scores[i]));
    }
    const row = (i) => vectors.subarray(i * d, (i + 1) * d);
    return {
      async neighbours(word, k) {
        const bad = unknown([word]);
        if (bad) return bad;
        const i = index.get(word);
        return { query: entry(i), k, neighbors: topk(row(i), k, [i]) };
      },
      async analogy(a, b, c, k) {
        const bad = unknown([a, b, c]);
        if (bad) return bad;
        const [ia, ib, ic] = [a, b, c].map((w) => index.get(w));
        const q = new Float64Array(d);
        const va = row(ia), vb = row(ib), vc = row(ic);
        let norm = 0;
        for (let j = 0; j < d; j++) { q[j] = va[j] - vb[j] + vc[j]; norm += q[j] * q[j]; }
        norm = Math.sqrt(norm) || 1;
        for (let j = 0; j < d; j++) q[j] /= norm;
        return { query: { a: entry(ia), b: entry(ib), c: entry(ic) }, formula: `${a} − ${b} + ${c}`, k,
                 answers: topk(q, k, [ia, ib, ic]) };
      },
    };
  }

  /** Completion over ``words`` (most frequent first = lowest row): a function (prefix, limit) ->
   * words starting with prefix, ignoring case, an exact (case-folded) match first. */
  function completer(words) {
    const lower = words.map((w) => w.toLowerCase());
    const rows = Array.from(lower.keys()).sort((a, b) => (lower[a] < lower[b] ? -1 : lower[a] > lower[b] ? 1 : a - b));
    const keys = rows.map((r) => lower[r]);
    return function suggest(prefix, limit) {
      const p = prefix.toLowerCase();
      let lo = 0, hi = keys.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (keys[mid] < p) lo = mid + 1; else hi = mid; }
      const hits = [];
      for (let i = lo; i < keys.length && hits.length < 400 && keys[i].startsWith(p); i++) hits.push(rows[i]);
      hits.sort((a, b) => a - b);
      const exact = hits.filter((r) => lower[r] === p), rest = hits.filter((r) => lower[r] !== p);
      return exact.concat(rest).slice(0, limit).map((r) => words[r]);
    };
  }

  global.EmbedQuery = { decodeB64, serverBackend, localBackend, completer };
})(window);
