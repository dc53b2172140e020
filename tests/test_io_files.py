"""embedlayer._io.check_regular_file: what every reader asks before it opens a path (issue 13 §4)."""

from __future__ import annotations

import os
import socket

import pytest

from embedlayer._io import check_regular_file
from embedlayer.errors import DataError, FormatError


def test_a_regular_file_and_a_link_to_one_pass(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    os.symlink(tmp_path / "a.txt", tmp_path / "link")
    assert check_regular_file(tmp_path / "a.txt", expected="a text file") == tmp_path / "a.txt"
    assert check_regular_file(str(tmp_path / "link"), expected="a text file") == tmp_path / "link"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_named_with_what_they_are(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FormatError, match=r"fifo: is a pipe \(FIFO\), not a regular file; expected a vectors file"):
        check_regular_file(tmp_path / "fifo", expected="a vectors file", error=FormatError)
    with pytest.raises(DataError, match=r"/dev/null: is a character device, not a regular file; expected data"):
        check_regular_file("/dev/null", expected="data")
    with socket.socket(socket.AF_UNIX) as sock:
        path = tmp_path / "sock"
        sock.bind(str(path))
        with pytest.raises(DataError, match=r"sock: is a socket, not a regular file"):
            check_regular_file(path, expected="data")


def test_missing_paths_and_folders(tmp_path):
    with pytest.raises(DataError, match=r"nope: no such file; expected data"):
        check_regular_file(tmp_path / "nope", expected="data")
    with pytest.raises(DataError, match=r"is a directory; expected data"):
        check_regular_file(tmp_path, expected="data")
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match=r"f/g: cannot be read \(Not a directory\); expected data"):
        check_regular_file(tmp_path / "f" / "g", expected="data")
