"""The top-level API: the core names on ``import embedlayer as el``, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import embedlayer as el

CORE = [
    "load_vectors",
    "Vectors",
    "Vocab",
    "get_tokenizer",
    "Embedding",
    "EmbeddingBag",
    "train_word_vectors",
    "PretrainConfig",
    "TextClassificationPipeline",
    "TabularPipeline",
    "Recommender",
    "read_table",
    "EmbedLayerError",
    "ConfigError",
    "FormatError",
]


@pytest.mark.parametrize("name", CORE)
def test_core_names_are_the_library_objects(name: str) -> None:
    from embedlayer import layers, pretrain, tabular, tasks, text, vectors, vocab

    value = getattr(el, name)
    packages = (layers, pretrain, tabular, tasks, text, vectors, vocab, el.errors)
    homes = [m for m in packages if name in getattr(m, "__all__", [])]
    assert homes, f"{name} has no home package"
    assert all(getattr(m, name) is value for m in homes)
    assert name in el.__all__ and name in dir(el)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="'embedlayer' has no attribute 'Embeding'"):
        el.Embeding  # noqa: B018


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "code",
    [
        "import embedlayer",
        "import embedlayer.layers, embedlayer.models, embedlayer.train, embedlayer.pretrain, embedlayer.sparse",
        "from embedlayer.models.config import EncoderConfig; from embedlayer.train.config import TrainConfig",
        "from embedlayer.cli.main import build_parser; build_parser()",
    ],
)
def test_imports_stay_light(code: str) -> None:
    """Packages, configs and the CLI's parser load neither torch nor numba until a name needs them."""
    loaded = _modules_after(code)
    assert not {"torch", "numba"} & loaded


def test_a_lazy_name_loads_its_module() -> None:
    loaded = _modules_after("import embedlayer as el\nel.Embedding")
    assert "torch" in loaded and "embedlayer.layers.embedding" in loaded


@pytest.mark.parametrize(
    "old, new",
    [
        ("embedlayer.sparse.kernels", "embedlayer.kernels.updates"),
        ("embedlayer.sparse.threads", "embedlayer.kernels.threads"),
        ("embedlayer.sparse.autograd", "embedlayer.kernels.fused_lookup"),
    ],
)
def test_moved_modules_import_with_a_warning_naming_the_new_home(old: str, new: str) -> None:
    code = (
        f"import importlib, warnings\nwarnings.simplefilter('error')\n"
        f"try:\n    importlib.import_module({old!r})\nexcept DeprecationWarning as w:\n    print(w)\n"
        f"warnings.simplefilter('ignore')\nm = importlib.import_module({old!r})\n"
        f"print(m is importlib.import_module({new!r}), m.__spec__.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == f"{old} moved to {new}; import it from there"
    assert out[1] == f"True {new}"
