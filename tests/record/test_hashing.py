"""Data-file hashes: streamed, cached by stat, capped by size, manifests for directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from nbrepro.errors import InputError
from nbrepro.record.hashing import HashCache, hash_directory, hash_file, parse_size


def _old(path: Path) -> Path:
    """Give a file an mtime well in the past, so the cache may keep it (not racily new)."""
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path


def test_file_hash_is_sha256_of_the_content_streamed_over_chunks(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 123)  # three full chunks and a partial one
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    fh = hash_file(path, cache=None)
    assert fh.hash == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (fh.size, fh.kind) == (len(data), "file")


def test_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    _old(path)
    cache = HashCache()
    first = hash_file(path, cache=cache)
    second = hash_file(path, cache=cache)
    assert first == second
    assert cache.hashed == 1


def test_modified_file_is_hashed_again(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    _old(path)
    cache = HashCache()
    before = hash_file(path, cache=cache)
    path.write_text("a\n2\n")  # same size, new content and mtime
    after = hash_file(path, cache=cache)
    assert before.hash != after.hash
    assert cache.hashed == 2


def test_racily_new_file_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "fresh.txt"
    path.write_text("just written")
    cache = HashCache()
    hash_file(path, cache=cache)
    assert len(cache) == 0


def test_file_above_size_cap_records_size_and_mtime_only(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1000)
    fh = hash_file(path, cache=None, size_cap=999)
    assert fh.kind == "large"
    assert fh.hash is None
    assert fh.size == 1000
    assert fh.mtime_ns == path.stat().st_mtime_ns


def test_size_cap_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 2048)
    monkeypatch.setenv("NBREPRO_HASH_SIZE_CAP", "1KiB")
    assert hash_file(path, cache=None).kind == "large"
    monkeypatch.setenv("NBREPRO_HASH_SIZE_CAP", "1M")
    assert hash_file(path, cache=None).kind == "file"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1048576", 1 << 20), ("500M", 500_000_000), ("2GiB", 2 << 30), ("1.5 kb", 1500)],
)
def test_parse_size_accepts_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_parse_size_rejects_garbage() -> None:
    with pytest.raises(InputError, match="invalid size"):
        parse_size("lots")


def test_directory_manifest_changes_with_its_files_not_with_hidden_ones(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("1\n")
    (folder / "b.csv").write_text("2\n")
    first = hash_directory(folder, cache=None)
    assert first.kind == "directory"
    assert first.size == 4
    (folder / ".DS_Store").write_text("junk")
    (folder / "notes.ipynb").write_text("{}")
    assert hash_directory(folder, cache=None).hash == first.hash
    (folder / "b.csv").write_text("3\n")
    changed = hash_directory(folder, cache=None)
    assert changed.hash != first.hash
    (folder / "c.csv").write_text("4\n")
    assert hash_directory(folder, cache=None).hash not in (first.hash, changed.hash)


def test_directory_manifest_leaves_out_excluded_names(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("1\n")
    base = hash_directory(tmp_path, cache=None)
    (tmp_path / "out.csv").write_text("result\n")
    assert hash_directory(tmp_path, cache=None, exclude={"out.csv"}).hash == base.hash
    assert hash_directory(tmp_path, cache=None).hash != base.hash


def test_hash_file_on_a_directory_gives_its_manifest(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    assert hash_file(tmp_path, cache=None) == hash_directory(tmp_path, cache=None)


def test_pipes_are_refused_rather_than_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        hash_file(fifo, cache=None)
