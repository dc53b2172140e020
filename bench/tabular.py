"""Tables and ratings: entity embeddings on Adult and MovieLens-100k against anchors run here.

* Adult (official split: adult_train.csv -> adult_test.csv): our entity-embedding MLP (the
  `tabular train` defaults) against scikit-learn's one-hot logistic regression and
  HistGradientBoostingClassifier with native categorical support, same process, same threads;
  accuracy on the official test rows and train time (median over --repeats seeds, alternated).
* MovieLens-100k 5-fold RMSE (folds from a fixed seed, as `recommend train --folds 5`): biased MF
  (the `recommend train` defaults) and an FM over users, items, age, gender, occupation, genres,
  against the user+item baseline (regularised biases, Surprise's BaselineOnly ALS: reg_i 10,
  reg_u 15, 10 sweeps) computed here; published Surprise SVD 0.934 / SVD++ 0.919 are quoted.
* Unseen categories: Adult test with 10% of the cells of every categorical column replaced by
  values training never saw, for a model with --hash-buckets 64 and for the unknown row only (both
  with --unknown-rate 0.05, the default), and for the unknown row without --unknown-rate.

    python bench/tabular.py            # everything (a few minutes on 2 cores)
    python bench/tabular.py --quick    # a smoke run (1 seed, 2 folds, fewer epochs)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from embedlayer.tabular import ModelSettings, SpecOptions, Table, TabularPipeline, read_table, split_dev
from embedlayer.tabular.recommend import Ratings, Recommender, fold_ids, join_side, prepare_ratings
from embedlayer.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tabular"
ADULT_CFG = TrainConfig(epochs=8, batch_size=512, lr=2e-3, embedding_lr=1e-2, sparse_optimizer="adam")
ML_CFG = TrainConfig(
    epochs=25, batch_size=1024, lr=1e-2, embedding_lr=1e-2, sparse_optimizer="adam", embedding_weight_decay=3e-4
)


# ------------------------------------------------------------------------------------ Adult
def ours_adult(
    train: Table, test: Table, seed: int, cfg: TrainConfig, rate: float = 0.05, **spec
) -> tuple[float, float, TabularPipeline]:
    """`tabular train`'s defaults (--unknown-rate 0.05): (test accuracy, seconds, pipeline)."""
    started = time.perf_counter()
    settings = ModelSettings(seed=seed, unknown_rate=rate)
    pipe = TabularPipeline.build(train, SpecOptions(target="income", **spec), settings)
    pipe.fit(*split_dev(train, 0.1, seed), replace(cfg, seed=seed))
    seconds = time.perf_counter() - started
    return pipe.evaluate(test)["accuracy"], seconds, pipe


def sklearn_frames(train: Table, test: Table, spec) -> tuple:
    """Ordinal codes of the categorical columns (-1 missing) and the numbers, for the anchors."""
    cats = [c for c in spec.columns if c.kind == "categorical"]
    nums = [c for c in spec.columns if c.kind == "numeric"]

    def frame(t: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes = np.stack([[c.row_of().get(v, -1) if v is not None else -1 for v in t.columns[c.name]] for c in cats], 1)
        numbers = np.stack([np.array([float(v) for v in t.columns[c.name]]) for c in nums], 1)
        y = np.array([spec.labels.index(v) for v in t.columns[spec.target]])
        return codes, numbers, y

    return frame(train), frame(test)


def anchor_adult(name: str, train_frame, test_frame) -> tuple[float, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    (ctr, ntr, ytr), (cte, nte, yte) = train_frame, test_frame
    started = time.perf_counter()
    if name == "sklearn-HistGradientBoosting":
        codes_tr, codes_te = np.where(ctr < 0, np.nan, ctr), np.where(cte < 0, np.nan, cte)
        k = ctr.shape[1]
        model = HistGradientBoostingClassifier(categorical_features=list(range(k)), random_state=0)
        model.fit(np.hstack([codes_tr, ntr]), ytr)
        acc = float((model.predict(np.hstack([codes_te, nte])) == yte).mean())
    else:
        onehot = OneHotEncoder(handle_unknown="ignore").fit(ctr)
        scale = StandardScaler().fit(ntr)
        from scipy.sparse import hstack

        x_tr = hstack([onehot.transform(ctr), scale.transform(ntr)]).tocsr()
        x_te = hstack([onehot.transform(cte), scale.transform(nte)]).tocsr()
        model = LogisticRegression(max_iter=2000).fit(x_tr, ytr)
        acc = float((model.predict(x_te) == yte).mean())
    return acc, time.perf_counter() - started


def corrupt(table: Table, columns: list[str], fraction: float, seed: int) -> Table:
    """``fraction`` of the cells of each of ``columns`` replaced by values training never saw."""
    rng = np.random.default_rng(seed)
    cols = dict(table.columns)
    for name in columns:
        values = cols[name].copy()
        hit = np.flatnonzero(rng.random(len(values)) < fraction)
        values[hit] = [f"unseen-{name}-{i}" for i in rng.integers(0, 1000, len(hit))]
        cols[name] = values
    return Table(cols, table.source + " (corrupted)", None)


def bench_adult(args, results: list[dict]) -> None:
    train, test = read_table(DATA / "adult_train.csv"), read_table(DATA / "adult_test.csv")
    cfg = replace(ADULT_CFG, epochs=3) if args.quick else ADULT_CFG
    ours, anchors = [], {"sklearn-HistGradientBoosting": [], "sklearn-onehot-LogisticRegression": []}
    spec = adult_spec(train)
    frames = sklearn_frames(train, test, spec)
    for seed in range(args.repeats):
        acc, sec, _ = ours_adult(train, test, seed, cfg)
        ours.append((acc, sec))
        for name in anchors:
            anchors[name].append(anchor_adult(name, *frames))
        print(
            f"adult seed {seed}: ours {acc:.4f} {sec:.1f}s  "
            + "  ".join(f"{n} {a[-1][0]:.4f}" for n, a in anchors.items())
        )
    acc, sec = statistics.median(a for a, _ in ours), statistics.median(s for _, s in ours)
    for name, runs in anchors.items():
        a_acc, a_sec = statistics.median(a for a, _ in runs), statistics.median(s for _, s in runs)
        results.append(
            dict(
                case="adult-binary",
                ours_s=sec,
                ours_accuracy=acc,
                anchor=name,
                anchor_s=a_sec,
                anchor_accuracy=a_acc,
                ours_runs=ours,
                anchor_runs=runs,
            )  # fmt: skip
        )
    # unseen categories: hash buckets against the unknown row only
    categorical = [c.name for c in spec.columns if c.kind == "categorical"]
    broken = corrupt(test, categorical, 0.1, 0)
    row: dict = {"case": "adult-unseen10"}
    variants = {
        "hash64": (0.05, {"hash_buckets": {"*": 64}}),
        "unknown-row": (0.05, {}),
        "unknown-row-rate0": (0.0, {}),
    }
    for label, (rate, extra) in variants.items():
        acc_clean, sec, pipe = ours_adult(train, test, 0, cfg, rate, **extra)
        row[label] = {"clean": acc_clean, "unseen10": pipe.evaluate(broken)["accuracy"], "seconds": sec}
        print(f"adult {label}: clean {acc_clean:.4f}  10% unseen {row[label]['unseen10']:.4f}")
    results.append(row)


def adult_spec(train: Table):
    from embedlayer.tabular import TableSpec

    return TableSpec.build(train, SpecOptions(target="income"))


# ------------------------------------------------------------------------------------ MovieLens
def baseline_biases(train: Table, test: Table, cols: Ratings) -> float:
    """RMSE of mu + b_u + b_i fitted by regularised alternating least squares (Surprise's BaselineOnly)."""
    users = {u: i for i, u in enumerate(np.unique(train.columns[cols.user].astype(str)))}
    items = {u: i for i, u in enumerate(np.unique(train.columns[cols.item].astype(str)))}
    u = np.array([users[x] for x in train.columns[cols.user]])
    i = np.array([items[x] for x in train.columns[cols.item]])
    r = train.columns[cols.rating].astype(float)
    mu, bu, bi = r.mean(), np.zeros(len(users)), np.zeros(len(items))
    for _ in range(10):
        bi = np.bincount(i, r - mu - bu[u], len(items)) / (10 + np.bincount(i, minlength=len(items)))
        bu = np.bincount(u, r - mu - bi[i], len(users)) / (15 + np.bincount(u, minlength=len(users)))
    tu = np.array([users.get(x, -1) for x in test.columns[cols.user]])
    ti = np.array([items.get(x, -1) for x in test.columns[cols.item]])
    pred = mu + np.where(tu >= 0, bu[tu], 0) + np.where(ti >= 0, bi[ti], 0)
    return float(np.sqrt(np.mean((pred - test.columns[cols.rating].astype(float)) ** 2)))


def bench_movielens(args, results: list[dict]) -> None:
    cols = Ratings()
    ratings, _ = prepare_ratings(read_table(DATA / "ml100k_ratings.tsv"), cols)
    ratings = join_side(ratings, read_table(DATA / "ml100k_users.tsv"), cols.user)
    ratings = join_side(ratings, read_table(DATA / "ml100k_items.tsv"), cols.item)
    n_folds = 2 if args.quick else 5
    folds = fold_ids(len(ratings), 5, 0)
    fm_options = SpecOptions(target="rating", multi={"class": None}, bins=0)
    models = {
        "mf": dict(settings=ModelSettings(kind="mf", factors=64), options=SpecOptions(target="rating", bins=0)),
        "fm": dict(
            settings=ModelSettings(kind="fm", factors=args.fm_factors),
            options=fm_options,
            user_columns=("age", "gender", "occupation"),
            item_columns=("class",),
        ),
    }
    cfg = replace(ML_CFG, epochs=3) if args.quick else ML_CFG
    for kind, build in models.items():
        cfg_kind = replace(cfg, embedding_weight_decay=args.fm_weight_decay) if kind == "fm" else cfg
        ours, anchor = [], []
        for k in range(n_folds):
            rest, held = ratings.select(folds != k), ratings.select(folds == k)
            started = time.perf_counter()
            rec = Recommender.build(rest, cols, **build)  # type: ignore[arg-type]
            rec.fit(*split_dev(rest, 0.05, 0), cfg_kind)
            sec = time.perf_counter() - started
            ours.append((rec.evaluate(held)["rmse"], sec))
            started = time.perf_counter()
            anchor.append((baseline_biases(rest, held, cols), time.perf_counter() - started))
            rmse, base = ours[-1][0], anchor[-1][0]
            print(f"ml100k {kind} fold {k + 1}/{n_folds}: RMSE {rmse:.4f} in {sec:.1f}s  baseline {base:.4f}")
        results.append(
            dict(
                case=f"ml100k-{n_folds}fold-{kind}",
                ours_s=statistics.mean(s for _, s in ours),
                ours_rmse=statistics.mean(r for r, _ in ours),
                anchor="baseline-biases",
                anchor_s=statistics.mean(s for _, s in anchor),
                anchor_rmse=statistics.mean(r for r, _ in anchor),
                folds=ours,
            )  # fmt: skip
        )


# ------------------------------------------------------------------------------------ report
def result_lines(results: list[dict], quick: bool) -> list[str]:
    tag = "-quick" if quick else ""
    lines = []
    for r in results:
        if r["case"] == "adult-unseen10":
            for case, ours_key, anchor_key, anchor in (
                ("adult-unseen10-hash64", "hash64", "unknown-row", "unknown-row-only"),
                ("adult-unseen10-unknown-rate0.05", "unknown-row", "unknown-row-rate0", "no-unknown-rate"),
            ):
                h, u = r[ours_key], r[anchor_key]
                lines.append(
                    f"RESULT bench=tabular case={case}{tag} ours={h['seconds']:.2f}s "
                    f"anchor={anchor}:{u['seconds']:.2f}s speedup={u['seconds'] / h['seconds']:.2f} "
                    f"quality=accuracy-unseen10:{h['unseen10']:.4f}/{u['unseen10']:.4f},"
                    f"accuracy-clean:{h['clean']:.4f}/{u['clean']:.4f}"
                )
            continue
        metric = "accuracy" if "ours_accuracy" in r else "rmse"
        ours, anchor = r[f"ours_{metric}"], r[f"anchor_{metric}"]
        lines.append(
            f"RESULT bench=tabular case={r['case']}{tag} ours={r['ours_s']:.2f}s "
            f"anchor={r['anchor']}:{r['anchor_s']:.2f}s speedup={r['anchor_s'] / r['ours_s']:.2f} "
            f"quality={metric}:{ours:.4f}/{anchor:.4f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="Adult: seeds (median reported)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=("adult", "movielens"), default=None)
    parser.add_argument("--fm-factors", type=int, default=64)
    parser.add_argument("--fm-weight-decay", type=float, default=3e-4, help="as recommend train")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.quick:
        args.repeats = 1
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    results: list[dict] = []
    if args.only in (None, "adult"):
        bench_adult(args, results)
    if args.only in (None, "movielens"):
        bench_movielens(args, results)
    lines = result_lines(results, args.quick)
    for line in lines:
        print(line)
    name = "tabular" + (f"-{args.only}" if args.only else "") + ("-quick" if args.quick else "")
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{name}.json"
    import sklearn

    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "published": {"surprise-SVD": 0.934, "surprise-SVD++": 0.919, "surprise-baseline": 0.944},
        "args": vars(args),
    }
    out.write_text(json.dumps({"meta": meta, "results": results, "lines": lines}, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
