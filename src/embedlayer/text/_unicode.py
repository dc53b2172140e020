"""Regular-expression pieces over Unicode text shared by the word and social tokenizers."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["PS", "WORD_CHAR", "PUNCT_RUN", "JOIN", "NUMBER", "CLITIC", "WORD"]


def _punct_symbol_class() -> str:
    """A regex character class body with the punctuation (P*) and symbol (S*) code points.

    Python's ``re`` has no ``\\p{P}``, and ``\\w`` misses combining marks (Devanagari vowel
    signs, Arabic harakat), so a word character is defined as the complement: neither
    whitespace nor punctuation/symbol. The class is exact for the BMP (built from
    ``unicodedata`` at import, ~15 ms; ``re`` matches it with a bitmap), plus the emoji and
    pictograph blocks U+1F000-U+1FAFF as one range, the emoji presentation selector U+FE0F,
    the keycap mark U+20E3 and the zero-width joiner U+200D, so that emoji sequences stay one
    symbol run. Per-code-point ranges above the BMP would make matching ~5x slower.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if unicodedata.category(chr(cp))[0] in "PS" or cp in (0x200D, 0x20E3, 0xFE0F):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    ranges.append((0x1F000, 0x1FAFF))
    parts = []
    for lo, hi in ranges:
        parts.append(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
    return "".join(parts)


PS = _punct_symbol_class()
WORD_CHAR = rf"[^\s{PS}]"
PUNCT_RUN = rf"[{PS}]+"
# Inner joiners: ASCII and typographic apostrophes, ASCII hyphen and U+2010 hyphen.
JOIN = "['\u2019\\-\u2010]"
NUMBER = r"\d+(?:[.,]\d+)+"
CLITIC = r"['\u2019](?:s|re|ve|ll|d|m|t|S|RE|VE|LL|D|M|T)(?![^\s" + PS + r"])"
WORD = rf"{WORD_CHAR}+(?:{JOIN}{WORD_CHAR}+)*"
