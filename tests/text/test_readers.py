from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.text import DecodeReport, Example, detect_format, detect_table_format, read_examples, read_lines


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- read_lines / decoding
def test_read_lines_numbers_and_newlines(tmp_path: Path) -> None:
    p = write(tmp_path / "a.txt", "\ufeffone\r\ntwo\n\nthree")
    assert list(read_lines(p)) == [(1, "one"), (2, "two"), (3, ""), (4, "three")]


def test_read_lines_streams(tmp_path: Path) -> None:
    p = write(tmp_path / "a.txt", b"x\n" * 10 + b"\xff\xfe\n")
    it = read_lines(p, errors="strict")
    assert list(itertools.islice(it, 10)) == [(i, "x") for i in range(1, 11)]  # nothing read past line 10 yet
    with pytest.raises(DataError, match=r"a\.txt:11: invalid UTF-8 byte 0xff"):
        next(it)


def test_replace_counts_lines_and_bytes(tmp_path: Path) -> None:
    # latin-1 "café" (1 bad byte), "naïve" + "résumé" (3 bad bytes), invalid 3-byte lead + ascii
    raw = b"ok\ncaf\xe9\nna\xefve r\xe9sum\xe9\nfine\n\xe2\x82x\n"
    p = write(tmp_path / "l1.txt", raw)
    report = DecodeReport()
    lines = list(read_lines(p, report=report))
    expected = [text for text in raw.decode("utf-8", "replace").split("\n")[:-1]]
    assert [t for _, t in lines] == expected
    assert lines[1] == (2, "caf\ufffd")
    assert report.lines_replaced == 3
    assert report.bytes_replaced == 1 + 3 + 2
    assert report.first_lines == [2, 3, 5]
    assert "3 lines had 6 invalid UTF-8 bytes" in report.summary()


def test_first_lines_keeps_five(tmp_path: Path) -> None:
    p = write(tmp_path / "many.txt", b"\x80\n" * 9)
    report = DecodeReport()
    assert len(list(read_examples(p, format="txt", report=report, allow_empty_text=True))) == 9
    assert (report.lines_replaced, report.bytes_replaced, report.first_lines) == (9, 9, [1, 2, 3, 4, 5])


def test_strict_names_file_line_byte(tmp_path: Path) -> None:
    p = write(tmp_path / "t.tsv", b"text\tlabel\ngood\t1\ncaf\xe9 bar\t0\n")
    with pytest.raises(DataError, match=r"t\.tsv:3: invalid UTF-8 byte 0xe9 at byte 4"):
        list(read_examples(p, errors="strict"))


# --------------------------------------------------------------------------- formats
def test_tsv_with_header_by_name(tmp_path: Path) -> None:
    p = write(tmp_path / "d.tsv", 'label\tsentence\n1\tgood film \n0\tbad, "quoted" film\n\n')
    assert list(read_examples(p, text_col="sentence")) == [
        Example("good film ", "1", 2),
        Example('bad, "quoted" film', "0", 3),
    ]


def test_tsv_without_header_by_index(tmp_path: Path) -> None:
    p = write(tmp_path / "d.tsv", "a text\tWorld\nanother\tSports \n")
    assert list(read_examples(p, text_col=0, label_col=1)) == [
        Example("a text", "World", 1),
        Example("another", "Sports", 2),
    ]
    # header=True with indices skips row 1
    assert list(read_examples(p, text_col=0, label_col=1, header=True)) == [Example("another", "Sports", 2)]


def test_csv_quoted_fields_and_multiline(tmp_path: Path) -> None:
    p = write(
        tmp_path / "d.csv",
        'sentiment,confidence,text\npositive,0.9,"Hello, ""world"""\nnegative,0.5,"two\nlines"\nneutral,1,plain\n',
    )
    got = list(read_examples(p, label_col="sentiment"))
    assert got == [
        Example('Hello, "world"', "positive", 2),
        Example("two\nlines", "negative", 3),
        Example("plain", "neutral", 5),
    ]


def test_csv_with_invalid_bytes_like_tweets(tmp_path: Path) -> None:
    raw = (
        b"sentiment,confidence,text\n"
        b"negative,0.75,I just don't trust #driverless cars_\x89\xdb_.no thank you\n"
        b'positive,1,"self-driving, finally"\n'
    )
    p = write(tmp_path / "tweets.csv", raw)
    report = DecodeReport()
    got = list(read_examples(p, label_col="sentiment", report=report))
    assert got == [
        Example("I just don't trust #driverless cars_\ufffd\ufffd_.no thank you", "negative", 2),
        Example("self-driving, finally", "positive", 3),
    ]
    assert (report.lines_replaced, report.bytes_replaced, report.first_lines) == (1, 2, [2])


def test_jsonl_keys_and_int_labels(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", '{"text": "a", "label": 1}\n\n{"label": "pos", "text": "b", "x": 0}\n')
    assert list(read_examples(p)) == [Example("a", "1", 1), Example("b", "pos", 3)]
    assert [e.label for e in read_examples(p, label_col=None)] == [None, None]


def test_txt_and_fixed_label(tmp_path: Path) -> None:
    p = write(tmp_path / "d.neg", "first line\n\nsecond line\n")
    assert detect_table_format(p) == "txt"
    assert list(read_examples(p, fixed_label="neg")) == [
        Example("first line", "neg", 1),
        Example("second line", "neg", 3),
    ]


def test_detect_table_format_by_content(tmp_path: Path) -> None:
    assert detect_table_format(write(tmp_path / "a.dat", '{"text": "x"}\n')) == "jsonl"
    assert detect_table_format(write(tmp_path / "b.dat", "x\t1\n")) == "tsv"
    assert detect_table_format(write(tmp_path / "c.dat", 'a,b\n1,"x,y"\n')) == "csv"
    assert detect_table_format(write(tmp_path / "d.dat", "well , it is\nfine\n")) == "txt"
    assert detect_format is detect_table_format  # the older name keeps working


# --------------------------------------------------------------------------- errors
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.tsv: file not found"):
        read_examples(tmp_path / "nope.tsv")


def test_empty_file(tmp_path: Path) -> None:
    p = write(tmp_path / "e.tsv", "\n\n")
    with pytest.raises(DataError, match=r"e\.tsv: file is empty"):
        list(read_examples(p))


def test_header_only_file(tmp_path: Path) -> None:
    p = write(tmp_path / "h.csv", "text,label\n")
    with pytest.raises(DataError, match=r"h\.csv: has a header row .* but no data rows"):
        list(read_examples(p))


def test_missing_column_lists_available(tmp_path: Path) -> None:
    p = write(tmp_path / "m.tsv", "sentence\tlabel\nx\t1\n")
    with pytest.raises(DataError, match=r"m\.tsv:1: .*'text' not found.*available: 'sentence', 'label'"):
        list(read_examples(p))
    with pytest.raises(DataError, match=r"m\.tsv:1: label column 'polarity' not found.*'sentence', 'label'"):
        list(read_examples(p, text_col="sentence", label_col="polarity", header=True))


@pytest.mark.parametrize(
    ("content", "line"),
    [("text\tlabel\na\t1\nb\t\n", 3), ("text\tlabel\na\t1\nb\n", 3), ("text\tlabel\na\t  \n", 2)],
)
def test_row_without_label(tmp_path: Path, content: str, line: int) -> None:
    p = write(tmp_path / "l.tsv", content)
    with pytest.raises(DataError, match=rf"l\.tsv:{line}: row without a label"):
        list(read_examples(p))


def test_jsonl_row_without_label(tmp_path: Path) -> None:
    p = write(tmp_path / "l.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n')
    with pytest.raises(
        DataError, match=r"l\.jsonl:2: row without a label: missing key 'label' \(keys present: 'text'\)"
    ):
        list(read_examples(p))


def test_empty_text(tmp_path: Path) -> None:
    p = write(tmp_path / "t.tsv", "text\tlabel\nok\t1\n \t0\n")
    with pytest.raises(DataError, match=r"t\.tsv:3: empty text in column 'text'"):
        list(read_examples(p))
    assert list(read_examples(p, allow_empty_text=True))[1] == Example(" ", "0", 3)


def test_bad_json_line(tmp_path: Path) -> None:
    p = write(tmp_path / "b.jsonl", json.dumps({"text": "a", "label": 1}) + "\n{'text': 'b'}\n")
    with pytest.raises(DataError, match=r"b\.jsonl:2: invalid JSON"):
        list(read_examples(p))


def test_index_out_of_range(tmp_path: Path) -> None:
    p = write(tmp_path / "i.tsv", "a\tb\tc\td\nonly one\n")
    with pytest.raises(DataError, match=r"i\.tsv:2: text column index 3 is out of range for a row with 1 fields"):
        list(read_examples(p, text_col=3, label_col=None))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="errors"):
        read_lines("x", errors="ignore")
    with pytest.raises(ConfigError, match="text_col"):
        read_examples("x", text_col=-1)
    with pytest.raises(ConfigError, match="format"):
        read_examples("x", format="xlsx")


def test_named_columns_need_header(tmp_path: Path) -> None:
    p = write(tmp_path / "n.tsv", "x\t1\n")
    with pytest.raises(ConfigError, match="header"):
        read_examples(p, header=False)


# --------------------------------------------------------------------------- real files (heads only)
def _head(src: Path, dst: Path, n: int) -> Path:
    with open(src, "rb") as fh:
        dst.write_bytes(b"".join(itertools.islice(fh, n)))
    return dst


def test_real_sst2_head(shared_data: Path, tmp_path: Path) -> None:
    p = _head(shared_data / "classification" / "sst2_train.tsv", tmp_path / "sst2.tsv", 101)
    got = list(read_examples(p, text_col="sentence"))
    assert len(got) == 100
    assert got[0] == Example("when are bears bears and ", "1", 2)
    assert {e.label for e in got} == {"0", "1"}


def test_real_agnews_head(shared_data: Path) -> None:
    it = read_examples(shared_data / "classification" / "agnews_train.tsv", text_col=0, label_col=1)
    got = list(itertools.islice(it, 50))
    assert got[0].line == 1 and got[0].label == "Sci/Tech" and got[0].text.startswith("p2pnet.net News")
    assert {e.label for e in got} <= {"World", "Sports", "Business", "Sci/Tech"}


def test_real_mr_polarity_head(shared_data: Path) -> None:
    # the shared copy of MR is valid UTF-8 (its latin-1 bytes were already converted)
    report = DecodeReport()
    it = read_examples(shared_data / "classification" / "mr_polarity.neg", report=report, fixed_label="neg")
    got = list(itertools.islice(it, 60))
    assert got[31] == Example("the action clichés just pile up . ", "neg", 32)
    assert report.lines_replaced == 0
