"""CIFAR2: the airplane (0) and automobile (1) classes of CIFAR-10, preprocessed as in the reference code.

Preprocessing (``torchvision`` ``ToTensor`` then ``Normalize(0.4734, 0.2516)`` on every channel, then a
channel-first flatten) gives inputs ``x (3072,)`` of mean about 0 and unit scale; labels are ``0.0``/``1.0``.

Sources, chosen by ``source=``:

* ``"bundled"``: the subset shipped in the package (1105 bit-exact training images, 1000 test images of
  which 198 are bit-exact and the rest JPEG-decoded; see the README's data card). Works offline.
* ``"download"``: the official CIFAR-10 archive, downloaded once into the cache directory and verified
  against its published MD5 checksum.
* a path: an ``.npz`` with ``x_train (n, 32, 32, 3) uint8``, ``y_train``, ``x_test``, ``y_test``.
* ``"auto"`` (default): the file named by ``$WIDTHLIMITS_CIFAR2`` if set, else ``"bundled"``.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import tempfile
import urllib.request
import warnings
import zipfile
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

MEAN, STD = 0.4734, 0.2516
N_IN = 3 * 32 * 32
CLASSES = ("airplane", "automobile")
BUNDLED_SHA256 = "47bef03f37191c262567e55da4a8a344771ceee1d114b729b75de658780941bc"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ENV_FILE = "WIDTHLIMITS_CIFAR2"
ENV_CACHE = "WIDTHLIMITS_CACHE"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


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


def cache_dir() -> Path:
    """Root of the on-disk cache: ``$WIDTHLIMITS_CACHE`` or ``~/.cache/widthlimits``."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "widthlimits")


def preprocess(images: np.ndarray) -> np.ndarray:
    """``(n, 32, 32, 3) uint8`` HWC images -> ``(n, 3072) float32`` normalised, channel-first flattened."""
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(images), N_IN))


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` so that ``path`` is either absent or complete, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, target: Path, md5: str) -> None:
    """Download ``url`` to ``target`` through a temporary file; keep it only if its MD5 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != md5:
            raise ValueError(
                f"checksum mismatch for {url}: md5 {h.hexdigest()}, expected {md5}; "
                "the download is corrupt or incomplete and was discarded"
            )
        os.replace(tmp, target)
    except OSError as err:
        raise OSError(f"could not download {url} ({err}); set ${ENV_FILE} to a local CIFAR2 .npz instead") from err
    finally:
        Path(tmp).unlink(missing_ok=True)


def _extract_cifar2(archive: Path) -> bytes:
    """Classes 0 and 1 of the CIFAR-10 python archive, as the bytes of an ``.npz``."""
    parts: dict[str, list] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for name in names:
            member = next((m for m in tar.getmembers() if m.name.endswith(f"/{name}")), None)
            if member is None:
                raise ValueError(f"{archive} has no member {name}; is it the CIFAR-10 python archive?")
            batch = pickle.load(tar.extractfile(member), encoding="bytes")  # checksum-verified official file
            labels = np.asarray(batch[b"labels"])
            pixels = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            parts["test" if name == "test_batch" else "train"].append((labels, pixels))
    arrays = {}
    for split, batches in parts.items():
        labels = np.concatenate([b[0] for b in batches])
        pixels = np.concatenate([b[1] for b in batches])
        keep = np.flatnonzero(labels < 2)
        arrays |= {
            f"x_{split}": pixels[keep],
            f"y_{split}": labels[keep].astype(np.uint8),
            f"exact_{split}": np.ones(len(keep), bool),
            f"cifar10_index_{split}": keep.astype(np.int32),
        }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def download_cifar10(
    directory: str | os.PathLike | None = None, *, url: str = CIFAR10_URL, md5: str = CIFAR10_MD5
) -> Path:
    """Download CIFAR-10 (once), verify its MD5 and extract CIFAR2; returns the path of ``cifar2.npz``.

    Files land in ``directory`` (default ``cache_dir() / "data"``). Every write goes through a temporary
    file, so an interrupted download or a checksum mismatch leaves no partial file behind.
    """
    root = Path(directory) if directory is not None else cache_dir() / "data"
    archive, out = root / "cifar-10-python.tar.gz", root / "cifar2.npz"
    if out.exists():
        return out
    if archive.exists() and _md5(archive) != md5:
        warnings.warn(f"cached {archive} fails its checksum; downloading it again", stacklevel=2)
        archive.unlink()
    if not archive.exists():
        _fetch(url, archive, md5)
    _atomic_write(out, _extract_cifar2(archive))
    return out


def load_raw(source: str | os.PathLike = "auto") -> dict[str, np.ndarray]:
    """Unprocessed uint8 images and labels from ``source`` (see the module docstring)."""
    if source == "auto":
        source = os.environ.get(ENV_FILE) or "bundled"
    if source == "bundled":
        return _bundled()
    if source == "download":
        return _read_npz(download_cifar10())
    if isinstance(source, (str, os.PathLike)):
        return _read_npz(Path(source))
    raise ValueError(f"source must be 'auto', 'bundled', 'download' or a path, got {source!r}")


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
    raw = load_raw(source)
    if not isinstance(n_train, int) or n_train < 2 or n_train % 2:
        raise ValueError(f"n_train must be an even integer >= 2, got {n_train!r}")
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
        if not isinstance(n_test, int) or n_test < 2 or n_test % 2 or n_test // 2 > available:
            raise ValueError(f"n_test must be an even integer in [2, {2 * available}] or None, got {n_test!r}")
        test = _first_per_class(y_test, n_test)
    return Dataset(
        preprocess(raw["x_train"][train]),
        raw["y_train"][train].astype(np.float32),
        preprocess(raw["x_test"][test]),
        y_test[test].astype(np.float32),
    )


def fingerprint(ds: Dataset) -> str:
    """A short hash of the dataset's contents (used in cache keys)."""
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
    if kind not in TOY_KINDS:
        raise ValueError(f"kind must be one of {TOY_KINDS}, got {kind!r}")
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 2 or n % 2:
            raise ValueError(f"{name} must be an even integer >= 2, got {n!r}")
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
