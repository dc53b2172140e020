"""Vocab: an immutable token <-> id table built from counts, with an explicit OOV policy.

Id layout (the rows an embedding table needs, ``num_embeddings``)::

    [ specials: <pad>=0, <unk>=1, extras ... | regular tokens, count desc, ties by token | hash buckets ]
      0 .. k-1                                  k .. len(itos)-1                           len(itos) .. V-1

(V = ``num_embeddings``.)

Regular tokens are ordered by count (descending), ties broken by the token string in code point
order, so the same counts always give the same ids. ``max_size`` limits the regular tokens only
(specials and hash buckets come on top). Special tokens have count 0; a special token that also
occurs in the data (``<unk>`` in WikiText) is not added a second time.

OOV policy for tokens not in ``itos``:
- ``"unk"``: the ``<unk>`` id (needs ``unk_token``);
- ``"error"``: ``VocabError`` naming the token;
- ``"hash"``: ``len(itos) + fnv1a_32(token as UTF-8) % hash_buckets``: unseen tokens share
  ``hash_buckets`` extra rows, deterministically (the same token always lands in the same row).

Saved as human-readable JSON (``format: embedlayer.vocab``, ``version: 1``), one token a line.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeGuard

from embedlayer._io import atomic_write, check_regular_file
from embedlayer.errors import ConfigError, VocabError, where

__all__ = ["Vocab", "fnv1a_32", "OOV_POLICIES", "VOCAB_FORMAT", "VOCAB_VERSION"]

OOV_POLICIES = ("unk", "error", "hash")
VOCAB_FORMAT = "embedlayer.vocab"
VOCAB_VERSION = 1
_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a hash of ``data`` (offset basis 2166136261, prime 16777619), in [0, 2**32).

    Bytes are taken as unsigned (standard FNV-1a). Note: fastText's subword hash XORs bytes as
    *signed* chars, which differs for bytes >= 0x80; that variant belongs to the subword module.
    """
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Vocab:
    """Immutable vocabulary. Build it with ``Vocab.build`` or ``Vocab.from_counts``.

    ``itos`` lists every token by id, specials first; ``counts`` is aligned with it (specials 0).
    ``index_to_key`` / ``key_to_index`` are gensim's (and ``Vectors``') names for ``itos`` / ``stoi``.
    ``specials`` is the prefix of ``itos`` holding every special token (pad and unk included).
    Raises ``ConfigError`` when the fields are inconsistent (duplicates, pad equal to unk,
    ``oov="unk"`` without an unk token, ``oov="hash"`` without buckets, ...).
    """

    itos: tuple[str, ...]
    counts: tuple[int, ...]
    pad_token: str | None = "<pad>"
    unk_token: str | None = "<unk>"
    specials: tuple[str, ...] = ()
    oov: Literal["unk", "error", "hash"] = "unk"
    hash_buckets: int = 0
    _stoi: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "itos", tuple(self.itos))
        object.__setattr__(self, "counts", tuple(self.counts))
        object.__setattr__(self, "specials", tuple(self.specials))
        self._validate()
        stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(stoi) != len(self.itos):
            dup = next(t for t, n in Counter(self.itos).items() if n > 1)
            raise ConfigError(f"vocab has the token {dup!r} more than once (expected unique tokens)")
        object.__setattr__(self, "_stoi", MappingProxyType(stoi))

    def _validate(self) -> None:
        if not all(isinstance(t, str) for t in self.itos):
            bad = next(t for t in self.itos if not isinstance(t, str))
            raise ConfigError(f"vocab tokens must be strings, got {bad!r}")
        if len(self.counts) != len(self.itos):
            raise ConfigError(
                f"vocab has {len(self.itos)} tokens but {len(self.counts)} counts (expected one count per token)"
            )
        if not all(_is_int(c) and c >= 0 for c in self.counts):
            bad_count = next(c for c in self.counts if not (_is_int(c) and c >= 0))
            raise ConfigError(f"vocab counts must be integers >= 0, got {bad_count!r}")
        _check_specials(self.pad_token, self.unk_token, ())
        if tuple(self.itos[: len(self.specials)]) != self.specials:
            raise ConfigError(
                f"specials {list(self.specials)} must be the first tokens of itos, "
                f"found {list(self.itos[: len(self.specials)])}"
            )
        for role, tok in (("pad_token", self.pad_token), ("unk_token", self.unk_token)):
            if tok is not None and tok not in self.specials:
                raise ConfigError(f"{role} {tok!r} is not among the specials {list(self.specials)}")
        _check_oov(self.oov, self.unk_token, self.hash_buckets)

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        token_lists: Iterable[Iterable[str]],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
        extra_specials: Sequence[str] = (),
        oov: Literal["unk", "error", "hash"] = "unk",
        hash_buckets: int = 0,
    ) -> Vocab:
        """Count the tokens of ``token_lists`` (one iterable of tokens per text) and build a Vocab.

        Same options as ``from_counts``; raises ``ConfigError`` like it.
        """
        counter: Counter[str] = Counter()
        update = counter.update
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise ConfigError(
                    f"build expects one list of tokens per text, got the string {tokens[:40]!r}; tokenize it first"
                )
            update(tokens)
        return cls.from_counts(
            counter,
            min_count=min_count,
            max_size=max_size,
            pad_token=pad_token,
            unk_token=unk_token,
            extra_specials=extra_specials,
            oov=oov,
            hash_buckets=hash_buckets,
        )

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
        extra_specials: Sequence[str] = (),
        oov: Literal["unk", "error", "hash"] = "unk",
        hash_buckets: int = 0,
    ) -> Vocab:
        """Build a Vocab from ``token -> count``.

        Specials come first (``pad_token``, ``unk_token``, then ``extra_specials``; a None token
        is left out, so without a pad token ``<unk>`` is id 0). Then the tokens with
        ``count >= min_count`` by count descending, ties by token; at most ``max_size`` of them.
        Raises ``ConfigError`` on ``min_count < 1``, ``max_size < 0``, duplicate specials,
        non-string tokens or negative counts, and OOV options that do not fit together.
        """
        if not _is_int(min_count) or min_count < 1:
            raise ConfigError(f"min_count must be an integer >= 1, got {min_count!r}")
        if max_size is not None and (not _is_int(max_size) or max_size < 0):
            raise ConfigError(f"max_size must be None or an integer >= 0, got {max_size!r}")
        if isinstance(extra_specials, str):
            raise ConfigError(f"extra_specials must be a sequence of tokens, got the string {extra_specials!r}")
        extra = tuple(extra_specials)
        _check_specials(pad_token, unk_token, extra)
        _check_oov(oov, unk_token, hash_buckets)
        specials = tuple(t for t in (pad_token, unk_token) if t is not None) + extra
        special_set = set(specials)
        kept = []
        for tok, n in counts.items():
            if not isinstance(tok, str):
                raise ConfigError(f"vocab tokens must be strings, got {tok!r}")
            if not _is_int(n) or n < 0:
                raise ConfigError(f"count of {tok!r} must be an integer >= 0, got {n!r}")
            if n >= min_count and tok not in special_set:
                kept.append((tok, n))
        kept.sort(key=lambda item: (-item[1], item[0]))
        if max_size is not None:
            kept = kept[:max_size]
        itos = specials + tuple(tok for tok, _ in kept)
        freq = (0,) * len(specials) + tuple(n for _, n in kept)
        return cls(
            itos, freq, pad_token=pad_token, unk_token=unk_token, specials=specials, oov=oov, hash_buckets=hash_buckets
        )

    def extend(self, tokens: Iterable[str]) -> Vocab:
        """A new Vocab with ``tokens`` appended (count 0) after the existing ones, in the given
        order, skipping tokens already present; ids of existing tokens do not change.

        Used to let pretrained vectors cover words the training data never showed (see
        ``PipelineConfig.vectors_vocab``). Raises ConfigError for a token that is not a string.
        """
        seen = set(self._stoi)
        added = []
        for tok in tokens:
            if not isinstance(tok, str):
                raise ConfigError(f"Vocab.extend: tokens must be strings, got {tok!r}")
            if tok not in seen:
                seen.add(tok)
                added.append(tok)
        return replace(self, itos=self.itos + tuple(added), counts=self.counts + (0,) * len(added))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:8])
        more = ", ..." if len(self.itos) > 8 else ""
        buckets = f", hash_buckets={self.hash_buckets}" if self.hash_buckets else ""
        return f"Vocab({len(self.itos)} tokens: [{head}{more}], oov={self.oov!r}{buckets})"

    # ----------------------------------------------------------------------------- lookup
    def __len__(self) -> int:
        """Number of tokens in ``itos`` (hash buckets not included; see ``num_embeddings``)."""
        return len(self.itos)

    @property
    def num_embeddings(self) -> int:
        """Rows an embedding table for this vocab needs: ``len(itos) + hash_buckets``."""
        return len(self.itos) + self.hash_buckets

    @property
    def stoi(self) -> Mapping[str, int]:
        """Read-only ``token -> id`` mapping (tokens of ``itos`` only)."""
        return self._stoi

    @property
    def index_to_key(self) -> tuple[str, ...]:
        """gensim's name for ``itos`` (the same tuple), as on ``Vectors``."""
        return self.itos

    @property
    def key_to_index(self) -> Mapping[str, int]:
        """gensim's name for ``stoi`` (the same mapping), as on ``Vectors``."""
        return self._stoi

    @property
    def pad_id(self) -> int | None:
        return None if self.pad_token is None else self._stoi[self.pad_token]

    @property
    def unk_id(self) -> int | None:
        return None if self.unk_token is None else self._stoi[self.unk_token]

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        """Id of ``token`` under the OOV policy; raises ``VocabError`` under ``oov="error"``."""
        i = self._stoi.get(token)
        if i is not None:
            return i
        return self._oov_id(token)

    def _oov_id(self, token: str) -> int:
        if self.oov == "unk":
            return self._stoi[self.unk_token]  # type: ignore[index]
        if self.oov == "hash":
            return len(self.itos) + fnv1a_32(token.encode("utf-8", "surrogatepass")) % self.hash_buckets
        raise VocabError(
            f"token {token!r} is not in the vocabulary ({len(self.itos)} tokens) and oov='error' "
            f"(expected a known token; use oov='unk' or 'hash' to map unknown tokens)"
        )

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` under the OOV policy. Raises ``VocabError`` under ``oov="error"``."""
        get = self._stoi.get
        if self.oov == "unk":
            unk = self._stoi[self.unk_token]  # type: ignore[index]
            return [get(t, unk) for t in tokens]
        if not isinstance(tokens, list):
            tokens = list(tokens)
        ids = [get(t, -1) for t in tokens]
        if -1 in ids:  # rare path: map the unknown tokens one by one
            oov_id = self._oov_id
            for pos, i in enumerate(ids):
                if i == -1:
                    ids[pos] = oov_id(tokens[pos])
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``; a hash bucket id decodes to ``"<hash:B>"``.

        Raises ``VocabError`` naming an id that is not an integer in ``[0, num_embeddings)``.
        """
        itos = self.itos
        n = len(itos)
        out = []
        for i in ids:
            i = int(i) if hasattr(i, "__index__") and not isinstance(i, bool) else i
            if not _is_int(i) or not 0 <= i < n + self.hash_buckets:
                raise VocabError(
                    f"id {i!r} is out of range for this vocab (expected an integer in [0, {n + self.hash_buckets}))"
                )
            out.append(itos[i] if i < n else f"<hash:{i - n}>")
        return out

    def count(self, token: str) -> int:
        """Count of ``token`` in the data the vocab was built from (0 for specials and unknown tokens)."""
        i = self._stoi.get(token)
        return 0 if i is None else self.counts[i]

    # ----------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form written by ``save`` (also usable inside a larger JSON document)."""
        return {
            "format": VOCAB_FORMAT,
            "version": VOCAB_VERSION,
            "pad_token": self.pad_token,
            "unk_token": self.unk_token,
            "specials": list(self.specials),
            "oov": self.oov,
            "hash_buckets": self.hash_buckets,
            "tokens": [[t, c] for t, c in zip(self.itos, self.counts)],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Vocab:
        """Inverse of ``to_dict``; raises ``VocabError`` naming ``source`` and the bad field."""
        if not isinstance(data, dict):
            raise VocabError(
                f"{source}: expected a JSON object with format {VOCAB_FORMAT!r}, got {type(data).__name__}"
            )
        if data.get("format") != VOCAB_FORMAT:
            raise VocabError(f"{source}: format is {data.get('format')!r} (expected {VOCAB_FORMAT!r})")
        if data.get("version") != VOCAB_VERSION:
            raise VocabError(f"{source}: version {data.get('version')!r} is not supported (expected {VOCAB_VERSION})")
        required = ("pad_token", "unk_token", "specials", "oov", "hash_buckets", "tokens")
        missing = [k for k in required if k not in data]
        if missing:
            raise VocabError(f"{source}: missing field(s) {', '.join(missing)} (expected {', '.join(required)})")
        tokens = data["tokens"]
        if not isinstance(tokens, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in tokens
        ):
            raise VocabError(f"{source}: 'tokens' must be a list of [token, count] pairs")
        if not isinstance(data["specials"], list):
            raise VocabError(f"{source}: 'specials' must be a list of tokens, got {data['specials']!r}")
        try:
            return cls(
                tuple(p[0] for p in tokens),
                tuple(p[1] for p in tokens),
                pad_token=data["pad_token"],
                unk_token=data["unk_token"],
                specials=tuple(data["specials"]),
                oov=data["oov"],
                hash_buckets=data["hash_buckets"],
            )
        except ConfigError as exc:
            raise VocabError(f"{source}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocab as indented JSON, one ``[token, count]`` a line (atomic write)."""
        d = self.to_dict()
        tokens = d.pop("tokens")
        head = json.dumps(d, ensure_ascii=False, indent=2)[:-2]  # drop the closing "\n}"
        body = ",\n".join("    " + json.dumps(pair, ensure_ascii=False) for pair in tokens)
        with atomic_write(path) as fh:
            fh.write(f'{head},\n  "tokens": [\n{body}\n  ]\n}}\n')

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by ``save``. Raises ``VocabError`` naming the file (and line for
        invalid JSON) when it is missing, not a regular file, not JSON, or not a valid vocab."""
        p = Path(path)
        if not p.exists():
            raise VocabError(f"{p}: vocab file not found")
        check_regular_file(p, expected="a vocab file written by Vocab.save", error=VocabError)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VocabError(f"{p}: cannot read vocab file ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VocabError(
                f"{where(p, exc.lineno)}: invalid JSON ({exc.msg}); expected a vocab file written by Vocab.save"
            ) from None
        return cls.from_dict(data, source=str(p))


def _check_specials(pad_token: object, unk_token: object, extra: tuple[object, ...]) -> None:
    """Raise ``ConfigError`` unless the special tokens are strings (pad/unk may be None) and distinct."""
    for role, tok in (("pad_token", pad_token), ("unk_token", unk_token)):
        if tok is not None and (not isinstance(tok, str) or not tok):
            raise ConfigError(f"{role} must be a non-empty string or None, got {tok!r}")
    for tok in extra:
        if not isinstance(tok, str) or not tok:
            raise ConfigError(f"extra special tokens must be non-empty strings, got {tok!r}")
    if pad_token is not None and pad_token == unk_token:
        raise ConfigError(f"pad_token and unk_token are both {pad_token!r} (expected different tokens)")
    named = [t for t in (pad_token, unk_token) if t is not None] + list(extra)
    dup = next((t for t, n in Counter(named).items() if n > 1), None)
    if dup is not None:
        raise ConfigError(f"special token {dup!r} is given more than once (expected distinct specials)")


def _check_oov(oov: object, unk_token: object, hash_buckets: object) -> None:
    """Raise ``ConfigError`` unless the OOV policy, unk token and bucket count fit together."""
    if oov not in OOV_POLICIES:
        raise ConfigError(f"oov must be one of {', '.join(OOV_POLICIES)}, got {oov!r}")
    if not _is_int(hash_buckets) or hash_buckets < 0:
        raise ConfigError(f"hash_buckets must be an integer >= 0, got {hash_buckets!r}")
    if oov == "unk" and unk_token is None:
        raise ConfigError("oov='unk' needs an unk_token (got None); use oov='error' or 'hash' without one")
    if oov == "hash" and hash_buckets < 1:
        raise ConfigError(f"oov='hash' needs hash_buckets >= 1, got {hash_buckets}")
    if oov != "hash" and hash_buckets:
        raise ConfigError(
            f"hash_buckets={hash_buckets} is only used with oov='hash' (got oov={oov!r}); "
            f"set hash_buckets=0 or oov='hash'"
        )
