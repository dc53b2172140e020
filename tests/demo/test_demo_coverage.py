"""The demo's tokenizer coverage: exact counts on a constructed table, and the report's table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.demo.coverage import coverage_before_after, demo_tokenizer, tokenizer_coverage
from embedlayer.demo.report import coverage_table
from embedlayer.demo.run import DemoConfig
from embedlayer.errors import ConfigError
from embedlayer.text import SocialTokenizer, WordTokenizer
from embedlayer.vectors import Vectors

WORDS = ["i", "love", "it", "'s", "great", "@", "#", "http", "://", "t.co", "/", "Sooo"]
GLOVE = Vectors(WORDS, np.zeros((len(WORDS), 2), np.float32))
TEXTS = ["I love it's great @united #Great http://t.co/x soooo :)", "great :)"]


def test_word_tokenizer_coverage_counts() -> None:
    # i love it's great @ united # great http :// t . co / x soooo :)  +  great :)
    cov = tokenizer_coverage(WordTokenizer(), TEXTS, GLOVE)
    assert (cov["types"], cov["types_covered"], cov["tokens"], cov["tokens_covered"]) == (16, 8, 19, 10)
    assert cov["type_coverage"] == 0.5 and cov["token_coverage"] == round(10 / 19, 6)
    assert cov["whole_types"] == 0 and cov["missing_examples"][0] == ":)"  # the most frequent missing


def test_social_tokenizer_coverage_counts() -> None:
    # i love it 's great @united #great <url> soo :)  +  great :)   ("soo" is no "sooo": not covered)
    cov = tokenizer_coverage(SocialTokenizer(urls="mask"), TEXTS, GLOVE)
    assert (cov["types"], cov["types_covered"], cov["tokens"], cov["tokens_covered"]) == (10, 5, 12, 6)
    assert (cov["whole_types"], cov["whole_tokens"]) == (3, 3)  # @united, #great, <url>
    assert cov["other_type_coverage"] == round(5 / 7, 6) and cov["other_token_coverage"] == round(6 / 9, 6)
    assert cov["missing_examples"] == [":)", "#great", "<url>", "@united", "soo"]


def test_coverage_table_and_demo_tokenizer() -> None:
    tok = demo_tokenizer(GLOVE, 5)  # hashtag words from the first 5 GloVe words
    assert tok.tokenize("#LoveIt http://t.co/a") == ["#loveit", "love", "it", "<url>"]
    report = {"tokenizer": {"coverage": coverage_before_after(tok, TEXTS, GLOVE)}}
    lines = coverage_table(report).splitlines()
    assert len(lines) == 4
    assert lines[2] == "| before: word | 16 | 50.0% | 19 | 52.6% | 0 types, 0 tokens | 50.0%, 52.6% |"
    # the hashtag's word "great" is one more covered token
    assert lines[3] == "| after: social | 10 | 50.0% | 13 | 53.8% | 3 types, 3 tokens | 71.4%, 70.0% |"
    with pytest.raises(ConfigError, match="tokenizer 'bpe': expected social or word"):
        DemoConfig(out=Path("x"), tokenizer="bpe")
