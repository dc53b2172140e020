"""The social-media tokenizer: golden tokenizations, hashtag segmentation, config and side file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedlayer.errors import ConfigError
from embedlayer.text import TOKENIZER_NAMES, get_tokenizer, tokenizer_from_config
from embedlayer.text.social import WORDS_FILE, SocialTokenizer, segment
from embedlayer.text.tokenizers import tokenizer_files


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # URLs with query strings and fragments stay whole; trailing sentence punctuation does not belong
        (
            "Read https://example.com/a/b?x=1&y=two#frag, then www.site.org/p?q=%20z.",
            ["read", "https://example.com/a/b?x=1&y=two#frag", ",", "then", "www.site.org/p?q=%20z", "."],
        ),
        ("(see http://t.co/AbC9xYz)…", ["(", "see", "http://t.co/AbC9xYz", ")…"]),
        # mentions, also after punctuation; an e-mail address is not a mention
        (
            'RT @Jet_Blue: ok ."@user2 hi me@x.com',
            ["rt", "@jet_blue", ":", "ok", '."', "@user2", "hi", "me", "@", "x", ".", "com"],
        ),
        # hashtags need a letter; '#1' is punctuation and a number
        ("#MakeAmericaGreat #1 #coachella2015", ["#makeamericagreat", "#", "1", "#coachella2015"]),
        # emoticons, western and reversed, hearts and faces; ':D' keeps its case
        (
            "so :) and :-( ;P :'( :DDD (: <3 </3 ^_^ -_- o_O XD :/",
            ["so", ":)", "and", ":-(", ";P", ":'(", ":DDD", "(:", "<3", "</3", "^_^", "-_-", "o_O", "XD", ":/"],
        ),
        ("great!!:) ok", ["great", "!!", ":)", "ok"]),
        ("at 10:30 (LA)", ["at", "10", ":", "30", "(", "la", ")"]),  # times are no emoticons
        # emoji: one token per emoji, with skin tones, ZWJ sequences, flags, keycaps
        (
            "yes😀😀 👍🏽 👩\u200d👩\u200d👧 🇫🇷🇩🇪 1\ufe0f\u20e3 ❤\ufe0f",
            ["yes", "😀", "😀", "👍🏽", "👩\u200d👩\u200d👧", "🇫🇷", "🇩🇪", "1\ufe0f\u20e3", "❤\ufe0f"],
        ),
        # elongations cut to two letters; digits untouched; HTML entities decoded
        ("Sooooo goooood!!! 10000 &amp; &lt;3", ["soo", "good", "!!!", "10000", "&", "<3"]),
        # clitics split the way GloVe's tokenizer did
        ("I'm sure you don’t, can't won't", ["i", "'m", "sure", "you", "do", "n't", ",", "ca", "n't", "wo", "n't"]),
    ],
)
def test_golden_tokenizations(text: str, expected: list[str]) -> None:
    assert SocialTokenizer().tokenize(text) == expected


def test_case_clitics_and_url_mask_options() -> None:
    text = "I'm @United's fan: https://t.co/Q1 #GoTeam"
    tok = SocialTokenizer(lowercase=False, split_clitics=False, urls="mask")
    assert tok.tokenize(text) == ["I'm", "@United", "'s", "fan", ":", "<url>", "#GoTeam"]
    assert SocialTokenizer().tokenize(text) == ["i", "'m", "@united", "'s", "fan", ":", "https://t.co/Q1", "#goteam"]


WORDS = {"make", "america", "great", "again", "am", "erica", "me", "deflate", "gate", "super", "bowl", "Coachella"}


def test_hashtag_split_finds_known_words() -> None:
    tok = SocialTokenizer(split_hashtags=True, words=WORDS)
    assert tok.tokenize("#MakeAmericaGreat now") == ["#makeamericagreat", "make", "america", "great", "now"]
    # without case boundaries the segmentation finds the same words (fewest pieces: not am+erica)
    assert tok.tokenize("#makeamericagreatagain") == ["#makeamericagreatagain", "make", "america", "great", "again"]
    assert tok.tokenize("#Coachella2015") == ["#coachella2015", "coachella", "2015"]
    # a part without a known segmentation is kept whole beside the known ones
    assert tok.tokenize("#DeflateGateXyz") == ["#deflategatexyz", "deflate", "gate", "xyz"]
    # no known word at all: only the hashtag
    assert tok.tokenize("#zzqx #USAir") == ["#zzqx", "#usair"]
    # case kept when lowercase=False
    upper = SocialTokenizer(lowercase=False, split_hashtags=True, words=WORDS)
    assert upper.tokenize("#SuperBowl") == ["#SuperBowl", "Super", "Bowl"]


def test_segment_prefers_fewer_longer_words() -> None:
    words = {"make", "america", "am", "erica", "ma", "ke"}
    assert segment("makeamerica", words) == ["make", "america"]
    assert segment("abc", words) is None
    # same number of pieces: the longer pieces win (sum of squared lengths), then the earlier split
    assert segment("abcdef", {"abc", "def", "abcd", "ef"}) == ["abcd", "ef"]
    assert segment("abcdef", {"abcd", "ef", "ab", "cdef", "abc", "def"}) == ["ab", "cdef"]
    assert segment("aaaa", {"a", "aa"}) == ["aa", "aa"]  # single letters are never pieces


def test_registered_and_config_round_trip(tmp_path: Path) -> None:
    assert "social" in TOKENIZER_NAMES
    assert get_tokenizer("social", lowercase=False) == SocialTokenizer(lowercase=False)
    plain = SocialTokenizer(urls="mask")
    assert tokenizer_from_config(json.loads(json.dumps(plain.config()))) == plain
    assert tokenizer_files(plain) == {}
    with_words = SocialTokenizer(split_hashtags=True, words=WORDS)
    files = tokenizer_files(with_words)
    assert list(files) == [WORDS_FILE]
    (tmp_path / WORDS_FILE).write_bytes(files[WORDS_FILE])
    back = tokenizer_from_config(json.loads(json.dumps(with_words.config())), tmp_path)
    assert back == with_words and back.tokenize("#SuperBowl") == ["#superbowl", "super", "bowl"]
    (tmp_path / WORDS_FILE).write_bytes(b"other\n")
    with pytest.raises(ConfigError, match="does not match"):
        tokenizer_from_config(with_words.config(), tmp_path)
    with pytest.raises(ConfigError, match="no folder"):
        tokenizer_from_config(with_words.config())


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="split_hashtags=True needs words"):
        SocialTokenizer(split_hashtags=True)
    with pytest.raises(ConfigError, match="urls must be 'keep' or 'mask', got 'drop'"):
        SocialTokenizer(urls="drop")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lowercase must be true or false"):
        SocialTokenizer(lowercase="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="has no option 'punctuation'"):
        get_tokenizer("social", punctuation="drop")
