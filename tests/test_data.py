"""Data: the bundled subset, preprocessing, the download path with checksum, and clear failures."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from widthlimits import data as D


def test_bundled_subset_shapes_balance_and_normalisation():
    ds = D.load_cifar2(1000, None)
    assert ds.x_train.shape == (1000, 3072) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (1000, 3072)
    assert np.bincount(ds.y_train.astype(int)).tolist() == [500, 500]
    assert np.bincount(ds.y_test.astype(int)).tolist() == [500, 500]
    assert abs(float(ds.x_train.mean())) < 0.5 and 0.8 < float(ds.x_train.std()) < 1.3


def test_bundled_training_images_are_the_bit_exact_ones():
    raw = D.load_raw("bundled")
    assert raw["exact_train"].all() and len(raw["y_train"]) == 1105
    assert raw["exact_test"].sum() == 198


def test_subset_draw_is_seeded():
    a, b, c = D.load_cifar2(100, 10, seed=0), D.load_cifar2(100, 10, seed=0), D.load_cifar2(100, 10, seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    np.testing.assert_array_equal(a.x_test, c.x_test)  # the test set does not depend on the seed


def test_preprocess_is_channel_first_and_normalised():
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 2, 5, 1] = 255  # row 2, column 5, green
    x = D.preprocess(img)
    assert x.shape == (1, 3072)
    hot = 1 * 1024 + 2 * 32 + 5
    assert x[0, hot] == pytest.approx((1 - D.MEAN) / D.STD)
    assert np.allclose(np.delete(x[0], hot), -D.MEAN / D.STD)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(n_train=999), "n_train"),
        (dict(n_train=4000), "n_train"),
        (dict(n_test=3), "n_test"),
        (dict(source=42), "source"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        D.load_cifar2(**kwargs)


def test_env_var_points_at_a_local_file(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = dict(
        x_train=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        y_train=np.repeat([0, 1], 10),
        x_test=rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
        y_test=np.repeat([0, 1], 3),
    )
    np.savez(tmp_path / "mine.npz", **arrays)
    monkeypatch.setenv(D.ENV_FILE, str(tmp_path / "mine.npz"))
    ds = D.load_cifar2(10)
    assert ds.x_train.shape == (10, 3072) and ds.x_test.shape == (6, 3072)


def test_corrupt_or_missing_or_malformed_files_give_clear_errors(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        D.load_raw(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="not found"):
        D.load_raw(tmp_path / "absent.npz")
    np.savez(tmp_path / "wrong.npz", x_train=np.zeros((2, 3)), y_train=np.zeros(2))
    with pytest.raises(ValueError, match="lacks the arrays"):
        D.load_raw(tmp_path / "wrong.npz")


def test_corrupt_bundled_file_is_detected(monkeypatch):
    monkeypatch.setattr(D, "BUNDLED_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="missing or corrupt"):
        D.load_raw("bundled")


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
    out = D.download_cifar10(cache, url=src.as_uri(), md5=md5)
    raw = D.load_raw(out)
    assert set(np.unique(raw["y_train"])) <= {0, 1} and raw["x_train"].shape[1:] == (32, 32, 3)
    assert sorted(os.listdir(cache)) == ["cifar-10-python.tar.gz", "cifar2.npz"]
    assert D.download_cifar10(cache, url="file:///nonexistent", md5=md5) == out  # cached: no second download


def test_download_with_wrong_checksum_leaves_no_file(tmp_path):
    src = tmp_path / "cifar-10-python.tar.gz"
    fake_cifar10_archive(src)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch"):
        D.download_cifar10(cache, url=src.as_uri(), md5="0" * 32)
    assert not cache.exists() or os.listdir(cache) == []


def test_download_failure_is_reported_without_partial_files(tmp_path):
    with pytest.raises(OSError, match="could not download"):
        D.download_cifar10(tmp_path, url=(tmp_path / "missing.tar.gz").as_uri(), md5="0" * 32)
    assert os.listdir(tmp_path) == []


def test_fingerprint_changes_with_content():
    a = D.load_cifar2(10, 10)
    b = a._replace(y_train=1 - a.y_train)
    assert D.fingerprint(a) == D.fingerprint(D.load_cifar2(10, 10)) != D.fingerprint(b)


@pytest.mark.parametrize("kind", D.TOY_KINDS)
def test_toy_2d_is_balanced_labelled_by_its_rule_and_has_a_constant_input(kind):
    ds = D.toy_2d(200, 100, seed=3, kind=kind)
    assert ds.x_train.shape == (200, 3) and ds.x_test.shape == (100, 3) and ds.x_train.dtype == np.float32
    for x, y in [(ds.x_train, ds.y_train), (ds.x_test, ds.y_test)]:
        assert np.all(x[:, 2] == 1) and np.bincount(y.astype(int)).tolist() == [len(y) // 2] * 2
        inside = np.sum(x[:, :2] ** 2, 1) < 2 * np.log(2) if kind == "circle" else x[:, 0] * x[:, 1] > 0
        np.testing.assert_array_equal(y, inside.astype(np.float32))


def test_toy_2d_is_seeded_and_train_differs_from_test():
    a, b, c = D.toy_2d(50, 50, seed=0), D.toy_2d(50, 50, seed=0), D.toy_2d(50, 50, seed=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.x_train, c.x_train) and not np.array_equal(a.x_train, a.x_test)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(n_train=3), "n_train"),
        (dict(n_train=0), "n_train"),
        (dict(n_test=5), "n_test"),
        (dict(kind="moons"), "kind"),
    ],
)
def test_toy_2d_bad_arguments_name_the_parameter(kwargs, parameter):
    with pytest.raises(ValueError, match=parameter):
        D.toy_2d(**kwargs)
