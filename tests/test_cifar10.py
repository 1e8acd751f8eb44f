"""The CIFAR-10 download path: checksums of the archive (MD5) and of the extracted file (SHA-256 sidecar),
rebuilding a modified file, cleanup of leftovers of killed downloads, and clear failures."""

import hashlib
import io
import os
import pickle
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from widthlimits import cifar10 as C
from widthlimits import data as D


def test_data_re_exports_the_download_names():
    # Other modules (experiments) and users call data.cache_dir, data._atomic_write, data.download_cifar10.
    names = ("download_cifar10", "cache_dir", "_atomic_write", "CIFAR10_URL", "CIFAR10_MD5", "ENV_FILE", "ENV_CACHE")
    for name in names:
        assert getattr(D, name) is getattr(C, name), name


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(C.ENV_CACHE, str(tmp_path))
    assert C.cache_dir() == tmp_path
    monkeypatch.setenv(C.ENV_CACHE, "")  # empty counts as unset
    assert C.cache_dir() == Path.home() / ".cache" / "widthlimits"


def fake_cifar10_archive(path):
    """A miniature archive in the official layout: five training batches and a test batch."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = list(rng.integers(0, 10, 30))
            blob = pickle.dumps({b"labels": labels, b"data": rng.integers(0, 256, (30, 3072), dtype=np.uint8)})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_checksum_and_extracts_cifar2(tmp_path):
    src = tmp_path / "src" / "cifar-10-python.tar.gz"
    src.parent.mkdir()
    md5 = fake_cifar10_archive(src)
    cache = tmp_path / "cache"
    out = C.download_cifar10(cache, url=src.as_uri(), md5=md5)
    raw = D.load_raw(out)
    assert set(np.unique(raw["y_train"])) <= {0, 1} and raw["x_train"].shape[1:] == (32, 32, 3)
    assert sorted(os.listdir(cache)) == ["cifar-10-python.tar.gz", "cifar2.npz", "cifar2.npz.sha256"]
    assert C.download_cifar10(cache, url="file:///nonexistent", md5=md5) == out  # cached: no second download


def test_download_with_wrong_checksum_leaves_no_file(tmp_path):
    src = tmp_path / "cifar-10-python.tar.gz"
    fake_cifar10_archive(src)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch"):
        C.download_cifar10(cache, url=src.as_uri(), md5="0" * 32)
    assert not cache.exists() or os.listdir(cache) == []


def test_download_failure_is_reported_without_partial_files(tmp_path):
    with pytest.raises(OSError, match="could not download"):
        C.download_cifar10(tmp_path, url=(tmp_path / "missing.tar.gz").as_uri(), md5="0" * 32)
    assert os.listdir(tmp_path) == []


def test_download_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="md5 must be a 32-digit"):
        C.download_cifar10(tmp_path, md5="abc")
    with pytest.raises(TypeError, match="url"):
        C.download_cifar10(tmp_path, url=None)
    with pytest.raises(TypeError, match="directory"):
        C.download_cifar10(3)
    assert os.listdir(tmp_path) == []


def test_stale_part_files_of_killed_downloads_are_removed(tmp_path):
    src = tmp_path / "src" / "cifar-10-python.tar.gz"
    src.parent.mkdir()
    md5 = fake_cifar10_archive(src)
    cache = tmp_path / "cache"
    cache.mkdir()
    stale = cache / ".cifar-10-python.tar.gz.k1ll3d.part"
    live = cache / ".cifar-10-python.tar.gz.0ther.part"  # another process's download, still being written
    other = cache / ".something-else.part"  # not a download of this file: not ours to remove
    for f in (stale, live, other):
        f.write_bytes(b"half an archive")
    old = time.time() - 2 * C.STALE_PART_SECONDS
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    C.download_cifar10(cache, url=src.as_uri(), md5=md5)
    assert not stale.exists() and live.exists() and other.exists()


def test_a_failed_download_also_removes_stale_part_files(tmp_path):
    stale = tmp_path / ".cifar-10-python.tar.gz.k1ll3d.part"
    stale.write_bytes(b"half an archive")
    old = time.time() - 2 * C.STALE_PART_SECONDS
    os.utime(stale, (old, old))
    with pytest.raises(OSError, match="could not download"):
        C.download_cifar10(tmp_path, url=(tmp_path / "missing.tar.gz").as_uri(), md5="0" * 32)
    assert os.listdir(tmp_path) == []


def _downloaded(tmp_path):
    src = tmp_path / "src" / "cifar-10-python.tar.gz"
    src.parent.mkdir()
    md5 = fake_cifar10_archive(src)
    cache = tmp_path / "cache"
    out = C.download_cifar10(cache, url=src.as_uri(), md5=md5)
    return src, md5, cache, out


def test_the_extracted_file_records_its_checksum(tmp_path):
    _, _, _, out = _downloaded(tmp_path)
    recorded = (out.parent / "cifar2.npz.sha256").read_text().strip()
    assert recorded == hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("tamper", ["foreign", "truncated", "no checksum file", "bad checksum file"])
def test_a_foreign_or_modified_cifar2_file_is_detected_and_rebuilt(tmp_path, monkeypatch, tamper):
    src, md5, cache, out = _downloaded(tmp_path)
    original = D.load_raw(out)
    sidecar = cache / "cifar2.npz.sha256"
    if tamper == "foreign":  # a valid CIFAR2 file, but not the one extracted here: it would be read silently
        arrays = dict(original, y_train=1 - original["y_train"])
        np.savez(out, **arrays)
    elif tamper == "truncated":
        out.write_bytes(out.read_bytes()[:100])
    elif tamper == "no checksum file":
        sidecar.unlink()
    else:
        sidecar.write_text("not a checksum")

    def offline(*a, **k):
        raise AssertionError("the verified archive is in the cache: no download needed")

    monkeypatch.setattr(C, "_fetch", offline)
    with pytest.warns(RuntimeWarning, match=r"cifar2\.npz .*rebuilding it from the verified CIFAR-10 archive"):
        again = C.download_cifar10(cache, url=src.as_uri(), md5=md5)
    assert again == out
    for k in original:
        np.testing.assert_array_equal(D.load_raw(out)[k], original[k])
    assert sidecar.read_text().strip() == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_foreign_cifar2_file_without_archive_or_network_is_a_clear_error(tmp_path, monkeypatch):
    src, md5, cache, out = _downloaded(tmp_path)
    (cache / "cifar-10-python.tar.gz").unlink()
    out.write_bytes(b"someone else's file")

    def no_network(url, target, md5):
        raise OSError(f"could not download {url} (no network)")

    monkeypatch.setattr(C, "_fetch", no_network)
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        with pytest.raises(OSError, match=r"cifar2\.npz failed verification and .* is absent"):
            C.download_cifar10(cache, url=src.as_uri(), md5=md5)


def test_a_corrupt_cached_archive_is_fetched_again(tmp_path, monkeypatch):
    src, md5, cache, out = _downloaded(tmp_path)
    out.unlink()
    (cache / "cifar-10-python.tar.gz").write_bytes(b"corrupt")
    with pytest.warns(RuntimeWarning, match="fails its checksum"):
        C.download_cifar10(cache, url=src.as_uri(), md5=md5)
    assert C._md5(cache / "cifar-10-python.tar.gz") == md5
