"""``social``: a word tokenizer for tweets and other social-media text.

On top of the ``word`` tokenizer's rules (see ``embedlayer.text.tokenizers``), these stay one token
each: URLs (``https://t.co/AbC?x=1&y=2``, ``www.example.com/path``; trailing ``.,!?;:'")]}>…``
are left out), ``@mentions``, ``#hashtags`` (a ``#`` followed by word characters or ``_``, at
least one of them a letter), emoticons (``:)``, ``:-(``, ``;P``, ``:'(``, ``:DDD``, ``(:``,
``<3``, ``</3``, ``^_^``, ``-_-``, ``o_O``, ``T_T``, ``XD`` ...) and emoji, including skin tones,
zero-width-joiner sequences (👩‍👩‍👧), flags (🇫🇷, 🏴 with tags) and keycaps (1️⃣); two emoji side
by side are two tokens.

Also:
- ``urls="mask"`` writes every URL as the one token ``<url>`` (default ``"keep"``: each URL whole,
  as written), for data where a link's address says nothing but that there is a link.
- HTML entities are decoded first (``&amp;`` → ``&``, ``&lt;3`` → ``<3``), as tweets carry them.
- A letter repeated three or more times is cut to two (``sooooo`` → ``soo``, ``cooool`` →
  ``cool``): two, not one, because English doubles letters (``cool``, ``good``); digits,
  URLs, mentions and hashtags are left as written.
- ``split_clitics`` (default on) splits English clitics the way GloVe's and the Penn Treebank's
  tokenizers do, so they find their pretrained rows: ``don't`` → ``do n't``, ``I'm`` → ``i 'm``,
  ``google's`` → ``google 's`` (``can't`` → ``ca n't``, like them).
- ``lowercase`` (default on) folds words, mentions and hashtags; URLs, emoticons and emoji stay as
  written (``:D`` and ``:d``, ``XD`` and ``xd`` differ).
- ``split_hashtags`` also emits a hashtag's words after it: the body is cut at case changes,
  digits and underscores (``#MakeAmericaGreat2`` → ``Make America Great 2``), and each part is
  segmented into known ``words`` by dynamic programming (fewest pieces; among those, the longer
  pieces: sum of squared lengths, then the earlier split point) with pieces of at least two
  letters; a part that has no such segmentation is kept whole. Nothing is emitted when no piece
  is a known word. ``words`` is the known-word list (e.g. the pretrained vectors' words),
  compared case-insensitively; only words made of letters are kept from it.

With a word list the tokenizer's ``config()`` names a side file (``files()`` gives its bytes)
that a model folder stores beside config.json; ``SocialTokenizer.from_config`` reads it back.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from embedlayer.errors import ConfigError
from embedlayer.text._unicode import CLITIC, NUMBER, PS, WORD

__all__ = ["SocialTokenizer", "URL_TOKEN", "WORDS_FILE", "segment"]

WORDS_FILE = "hashtag_words.txt"
URL_TOKEN = "<url>"
_NOT_AFTER_WORD = rf"(?<![^\s{PS}])"  # at the start, or after whitespace or punctuation
_NOT_BEFORE_WORD = rf"(?![^\s{PS}])"
_URL = r"(?:https?://|www\.)[^\s]*[^\s.,!?;:'\")\]}>\u2026]"
_NAME = rf"(?:[^\s{PS}]|_)"
_MENTION = rf"{_NOT_AFTER_WORD}@{_NAME}+"
_HASHTAG = rf"{_NOT_AFTER_WORD}#{_NAME}*?[^\W\d_]{_NAME}*"
_EMOJI_BASE = "[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]"
_EMOJI_MOD = "(?:[\U0001f3fb-\U0001f3ff]|\ufe0f|[\U000e0020-\U000e007f])"
_EMOJI = (
    f"[\U0001f1e6-\U0001f1ff]{{2}}|[0-9#*]\ufe0f?\u20e3|{_EMOJI_BASE}{_EMOJI_MOD}*(?:\u200d{_EMOJI_BASE}{_EMOJI_MOD}*)*"
)
_EMOTICON = (
    # eyes, nose, mouth: :) :-( ;P :'( :DDD =] :/ :3 <:-) ...
    rf"(?<!\d)[<>}}\]]?[:;=][-^'\u2019]?(?:\)+|\(+|\]+|\[+|D+|[pPoO/\\|*$@3{{}}]){_NOT_BEFORE_WORD}"
    # mouth, nose, eyes: (: D: ):
    rf"|{_NOT_AFTER_WORD}(?:\(+|\)+|D|[/\\])[-^'\u2019]?[:;=]{_NOT_BEFORE_WORD}"
    r"|</?3+"
    # faces: ^_^ ^^ -_- o_O T_T ;_; >_< o.O XD
    rf"|{_NOT_AFTER_WORD}(?:\^_*\^|-_+-|[oO0]_+[oO0]|[tT]_+[tT]|;_+;|>_+<|[oO]\.[oO]|[xX]D+|xd+){_NOT_BEFORE_WORD}"
)
_SPECIAL = rf"{_URL}|{_EMOJI}|{_MENTION}|{_HASHTAG}|{_EMOTICON}"
# a run of punctuation stops where an emoticon, emoji, mention or hashtag begins
_PUNCT = rf"(?:(?!{_SPECIAL})[{PS}])+"
_TOKEN_RE = re.compile(
    rf"(?P<url>{_URL})|(?P<emoji>{_EMOJI})|(?P<mention>{_MENTION})|(?P<hashtag>{_HASHTAG})"
    rf"|(?P<emoticon>{_EMOTICON})|(?P<word>{NUMBER}|{CLITIC}|{WORD})|(?P<punct>{_PUNCT})"
)
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_CLITIC_END = re.compile(r"^(.+?)(n['\u2019]t|['\u2019](?:s|re|ve|ll|d|m))$", re.IGNORECASE)
_PART = re.compile(r"\d+|[^\W\d_]+")
_MAX_WORD = 30  # longest piece the segmentation tries


def _case_parts(body: str) -> list[str]:
    """Cut a hashtag body at underscores, letter/digit changes and case changes
    (``USAirways2015`` → ``US``, ``Airways``, ``2015``; ``MakeAmericaGreat`` → three parts)."""
    parts = []
    for run in _PART.findall(body):
        start = 0
        for i in range(1, len(run)):
            a, b = run[i - 1], run[i]
            next_lower = i + 1 < len(run) and run[i + 1].islower()
            if b.isupper() and (a.islower() or (a.isupper() and next_lower)):
                parts.append(run[start:i])
                start = i
        parts.append(run[start:])
    return parts


def segment(text: str, words: frozenset[str] | set[str], max_word: int = _MAX_WORD) -> list[str] | None:
    """``text`` (lowercase letters) cut into the fewest known ``words`` of >= 2 letters (ties: the
    larger sum of squared lengths, then the earlier split), or None when no cut exists.

    >>> segment("makeamericagreat", {"make", "america", "great", "am", "erica"})
    ['make', 'america', 'great']
    """
    n = len(text)
    best: list[tuple[int, int] | None] = [None] * (n + 1)  # (pieces, -sum of squared lengths)
    back = [0] * (n + 1)
    best[0] = (0, 0)
    for end in range(2, n + 1):
        for start in range(max(0, end - max_word), end - 1):
            prev = best[start]
            if prev is None or text[start:end] not in words:
                continue
            cost = (prev[0] + 1, prev[1] - (end - start) ** 2)
            current = best[end]
            if current is None or cost < current:
                best[end], back[end] = cost, start
    if best[n] is None:
        return None
    pieces, end = [], n
    while end > 0:
        pieces.append(text[back[end] : end])
        end = back[end]
    return pieces[::-1]


@dataclass(frozen=True)
class SocialTokenizer:
    """Tokenizer for tweets (see the module docstring for every rule).

    >>> SocialTokenizer().tokenize("@united sooo late :( #fail http://t.co/x1")
    ['@united', 'soo', 'late', ':(', '#fail', 'http://t.co/x1']

    Raises ``ConfigError`` when an option has the wrong type or ``split_hashtags`` has no words.
    """

    lowercase: bool = True
    split_hashtags: bool = False
    split_clitics: bool = True
    words: frozenset[str] = frozenset()
    urls: Literal["keep", "mask"] = "keep"
    name = "social"  # class attribute, not a field
    _cache: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in ("lowercase", "split_hashtags", "split_clitics"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"social tokenizer: {key} must be true or false, got {getattr(self, key)!r}")
        if self.urls not in ("keep", "mask"):
            raise ConfigError(f"social tokenizer: urls must be 'keep' or 'mask', got {self.urls!r}")
        if isinstance(self.words, str) or not isinstance(self.words, Iterable):
            raise ConfigError(f"social tokenizer: words must be a collection of words, got {self.words!r}")
        known = frozenset(w.lower() for w in self.words if isinstance(w, str) and w.isalpha())
        object.__setattr__(self, "words", known)
        if self.split_hashtags and not known:
            raise ConfigError(
                "social tokenizer: split_hashtags=True needs words (the known words to find in hashtags, "
                "e.g. the pretrained vectors' words); got none"
            )

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` (see the module docstring)."""
        if "&" in text:
            text = html.unescape(text)
        out: list[str] = []
        lower = self.lowercase
        for match in _TOKEN_RE.finditer(text):
            kind, token = match.lastgroup, match.group()
            if kind == "word":
                token = _ELONGATED.sub(r"\1\1", token)
                if lower:
                    token = token.lower()
                split = self.split_clitics and ("'" in token or "\u2019" in token)
                clitic = _CLITIC_END.match(token) if split else None
                if clitic is not None:
                    out.append(clitic.group(1))
                    out.append(clitic.group(2).replace("\u2019", "'"))
                else:
                    out.append(token)
            elif kind == "url" and self.urls == "mask":
                out.append(URL_TOKEN)
            elif kind in ("mention", "hashtag"):
                out.append(token.lower() if lower else token)
                if kind == "hashtag" and self.split_hashtags:
                    out.extend(self.hashtag_words(token[1:]))
            else:
                out.append(token)
        return out

    def hashtag_words(self, body: str) -> list[str]:
        """The words found in a hashtag's ``body`` (without ``#``); [] when none is known."""
        cached = self._cache.get(body)
        if cached is not None:
            return cached
        pieces: list[str] = []
        known = 0
        for part in _case_parts(body):
            low = part.lower()
            cut = None if part.isdigit() else segment(low, self.words)
            if cut is None:
                pieces.append(low if self.lowercase else part)
                continue
            known += len(cut)
            if self.lowercase:
                pieces.extend(cut)
            else:  # the pieces in the hashtag's own case
                at = 0
                for piece in cut:
                    pieces.append(part[at : at + len(piece)])
                    at += len(piece)
        result = pieces if known else []
        if len(self._cache) < 100_000:
            self._cache[body] = result
        return result

    # ------------------------------------------------------------------ config and files
    def words_bytes(self) -> bytes:
        """The known words, sorted, one a line, UTF-8 (the side file of a saved model)."""
        return "".join(w + "\n" for w in sorted(self.words)).encode("utf-8")

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "lowercase": self.lowercase,
            "split_hashtags": self.split_hashtags,
            "split_clitics": self.split_clitics,
            "urls": self.urls,
        }
        if self.words:
            out["words_file"] = WORDS_FILE
            out["words_sha256"] = hashlib.sha256(self.words_bytes()).hexdigest()
        return out

    def files(self) -> dict[str, bytes]:
        """Side files a model folder keeps beside config.json: the word list, when there is one."""
        return {WORDS_FILE: self.words_bytes()} if self.words else {}

    @classmethod
    def from_config(cls, config: dict[str, Any], directory: str | os.PathLike[str] | None = None) -> SocialTokenizer:
        """Inverse of ``config()``; the word list is read from ``directory`` and checked against
        its recorded SHA-256. Raises ``ConfigError`` naming what is missing or different."""
        options = {k: v for k, v in config.items() if k not in ("name", "words_file", "words_sha256")}
        unknown = sorted(set(options) - {"lowercase", "split_hashtags", "split_clitics", "urls"})
        if unknown:
            raise ConfigError(
                f"tokenizer 'social' has no option {', '.join(map(repr, unknown))}; "
                "its options: lowercase, split_hashtags, split_clitics, words, urls"
            )
        name = config.get("words_file")
        if name is None:
            return cls(**options)
        if name != WORDS_FILE or directory is None:
            where = "no folder given" if directory is None else f"expected {WORDS_FILE!r}"
            raise ConfigError(f"social tokenizer: words_file {name!r} cannot be read ({where})")
        path = Path(directory) / WORDS_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: the social tokenizer's word list cannot be read ({exc.strerror})") from None
        if hashlib.sha256(data).hexdigest() != config.get("words_sha256"):
            raise ConfigError(f"{path}: does not match the words_sha256 its config recorded (another word list)")
        return cls(**options, words=frozenset(data.decode("utf-8").split("\n")) - {""})
