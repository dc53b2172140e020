"""Text input: tokenizers (str -> list of tokens) and streaming readers of labeled text files."""

from embedlayer.text.readers import (
    DecodeReport,
    Example,
    detect_format,
    detect_table_format,
    read_examples,
    read_lines,
)
from embedlayer.text.tokenizers import (
    TOKENIZER_NAMES,
    ByteTokenizer,
    CharTokenizer,
    SocialTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    tokenizer_from_config,
)

__all__ = [
    "TOKENIZER_NAMES",
    "ByteTokenizer",
    "CharTokenizer",
    "DecodeReport",
    "Example",
    "SocialTokenizer",
    "Tokenizer",
    "WhitespaceTokenizer",
    "WordTokenizer",
    "detect_format",  # the older name of detect_table_format
    "detect_table_format",
    "get_tokenizer",
    "read_examples",
    "read_lines",
    "tokenizer_from_config",
]
