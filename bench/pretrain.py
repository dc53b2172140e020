"""Word-vector pretraining speed and quality: ours against gensim (skip-gram, CBOW) and fastText (subwords).

Corpus ``../shared/data/corpus/english8.txt`` (3.78M words); dim 100, window 5, negative 5,
min-count 5, sample 1e-3, 5 epochs, 2 threads, as ../shared/BENCHMARKS.md asks:

- ``skipgram`` and ``cbow``: ours (``train_word_vectors``) against gensim 4.4
  ``Word2Vec(corpus_file=...)`` with the same settings;
- ``subword``: skip-gram with character n-grams 3-6 and 2M buckets, ours against fastText's
  ``train_unsupervised`` (the ``fasttext`` module installed: 0.9.3 if built from its sdist, or
  fasttext-wheel 0.9.2, which has the same training code).

Each training runs in its own fresh process and is timed from the call to its return (reading the
corpus and building the vocabulary included, for everyone; our compiled kernels are loaded from
numba's cache by a tiny warm-up run first, as gensim's and fastText's are precompiled). Speed is
raw corpus words × epochs / seconds, for everyone. Quality: every model's word vectors are
evaluated with the same code (ours, equal to gensim's ``evaluate_word_analogies`` and
``evaluate_word_pairs``): Google analogies restricted to the 30k most frequent words, WordSim-353
and SimLex-999 Spearman. Runs alternate between ours and the anchor; the median speed is reported.

    python bench/pretrain.py [--cases skipgram,cbow,subword] [--repeats 1] [--epochs 5] [--threads 2] [--quick]
                             [--fasttext-path DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CORPUS = DATA / "corpus" / "english8.txt"
WORDSIM = DATA / "wordsim"

_CHILD = r"""
import json, sys, time
lib, case, corpus, out, settings = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
s = settings
if lib == "ours":
    import os, tempfile
    from embedlayer.pretrain import PretrainConfig, train_word_vectors
    def config(**kw):
        base = dict(model="cbow" if case == "cbow" else "skipgram", dim=s["dim"], window=s["window"],
                    negative=s["negative"], min_count=s["min_count"], sample=s["sample"], threads=s["threads"],
                    subwords=(3, 6) if case == "subword" else None, buckets=s["buckets"], seed=s["seed"])
        return PretrainConfig(**{**base, **kw})
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as tiny:  # loads the kernels from numba's cache
        tiny.write("a b c d a b c d\n" * 50)
        tiny.flush()
        train_word_vectors(tiny.name, config(epochs=1, min_count=1), compute_loss=True)
    t = time.perf_counter()
    model = train_word_vectors(corpus, config(epochs=s["epochs"]))
    seconds = time.perf_counter() - t
    model.wv.save(out, format="word2vec-binary")
    extra = {"epoch_loss": model.stats["epoch_loss"], "vocabulary": len(model.words)}
elif lib == "gensim":
    from gensim.models import Word2Vec
    t = time.perf_counter()
    model = Word2Vec(corpus_file=corpus, vector_size=s["dim"], window=s["window"], negative=s["negative"],
                     min_count=s["min_count"], sample=s["sample"], epochs=s["epochs"], workers=s["threads"],
                     sg=0 if case == "cbow" else 1, hs=0, seed=s["seed"])
    seconds = time.perf_counter() - t
    model.wv.save_word2vec_format(out, binary=True)
    extra = {"vocabulary": len(model.wv)}
else:
    import fasttext
    t = time.perf_counter()
    model = fasttext.train_unsupervised(corpus, model="skipgram", dim=s["dim"], ws=s["window"], neg=s["negative"],
                                        minCount=s["min_count"], t=s["sample"], epoch=s["epochs"],
                                        thread=s["threads"], minn=3, maxn=6, bucket=s["buckets"], verbose=0)
    seconds = time.perf_counter() - t
    words = [w for w in model.words if w != "</s>"]
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(f"{len(words)} {model.get_dimension()}\n")
        for w in words:
            fh.write(w + " " + " ".join(f"{x:.6f}" for x in model.get_word_vector(w)) + "\n")
    extra = {"vocabulary": len(words), "fasttext": fasttext.__file__}
print(json.dumps({"seconds": seconds, **extra}))
"""


def _train(lib: str, case: str, settings: dict, out: Path, fasttext_path: str | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(settings["threads"])}
    if lib == "fasttext" and fasttext_path:
        env["PYTHONPATH"] = os.pathsep.join([fasttext_path, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, lib, case, str(CORPUS), str(out), json.dumps(settings)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{lib} {case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _quality(path: Path) -> dict[str, float]:
    from embedlayer.vectors import load_vectors
    from embedlayer.vectors.evaluation import (
        evaluate_word_analogies,
        evaluate_word_pairs,
    )

    vectors = load_vectors(path)
    return {
        "analogy": evaluate_word_analogies(vectors, WORDSIM / "questions-words.txt", restrict_vocab=30000).score,
        "ws353": evaluate_word_pairs(vectors, WORDSIM / "wordsim353.tsv").spearman[0],
        "simlex": evaluate_word_pairs(vectors, WORDSIM / "simlex999.txt").spearman[0],
    }


def _fmt_rate(words_per_s: float) -> str:
    return f"{words_per_s / 1e6:.2f}Mw/s" if words_per_s >= 1e6 else f"{words_per_s / 1e3:.0f}kw/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="skipgram,cbow,subword")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1 epoch, 1 repetition (a smoke run)")
    parser.add_argument(
        "--fasttext-path",
        default=None,
        metavar="DIR",
        help="a directory holding another build of the fasttext module (e.g. 0.9.3 built from its "
        "sdist with `pip install --target DIR`), put first on the fastText run's PYTHONPATH",
    )
    args = parser.parse_args()
    epochs = 1 if args.quick else args.epochs
    settings = {
        "dim": 100,
        "window": 5,
        "negative": 5,
        "min_count": 5,
        "sample": 1e-3,
        "epochs": epochs,
        "threads": args.threads,
        "buckets": 2_000_000,
        "seed": args.seed,
    }
    with open(CORPUS, encoding="utf-8") as fh:
        raw_words = sum(len(line.split()) for line in fh)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            anchor = "fasttext" if case == "subword" else "gensim"
            runs: dict[str, list[dict]] = {"ours": [], anchor: []}
            for rep in range(args.repeats):
                for lib in ["ours", anchor] if rep % 2 == 0 else [anchor, "ours"]:
                    out = Path(tmp) / f"{lib}-{case}-{rep}.bin"
                    result = _train(lib, case, settings, out, args.fasttext_path)
                    result["words_per_s"] = raw_words * epochs / result["seconds"]
                    result["quality"] = _quality(out)
                    runs[lib].append(result)
                    print(
                        f"{case:<9} {lib:<9} {result['seconds']:7.1f}s {_fmt_rate(result['words_per_s']):>10} "
                        + " ".join(f"{k}={v:.4f}" for k, v in result["quality"].items()),
                        flush=True,
                    )
            speed = {lib: statistics.median(r["words_per_s"] for r in rs) for lib, rs in runs.items()}
            quality = {
                lib: {k: statistics.median(r["quality"][k] for r in rs) for k in rs[0]["quality"]}
                for lib, rs in runs.items()
            }
            rows.append(
                {
                    "case": case,
                    "anchor": anchor,
                    "speed": speed,
                    "quality": quality,
                    "runs": runs,
                    "speedup": speed["ours"] / speed[anchor],
                }
            )
    print(f"corpus {CORPUS.name}: {raw_words} words, {epochs} epochs, threads {args.threads}, nproc {os.cpu_count()}")
    for r in rows:
        a = r["anchor"]
        q = ",".join(f"{k}:{r['quality']['ours'][k]:.4f}/{r['quality'][a][k]:.4f}" for k in r["quality"]["ours"])
        print(
            f"RESULT bench=pretrain case={r['case']} ours={_fmt_rate(r['speed']['ours'])} "
            f"anchor={a}:{_fmt_rate(r['speed'][a])} speedup={r['speedup']:.2f} quality={q}"
        )
    import numpy as np

    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "epochs": epochs,
        "raw_words": raw_words,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "settings": settings,
        "fasttext_path": args.fasttext_path,
    }
    out = (
        ROOT
        / "bench"
        / "results"
        / ("pretrain-quick.json" if args.quick else f"pretrain-{args.cases.replace(',', '-')}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
