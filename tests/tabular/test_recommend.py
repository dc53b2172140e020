"""Recommender: duplicates, bad ratings, joins, folds, MF/FM, top-k, save/load, entity neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError, ModelError
from embedlayer.tabular import ModelSettings, Table, TabularPipeline, read_table, split_dev
from embedlayer.tabular.export import column_vectors, entity_names
from embedlayer.tabular.recommend import Ratings, Recommender, fold_ids, join_side, prepare_ratings
from embedlayer.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest

CFG = TrainConfig(
    epochs=25, batch_size=1024, lr=1e-2, embedding_lr=1e-2, sparse_optimizer="adam", embedding_weight_decay=3e-4
)
COLS = Ratings()


def ratings(*rows: tuple[str, str, str]) -> Table:
    return Table.from_rows(["user_id", "item_id", "rating"], rows, "r.tsv")


def test_duplicates_keep_last_and_are_counted():
    table, dropped = prepare_ratings(ratings(("1", "a", "3"), ("1", "b", "4"), ("1", "a", "5")), COLS)
    assert dropped == 1
    assert table.columns["rating"].tolist() == ["4", "5"]


def test_non_numeric_rating_names_the_line(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("user_id\titem_id\trating\n1\ta\t3\n2\tb\tgood\n")
    with pytest.raises(DataError, match=r"r\.tsv:3: column 'rating' is numeric but holds 'good'"):
        prepare_ratings(read_table(path), COLS)
    with pytest.raises(DataError, match="no user column 'user'"):
        prepare_ratings(read_table(path), Ratings(user="user"))


def test_join_side_and_folds():
    side = Table.from_rows(["item_id", "genre"], [("a", "x"), ("b", "y")], "items.tsv")
    joined = join_side(ratings(("1", "a", "3"), ("2", "c", "4")), side, "item_id")
    assert joined.columns["genre"].tolist() == ["x", None]  # an item the side table lacks: missing
    folds = fold_ids(103, 5, 0)
    assert sorted(np.bincount(folds).tolist()) == [20, 20, 21, 21, 21]
    assert np.array_equal(folds, fold_ids(103, 5, 0))
    with pytest.raises(ConfigError, match="--folds 1"):
        fold_ids(10, 1, 0)


@pytest.fixture(scope="module")
def movielens(shared_data: Path) -> tuple[Table, Table]:
    folder = shared_data / "tabular"
    table, dropped = prepare_ratings(read_table(folder / "ml100k_ratings.tsv"), COLS)
    assert dropped == 0 and len(table) == 100_000
    return table, read_table(folder / "ml100k_items.tsv")


@pytest.fixture(scope="module")
def mf(movielens, one_thread) -> Recommender:
    """MF trained on every rating (about 2 s)."""
    table, _ = movielens
    rec = Recommender.build(table, COLS)
    rec.fit(*split_dev(table, 0.05, 0), CFG)
    return rec


def test_mf_fold_rmse(movielens, one_thread):
    table, _ = movielens
    folds = fold_ids(len(table), 5, 0)
    rest, held = table.select(folds != 0), table.select(folds == 0)
    rec = Recommender.build(rest, COLS)
    rec.fit(*split_dev(rest, 0.05, 0), CFG)
    assert rec.evaluate(held)["rmse"] < 0.92  # 5-fold mean measured 0.911 (bench/tabular.py)


def test_star_wars_neighbours_and_export_round_trip(mf, movielens, tmp_path):
    _, items = movielens
    names = entity_names(items, "item_id", "{movie_title} ({release_year})")
    assert names["50"] == "Star Wars (1977)"
    vectors = column_vectors(mf.pipeline, "item_id", names=names)
    near = [w for w, _ in vectors.most_similar("Star Wars (1977)", topn=10)]
    peers = {"Empire Strikes Back, The (1980)", "Return of the Jedi (1983)", "Raiders of the Lost Ark (1981)"}
    assert peers & set(near), near
    # the model's own rows, by cosine, give the same order
    cats, rows = mf.pipeline.column_vectors("item_id")
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    scores = unit @ unit[cats.index("50")]
    order = [names[cats[i]] for i in np.argsort(-scores, kind="stable") if cats[i] != "50"][:10]
    assert order == near
    # export -> file -> `vectors neighbors` reads the same neighbours
    from embedlayer.vectors import Vectors

    path = tmp_path / "items.vec"
    column_vectors(mf.pipeline, "item_id", names=names, text_keys=True).save(path, format="word2vec")
    loaded = Vectors.load(path)
    assert [w for w, _ in loaded.most_similar("Star_Wars_(1977)", topn=10)] == [w.replace(" ", "_") for w in near]


def test_top_save_load_and_unknown_user(mf, tmp_path):
    best = mf.top("196", 10)
    assert len(best) == 10 and not set(i for i, _ in best) & set(mf.seen["196"])
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
    mf.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m")
    assert again.top("196", 10) == best
    assert len(again.top("no-such-user", 3)) == 3
    TabularPipeline.load(tmp_path / "m")  # a recommender folder is a tabular model folder too


def test_fm_with_side_columns_and_other_folder(movielens, tmp_path, shared_data):
    table, items = movielens
    users = read_table(shared_data / "tabular" / "ml100k_users.tsv")
    small = join_side(join_side(table.select(np.arange(3000)), users, "user_id"), items, "item_id")
    from embedlayer.tabular import SpecOptions

    rec = Recommender.build(
        small,
        COLS,
        user_columns=("age", "occupation"),
        item_columns=("class",),
        options=SpecOptions(target="rating", multi={"class": None}),
        settings=ModelSettings(kind="fm", factors=8),
    )
    assert [c.name for c in rec.pipeline.spec.columns] == ["user_id", "item_id", "age", "occupation", "class"]
    rec.fit(small, None, TrainConfig(epochs=1, batch_size=512, sparse_optimizer="adam"))
    assert rec.evaluate(small)["rmse"] < 1.5
    assert len(rec.top("1", 5)) == 5
    rec.pipeline.save(tmp_path / "plain")  # a tabular folder without recommend.json
    with pytest.raises(ModelError, match="not of `recommend train`"):
        Recommender.load(tmp_path / "plain")
