"""CIFAR2: the airplane (0) and automobile (1) classes of CIFAR-10, preprocessed as in the reference code.

Preprocessing (``torchvision`` ``ToTensor`` then ``Normalize(0.4734, 0.2516)`` on every channel, then a
channel-first flatten) gives inputs ``x (3072,)`` of mean about 0 and unit scale; labels are ``0.0``/``1.0``.

Sources, chosen by ``source=``:

* ``"bundled"``: the subset shipped in the package (1105 bit-exact training images, 1000 test images of
  which 198 are bit-exact and the rest JPEG-decoded; see the README's data card). Works offline.
* ``"download"``: the official CIFAR-10 archive, downloaded once into the cache directory and verified
  against its published MD5 checksum; the extracted ``cifar2.npz`` is verified against the SHA-256 recorded
  beside it (``cifar2.npz.sha256``) on every use, and rebuilt from the archive if it does not match (all in
  :mod:`widthlimits.cifar10`, whose :func:`download_cifar10` and :func:`cache_dir` are re-exported here).
* a path: an ``.npz`` with ``x_train (n, 32, 32, 3) uint8``, ``y_train``, ``x_test``, ``y_test``.
* ``"auto"`` (default): the file named by ``$WIDTHLIMITS_CIFAR2`` if set, else ``"bundled"``.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from widthlimits import _validate
from widthlimits.cifar10 import (  # noqa: F401  (re-exported: callers use data.cache_dir, data._atomic_write)
    CIFAR10_MD5,
    CIFAR10_URL,
    ENV_CACHE,
    ENV_FILE,
    _atomic_write,
    cache_dir,
    download_cifar10,
)

MEAN, STD = 0.4734, 0.2516
N_IN = 3 * 32 * 32
CLASSES = ("airplane", "automobile")
BUNDLED_SHA256 = "47bef03f37191c262567e55da4a8a344771ceee1d114b729b75de658780941bc"
_KEYS = ("x_train", "y_train", "x_test", "y_test")
#: Largest ``|x|`` an input may hold. Preprocessed CIFAR2 lies in ``[-1.9, 2.1]`` and the toy inputs within a
#: few units; a float copy of raw pixels reaches 255. Such inputs are an error, not a warning: they make every
#: pre-activation about 100x too large, so runs diverge or saturate and the sweep *caches* those results under
#: a key that looks legitimate, while a warning scrolls away in a notebook. A genuine feature 100 standard
#: deviations out is a data bug too; rescale (or :func:`preprocess`) first.
MAX_ABS_INPUT = 100.0


class Dataset(NamedTuple):
    """Preprocessed arrays (a pytree, so it can be passed to jitted code).

    Attributes:
      x_train: ``(n_train, 3072) float32``.
      y_train: ``(n_train,) float32`` in ``{0, 1}``.
      x_test: ``(n_test, 3072) float32``.
      y_test: ``(n_test,) float32``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def check_inputs(x: Any, n_in: int | None = None, *, name: str = "x") -> Any:
    """Check network inputs ``x (n, n_in)``: 2-D, floating, finite, ``n >= 1``, ``|x| <= MAX_ABS_INPUT``.

    ``n_in`` (the model's input dimension) is checked when given. Returns ``x`` (a list becomes an array).
    Integer inputs are rejected with a hint: raw pixels must go through :func:`preprocess` first. A traced
    ``x`` is checked for rank, shape and dtype only.
    """
    if hasattr(x, "dtype") and np.dtype(x.dtype).kind in "biu":
        raise TypeError(
            f"{name} must hold floating-point inputs, got dtype {x.dtype}; raw pixels must go through "
            "data.preprocess first"
        )
    x = _validate.array(name, x, ndim=2, kinds="f")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, n_in) with n >= 1 and n_in >= 1, got {tuple(x.shape)}")
    if n_in is not None and x.shape[1] != n_in:
        raise ValueError(
            f"{name} must have n_in={n_in} columns (the model's input dimension), got shape {tuple(x.shape)}"
        )
    if not _validate.is_traced(x):
        big = float(np.max(np.abs(np.asarray(x))))
        if big > MAX_ABS_INPUT:
            raise ValueError(
                f"{name} must lie in [-{MAX_ABS_INPUT:g}, {MAX_ABS_INPUT:g}], got max |x| = {big:g}; "
                "did you forget data.preprocess?"
            )
    return x


def check_dataset(data: Any, n_in: int | None = None, *, name: str = "data") -> Dataset:
    """Check a :class:`Dataset` before it reaches compiled code; returns it as a ``Dataset``.

    Checks: ``x_train (n, n_in)`` and ``x_test (m, n_in)`` pass :func:`check_inputs` (floating, finite,
    ``n, m >= 1``, equal numbers of columns, ``n_in`` of the model when given); ``y_train (n,)`` and
    ``y_test (m,)`` are labels in ``{0, 1}`` (not ``±1``, not a column ``(n, 1)``, which would broadcast the
    loss to ``(n, n)``). Raises ``TypeError``/``ValueError`` naming the field, e.g. ``data.y_train``.

    Safe under ``jit``: traced leaves are checked for shapes and dtypes only, so callers (training, limits)
    can run it on whatever they are given.
    """
    if not isinstance(data, tuple) or len(data) != 4:
        raise TypeError(f"{name} must be a Dataset (x_train, y_train, x_test, y_test), got {type(data).__name__}")
    x, y, xt, yt = data
    x = check_inputs(x, n_in, name=f"{name}.x_train")
    xt = check_inputs(xt, x.shape[1], name=f"{name}.x_test")
    y = _validate.labels(f"{name}.y_train", y, x.shape[0])
    yt = _validate.labels(f"{name}.y_test", yt, xt.shape[0])
    return Dataset(x, y, xt, yt)


def preprocess(images: np.ndarray) -> np.ndarray:
    """``(n, 32, 32, 3) uint8`` HWC images -> ``(n, 3072) float32`` normalised, channel-first flattened."""
    # uint8 only: float images (already scaled to [0, 1], or already preprocessed) would be divided by 255
    # again and silently come out as a near-constant input.
    dtype = getattr(images, "dtype", None)
    if dtype is None or np.dtype(dtype) != np.uint8:
        got = f"dtype {dtype}" if dtype is not None else type(images).__name__
        raise TypeError(f"images must be raw uint8 pixels of shape (n, 32, 32, 3), got {got}")
    images = np.asarray(_validate.array("images", images, shape=(None, 32, 32, 3), kinds="u", finite=False))
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(images), N_IN))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise FileNotFoundError(f"CIFAR2 file not found: {path}")
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"could not read {path} as an .npz file (corrupt or truncated?): {err}") from None
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the arrays {missing}; expected {list(_KEYS)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            raise ValueError(f"{path}: x_{split} must be (n, 32, 32, 3) uint8, got {x.shape} {x.dtype}")
        if y.shape != (len(x),) or not np.isin(y, (0, 1)).all():
            raise ValueError(f"{path}: y_{split} must hold one label in {{0, 1}} per image")
    return arrays


def _bundled() -> dict[str, np.ndarray]:
    ref = resources.files("widthlimits") / "_assets" / "cifar2_subset.npz"
    with resources.as_file(ref) as path:
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
        if digest != BUNDLED_SHA256:
            raise ValueError(
                f"the bundled CIFAR2 subset {path} is missing or corrupt (sha256 {digest}, expected "
                f"{BUNDLED_SHA256}); reinstall widthlimits or regenerate it with scripts/make_cifar2_subset.py"
            )
        return _read_npz(path)


def load_raw(source: str | os.PathLike = "auto") -> dict[str, np.ndarray]:
    """Unprocessed uint8 images and labels from ``source`` (see the module docstring)."""
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"source must be 'auto', 'bundled', 'download' or a path, got {type(source).__name__}")
    if isinstance(source, str) and not source:
        raise ValueError("source must be 'auto', 'bundled', 'download' or a path, got an empty string")
    if source == "auto":
        source = os.environ.get(ENV_FILE) or "bundled"
    if source == "bundled":
        return _bundled()
    if source == "download":
        return _read_npz(download_cifar10())
    return _read_npz(Path(source))


def _first_per_class(y: np.ndarray, n: int) -> np.ndarray:
    return np.sort(np.concatenate([np.flatnonzero(y == c)[: n // 2] for c in (0, 1)]))


def load_cifar2(
    n_train: int = 1000, n_test: int | None = None, *, seed: int = 0, source: str | os.PathLike = "auto"
) -> Dataset:
    """A class-balanced CIFAR2 training subset and test set, preprocessed.

    Args:
      n_train: training-set size, even, ``n_train / 2`` images of each class drawn at random (``seed``);
        the reference code draws 1000 with ``train_test_split(stratify=...)``.
      n_test: test-set size, even, the first ``n_test / 2`` test images of each class; ``None`` takes all.
      seed: seed of the training-subset draw (independent of the networks' seeds).
      source: where the images come from (module docstring).
    """
    # Sizes are checked before the (slow) load; their upper bounds depend on the source, checked after it.
    n_train = _validate.integer("n_train", n_train, low=2)
    if n_train % 2:
        raise ValueError(f"n_train must be an even integer >= 2 (half of each class), got {n_train}")
    if n_test is not None:
        n_test = _validate.integer("n_test", n_test, low=2)
        if n_test % 2:
            raise ValueError(f"n_test must be an even integer >= 2 (half of each class) or None, got {n_test}")
    seed = _validate.integer("seed", seed, low=0)
    raw = load_raw(source)
    available = int(min(np.bincount(raw["y_train"], minlength=2)))
    if n_train // 2 > available:
        raise ValueError(
            f"n_train must be <= {2 * available} for this source (it has {available} images of the rarer class)"
        )
    rng = np.random.default_rng(seed)
    train = np.sort(
        np.concatenate([rng.choice(np.flatnonzero(raw["y_train"] == c), n_train // 2, replace=False) for c in (0, 1)])
    )
    y_test = raw["y_test"]
    if n_test is None:
        test = np.arange(len(y_test))
    else:
        available = int(min(np.bincount(y_test, minlength=2)))
        if n_test // 2 > available:
            raise ValueError(f"n_test must be an even integer in [2, {2 * available}] or None, got {n_test!r}")
        test = _first_per_class(y_test, n_test)
    return Dataset(
        preprocess(raw["x_train"][train]),
        raw["y_train"][train].astype(np.float32),
        preprocess(raw["x_test"][test]),
        y_test[test].astype(np.float32),
    )


def fingerprint(ds: Dataset) -> str:
    """A short hash of the dataset's contents (used in cache keys).

    Shapes and dtypes are hashed with the bytes, so equal bytes in another layout give another fingerprint.
    """
    if not isinstance(ds, tuple) or len(ds) != 4:
        raise TypeError(f"ds must be a Dataset (x_train, y_train, x_test, y_test), got {type(ds).__name__}")
    if _validate.is_traced(ds):
        raise TypeError("ds must hold concrete arrays to be fingerprinted, got traced values (inside jit?)")
    h = hashlib.sha256()
    for a in ds:
        arr = np.ascontiguousarray(a)
        h.update(str((arr.shape, arr.dtype.str)).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


TOY_KINDS = ("circle", "xor")


def toy_2d(n_train: int = 256, n_test: int = 256, *, seed: int = 0, kind: str = "circle") -> Dataset:
    r"""A class-balanced two-dimensional toy problem, with a constant third input so bias-free nets can fit it.

    Points :math:`(x_1, x_2)` are standard Gaussian and the input is :math:`x = (x_1, x_2, 1)`, so a neuron
    :math:`\phi(w^\top x)` is a leaky-ReLU ridge along the line :math:`w_1 x_1 + w_2 x_2 + w_3 = 0` in the plane.
    Labels (``0.0``/``1.0``):

    * ``"circle"``: 1 inside the circle of radius :math:`\sqrt{2\ln 2}` (the median radius of the Gaussian);
    * ``"xor"``: 1 where :math:`x_1 x_2 > 0`.

    Each split holds exactly half of each class (rejection sampling). Returns a :class:`Dataset` with
    ``x_* (n, 3) float32``; train and test points are independent draws from the same law.
    """
    _validate.choice("kind", kind, TOY_KINDS)
    n_train = _validate.integer("n_train", n_train, low=2)
    n_test = _validate.integer("n_test", n_test, low=2)
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if n % 2:
            raise ValueError(f"{name} must be an even integer >= 2 (half of each class), got {n}")
    seed = _validate.integer("seed", seed, low=0)
    rng = np.random.default_rng(seed)

    def label(p: np.ndarray) -> np.ndarray:
        if kind == "circle":
            return np.sum(p**2, axis=1) < 2 * np.log(2)
        return p[:, 0] * p[:, 1] > 0

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        parts = []
        for c in (0, 1):  # each class has probability 1/2, so a few rounds of 2n draws suffice
            got = np.empty((0, 2))
            while len(got) < n // 2:
                p = rng.standard_normal((2 * n, 2))
                got = np.concatenate([got, p[label(p) == c]])
            parts.append(got[: n // 2])
        order = rng.permutation(n)
        points = np.concatenate(parts)[order]
        y = np.repeat([0.0, 1.0], n // 2)[order]
        x = np.concatenate([points, np.ones((n, 1))], axis=1)
        return x.astype(np.float32), y.astype(np.float32)

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return Dataset(x_train, y_train, x_test, y_test)
