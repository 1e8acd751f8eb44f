"""Data: the bundled subset, preprocessing, local files, fingerprints, the toy problems, dataset checks, and
clear failures. (The CIFAR-10 download path is tested in test_cifar10.py.)"""

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
        (dict(source=""), "source"),
        (dict(n_train=1000.0), "n_train"),
        (dict(n_test=4.0), "n_test"),
        (dict(seed=-1), "seed"),
        (dict(seed=0.5), "seed"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
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


def test_source_of_the_wrong_kind_is_a_type_error():
    with pytest.raises(TypeError, match="source must be"):
        D.load_cifar2(source=42)
    with pytest.raises(TypeError, match="source must be"):
        D.load_raw(None)


def test_numpy_integer_sizes_are_valid():
    ds = D.load_cifar2(np.int64(64), np.int64(10), seed=np.int32(1))
    assert ds.x_train.shape == (64, 3072) and ds.x_test.shape == (10, 3072)
    toy = D.toy_2d(np.int64(16), np.int32(8), seed=np.uint8(2))
    assert toy.x_train.shape == (16, 3) and toy.x_test.shape == (8, 3)


@pytest.mark.parametrize(
    "kwargs, error, parameter",
    [
        (dict(n_train=16.0), TypeError, "n_train"),
        (dict(n_train=True), TypeError, "n_train"),
        (dict(n_test="8"), TypeError, "n_test"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(kind=None), ValueError, "kind"),
    ],
)
def test_toy_2d_rejects_non_integers(kwargs, error, parameter):
    with pytest.raises(error, match=parameter):
        D.toy_2d(**kwargs)


def test_preprocess_wants_raw_uint8_images():
    with pytest.raises(TypeError, match="images must be raw uint8"):
        D.preprocess(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(TypeError, match="images"):
        D.preprocess(np.zeros((1, 32, 32, 3), np.uint16))
    with pytest.raises(ValueError, match=r"images must have shape \(any, 32, 32, 3\)"):
        D.preprocess(np.zeros((1, 3, 32, 32), np.uint8))


def test_fingerprint_wants_a_dataset():
    with pytest.raises(TypeError, match="ds must be a Dataset"):
        D.fingerprint(np.zeros(3))


TOY = D.toy_2d(16, 8)


@pytest.mark.parametrize(
    "change, n_in, error, message",
    [
        (dict(y_train=2 * TOY.y_train - 1), None, ValueError, r"data.y_train must hold labels in \{0, 1\}"),
        (dict(y_train=TOY.y_train[:, None]), None, ValueError, r"data.y_train must have shape \(16\)"),
        (dict(y_train=TOY.y_train[:1]), None, ValueError, r"data.y_train must have shape \(16\)"),
        (dict(y_test=np.full(8, np.nan, np.float32)), None, ValueError, "data.y_test must be finite"),
        (dict(x_train=TOY.x_train[:, :2]), 3, ValueError, "data.x_train must have n_in=3 columns"),
        (dict(x_test=TOY.x_test[:, :2]), None, ValueError, "data.x_test must have n_in=3 columns"),
        (dict(x_test=TOY.x_test[:0], y_test=TOY.y_test[:0]), None, ValueError, "data.x_test must have shape"),
        (dict(x_train=TOY.x_train[:0], y_train=TOY.y_train[:0]), None, ValueError, "data.x_train must have shape"),
        (dict(x_train=TOY.x_train[0]), None, ValueError, "data.x_train must be a 2-D array"),
        (dict(x_train=(TOY.x_train > 0).astype(np.uint8)), None, TypeError, r"data.x_train .*data\.preprocess"),
        (dict(x_train=TOY.x_train > 0), None, TypeError, "data.x_train must hold floating-point"),
        (dict(x_train=TOY.x_train * 255), None, ValueError, "did you forget data.preprocess"),
        (dict(x_test=np.full((8, 3), np.inf, np.float32)), None, ValueError, "data.x_test must be finite"),
    ],
)
def test_check_dataset_names_the_bad_field(change, n_in, error, message):
    with pytest.raises(error, match=message):
        D.check_dataset(TOY._replace(**change), n_in)


def test_check_dataset_accepts_valid_data_and_works_under_jit():
    import jax

    assert D.check_dataset(TOY, 3) == TOY
    assert D.check_dataset(tuple(TOY)).x_test is TOY.x_test  # a plain 4-tuple becomes a Dataset
    single = D.Dataset(np.ones((1, 1), np.float32), np.ones(1, np.float32), np.ones((1, 1), np.float32), np.zeros(1))
    D.check_dataset(single, 1)  # one training point (the catapult chapter's x = 1) is a dataset
    total = jax.jit(lambda d: D.check_dataset(d, 3).x_train.sum())(TOY)  # traced: shapes and dtypes only
    assert np.isclose(float(total), TOY.x_train.sum())
    with pytest.raises(TypeError, match="train must be a Dataset"):
        D.check_dataset(TOY[:2], name="train")
    with pytest.raises(ValueError, match=r"train\.y_test"):
        D.check_dataset(TOY._replace(y_test=TOY.y_test + 1), name="train")
