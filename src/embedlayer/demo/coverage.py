"""The demo's tokenizer and how much of its training text GloVe covers with it, before (the ``word``
tokenizer) and after (the ``social`` tokenizer).

A token is covered when GloVe has it as written or lowercased (the rule of
``embedlayer.layers.CoverageReport``). Types are the distinct tokens of the training split, tokens
their occurrences. The social tokenizer keeps URLs, @mentions and #hashtags whole: no word table
has those, so they are counted apart (``whole``) as well as in the totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from embedlayer.text import SocialTokenizer, Tokenizer, WordTokenizer
from embedlayer.text.social import URL_TOKEN
from embedlayer.vectors import Vectors

__all__ = ["demo_tokenizer", "tokenizer_coverage", "coverage_before_after"]


def demo_tokenizer(glove: Vectors, words: int) -> SocialTokenizer:
    """The social tokenizer of the demo: hashtags also give their words, found among GloVe's ``words``
    most frequent words; URLs become ``<url>`` (a t.co link's address is a random id)."""
    return SocialTokenizer(split_hashtags=True, words=frozenset(glove.index_to_key[:words]), urls="mask")


def _whole(token: str) -> bool:
    """A URL, @mention or #hashtag the social tokenizer kept whole (no word table has them)."""
    if token == URL_TOKEN or token.startswith(("http://", "https://", "www.")):
        return True
    return token[:1] in ("@", "#") and any(c.isalnum() for c in token[1:])


def tokenizer_coverage(tokenizer: Tokenizer, texts: Iterable[str], glove: Vectors) -> dict[str, Any]:
    """Types and tokens of ``texts`` under ``tokenizer``, and the fractions GloVe covers."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenizer.tokenize(text))
    keys = glove.key_to_index
    found = {t: (t in keys or t.lower() in keys) for t in counts}
    tokens = sum(counts.values())
    covered_tokens = sum(n for t, n in counts.items() if found[t])
    missing = sorted((t for t in counts if not found[t]), key=lambda t: (-counts[t], t))
    whole = [t for t in counts if _whole(t)]
    whole_tokens = sum(counts[t] for t in whole)
    words_covered = sum(found[t] for t in counts if t not in whole)  # a whole one is never in GloVe
    return {
        "tokenizer": tokenizer.config().get("name"),
        "types": len(counts),
        "types_covered": sum(found.values()),
        "type_coverage": round(sum(found.values()) / len(counts), 6) if counts else 0.0,
        "tokens": tokens,
        "tokens_covered": covered_tokens,
        "token_coverage": round(covered_tokens / tokens, 6) if tokens else 0.0,
        "whole_types": len(whole),  # URLs, @mentions, #hashtags kept whole
        "whole_tokens": whole_tokens,
        # the same fractions over the other tokens (words, numbers, punctuation, emoji, emoticons)
        "other_type_coverage": round(words_covered / (len(counts) - len(whole)), 6)
        if len(counts) > len(whole)
        else 0.0,
        "other_token_coverage": (
            round(sum(n for t, n in counts.items() if found[t] and t not in whole) / (tokens - whole_tokens), 6)
            if tokens > whole_tokens
            else 0.0
        ),
        "missing_examples": missing[:10],
    }


def coverage_before_after(tokenizer: Tokenizer, texts: Sequence[str], glove: Vectors) -> dict[str, Any]:
    """``{"before": word tokenizer's coverage, "after": ``tokenizer``'s}`` on the same texts."""
    return {
        "before": tokenizer_coverage(WordTokenizer(), texts, glove),
        "after": tokenizer_coverage(tokenizer, texts, glove),
    }
