"""embedlayer._io: the output policy (claim_output), the lock, scratch folders, digests."""

from __future__ import annotations

import os
import stat

import pytest

from embedlayer._io import (
    ExclusiveLock,
    atomic_path,
    claim_output,
    describe_difference,
    file_digest,
    first_difference,
    scratch_dir,
)
from embedlayer.errors import ConfigError


def test_a_new_or_empty_folder_is_claimed_and_locked(tmp_path):
    with claim_output(tmp_path / "new", kind="dir") as claim:
        assert claim.state == "new" and claim.created
        assert os.listdir(tmp_path / "new") == [".embedlayer.lock"]
        with pytest.raises(ConfigError, match=rf"PID {os.getpid()}"):
            claim_output(tmp_path / "new", kind="dir")
    assert os.listdir(tmp_path / "new") == []  # the lock file goes with the lock
    with claim_output(tmp_path / "new", kind="dir") as again:  # an empty folder is as good as none
        assert again.state == "new" and not again.created


def test_a_folder_that_holds_something_needs_resume_or_force(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "a.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"already holds 1 entry \(a.txt\).*--resume.*--force"):
        claim_output(tmp_path / "run", can_resume=True)
    with pytest.raises(ConfigError, match=r"pass --force to replace") as info:
        claim_output(tmp_path / "run")
    assert "--resume" not in str(info.value)
    with claim_output(tmp_path / "run", resume=True, can_resume=True) as claim:
        assert claim.state == "resume"
    with claim_output(tmp_path / "run", force=True) as claim:
        assert claim.state == "replace"
    with pytest.raises(ConfigError, match="--resume and --force"):
        claim_output(tmp_path / "run", resume=True, force=True, can_resume=True)
    assert (tmp_path / "run" / "a.txt").read_text() == "x"


def test_resume_of_nothing_removes_the_folder_it_made(tmp_path):
    with pytest.raises(ConfigError, match="holds nothing to continue"):
        claim_output(tmp_path / "none", resume=True, can_resume=True)
    assert not (tmp_path / "none").exists()


def test_a_failed_run_removes_only_an_empty_folder_it_made(tmp_path):
    with pytest.raises(RuntimeError), claim_output(tmp_path / "a"):
        raise RuntimeError
    assert not (tmp_path / "a").exists()
    with pytest.raises(RuntimeError), claim_output(tmp_path / "b"):
        (tmp_path / "b" / "half.bin").write_bytes(b"1")
        raise RuntimeError
    assert (tmp_path / "b" / "half.bin").exists()


def test_files(tmp_path):
    target = tmp_path / "sub" / "v.json"
    with claim_output(target, kind="file") as claim:
        assert claim.state == "new" and (tmp_path / "sub" / ".v.json.lock").exists()
    assert os.listdir(tmp_path / "sub") == []
    target.write_text("")  # empty: nothing to lose
    with claim_output(target, kind="file") as claim:
        assert claim.state == "new"
    target.write_text("data")
    with pytest.raises(ConfigError, match="already holds a file of 4 bytes"):
        claim_output(target, kind="file")
    with pytest.raises(ConfigError, match="is a directory; expected a file path"):
        claim_output(tmp_path, kind="file")
    with pytest.raises(ConfigError, match="exists and is not a directory"):
        claim_output(target, kind="dir")
    with pytest.raises(ConfigError, match=r"cannot be written: .*v.json' is a file, not a folder"):
        claim_output(target / "x.png", kind="file")


def test_outputs_and_inputs(tmp_path):
    data = tmp_path / "data.tsv"
    data.write_text("x")
    for kind in ("file", "dir"):
        with pytest.raises(ConfigError, match="is also an input"):
            claim_output(data, kind=kind, inputs=[data], force=True)
    os.link(data, tmp_path / "same.tsv")
    with pytest.raises(ConfigError, match="is also an input"):
        claim_output(tmp_path / "same.tsv", kind="file", inputs=[None, "-", data], force=True)
    with pytest.raises(ConfigError, match="holds the input"):
        claim_output(tmp_path, kind="dir", inputs=[data], force=True)
    with claim_output(tmp_path / "out", kind="dir", inputs=[data, tmp_path / "missing.tsv"]):
        pass


def test_the_lock_is_released_by_the_kernel_and_names_its_holder(tmp_path):
    path = tmp_path / "x.lock"
    lock = ExclusiveLock(path, what="--out x").acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(ConfigError, match=rf"--out x: another embedlayer run \(PID {os.getpid()}\)"):
        ExclusiveLock(path, what="--out x").acquire()
    lock.release()
    lock.release()  # twice is fine
    assert not path.exists()
    path.write_text("99999\n")  # a lock file left by a killed run: nobody holds it
    with ExclusiveLock(path, what="x"):
        assert path.read_text() == f"{os.getpid()}\n"


def test_scratch_folders_of_ended_runs_are_swept(tmp_path):
    stale = tmp_path / ".embedlayer-tmp-old"
    stale.mkdir()
    (stale / ".embedlayer.lock").write_text("1\n")
    no_lock = tmp_path / ".embedlayer-tmp-starting"  # a run between making it and locking it
    no_lock.mkdir()
    with scratch_dir(tmp_path) as live:
        assert not stale.exists() and no_lock.exists()
        (live / "ids.i32").write_bytes(b"1234")
        with scratch_dir(tmp_path) as other:  # a second run beside it leaves the live one alone
            assert live.exists() and other != live
    assert sorted(os.listdir(tmp_path)) == [".embedlayer-tmp-starting"]


def test_file_digest_samples_the_ends_or_hashes_all(tmp_path):
    path = tmp_path / "big.bin"
    data = bytearray(os.urandom(3 * 1024))
    path.write_bytes(data)
    whole, sampled = file_digest(path, sample=None), file_digest(path, sample=1024)
    assert whole["size"] == sampled["size"] == 3072 and whole["sha256"] != sampled["sha256"]
    data[1500] ^= 1  # the middle: only the whole hash sees it
    path.write_bytes(data)
    assert file_digest(path, sample=1024)["sha256"] == sampled["sha256"]
    assert file_digest(path, sample=None)["sha256"] != whole["sha256"]
    data[10] ^= 1
    path.write_bytes(data)
    assert file_digest(path, sample=1024)["sha256"] != sampled["sha256"]


def test_first_difference_names_a_key_path():
    assert first_difference({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 2}}) is None
    diff = first_difference({"a": 1, "b": {"size": 2}}, {"a": 1, "b": {"size": 3}})
    assert diff == (("b", "size"), 2, 3)
    assert describe_difference(diff) == "b differs (size 3, the checkpoint was made with 2)"
    assert describe_difference(first_difference({"--max-len": 128}, {"--max-len": 64})) == (
        "--max-len is 64 but the checkpoint was made with 128"
    )
    assert first_difference({"gone": 1}, {}) == (("gone",), 1, None)


def test_atomic_path_gives_the_umask_mode_to_files_libraries_recreate(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "w.bin") as tmp:
            tmp.unlink()
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600)  # as safetensors does
            os.close(fd)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "w.bin").stat().st_mode) == 0o644
