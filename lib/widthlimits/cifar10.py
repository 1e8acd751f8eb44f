"""The official CIFAR-10 archive: download it once, verify it, and extract CIFAR2 (classes 0 and 1) from it.

:func:`download_cifar10` fetches ``cifar-10-python.tar.gz`` from :data:`CIFAR10_URL` into
``cache_dir() / "data"`` and keeps it only if its MD5 is the published :data:`CIFAR10_MD5`. From the five
training batches and the test batch it extracts the airplane (0) and automobile (1) images into
``cifar2.npz``: ``x_* (n, 32, 32, 3) uint8`` HWC pixels, ``y_*`` labels, ``exact_*`` flags (all true: the
pixels are the originals) and ``cifar10_index_*``, each image's index in its CIFAR-10 split. The SHA-256 of
that file is written beside it, in ``cifar2.npz.sha256``, and checked on every call: a modified, truncated or
foreign ``cifar2.npz`` (or one without its sidecar) is reported with a ``RuntimeWarning`` and rebuilt from the
MD5-verified archive, downloaded again if need be.

Every write goes through a temporary file (:func:`_atomic_write`; a download through a ``.part`` file), so a
kill or a checksum mismatch never leaves a partial file under a final name. ``.part`` leftovers of killed
downloads are removed before and after each download, once untouched for :data:`STALE_PART_SECONDS`.

:func:`cache_dir` (``$WIDTHLIMITS_CACHE``, else ``~/.cache/widthlimits``) is also the root of the sweep cache
(``runs/``). This module knows nothing of preprocessing: :mod:`widthlimits.data` reads the extracted file
(``source="download"``) and re-exports :func:`download_cifar10`, :func:`cache_dir` and the constants.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import pickle
import re
import tarfile
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
#: Names a local CIFAR2 ``.npz`` to use instead (read by :func:`widthlimits.data.load_raw`); a failed
#: download suggests it.
ENV_FILE = "WIDTHLIMITS_CIFAR2"
ENV_CACHE = "WIDTHLIMITS_CACHE"
#: A ``.part`` file untouched for this long is a leftover of a killed download (a live one writes every MiB,
#: and stalls longer than ``urlopen``'s 60 s timeout fail); younger ones may belong to another process.
STALE_PART_SECONDS = 600.0
_SHA256_SUFFIX = ".sha256"


def cache_dir() -> Path:
    """Root of the on-disk cache: ``$WIDTHLIMITS_CACHE`` or ``~/.cache/widthlimits``."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "widthlimits")


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


def _file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:  # in 1 MiB chunks: the archive is 163 MB
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _md5(path: Path) -> str:
    return _file_digest(path, "md5")


def _sha256(path: Path) -> str:
    return _file_digest(path, "sha256")


def _remove_stale_parts(target: Path, max_age: float = STALE_PART_SECONDS) -> int:
    """Delete ``.part`` leftovers of earlier, killed downloads of ``target``; returns how many.

    Only files not modified for ``max_age`` seconds go: a younger one may be a live download in another
    process (a second notebook kernel), whose file must not be pulled from under it.
    """
    removed, now = 0, time.time()
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        try:
            if now - part.stat().st_mtime > max_age:
                part.unlink()
                removed += 1
        except OSError:  # gone meanwhile, or not ours to delete: a leftover is harmless, never fatal
            pass
    return removed


def _fetch(url: str, target: Path, md5: str) -> None:
    """Download ``url`` to ``target`` through a temporary file; keep it only if its MD5 matches.

    Stale ``.part`` files of killed earlier downloads are removed before and after (see
    :func:`_remove_stale_parts`); this download's own ``.part`` file never outlives the call.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(target)
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
        _remove_stale_parts(target)


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

    The SHA-256 of the extracted ``cifar2.npz`` is written beside it (``cifar2.npz.sha256``) and checked on
    every call: a modified, truncated or foreign ``cifar2.npz`` (or one without its checksum file) is reported
    with a ``RuntimeWarning`` and rebuilt from the MD5-verified archive, downloaded again if need be.
    """
    if directory is not None and not isinstance(directory, str | os.PathLike):
        raise TypeError(f"directory must be a path or None, got {type(directory).__name__}")
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a non-empty string, got {url!r}")
    if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-fA-F]{32}", md5):
        raise ValueError(f"md5 must be a 32-digit hexadecimal MD5 checksum, got {md5!r}")
    md5 = md5.lower()
    root = Path(directory) if directory is not None else cache_dir() / "data"
    archive, out = root / "cifar-10-python.tar.gz", root / "cifar2.npz"
    sidecar = out.with_name(out.name + _SHA256_SUFFIX)
    if out.exists():
        problem = _verify_sha256(out, sidecar)
        if problem is None:
            return out
        warnings.warn(
            f"cached {out} {problem} (modified, truncated or not extracted by this library); rebuilding it from "
            "the verified CIFAR-10 archive",
            RuntimeWarning,
            stacklevel=2,
        )
    if archive.exists() and _md5(archive) != md5:
        warnings.warn(f"cached {archive} fails its checksum; downloading it again", RuntimeWarning, stacklevel=2)
        archive.unlink()
    if not archive.exists():
        try:
            _fetch(url, archive, md5)
        except OSError as err:
            if out.exists():  # say why a download was needed: the user may believe the data is cached
                raise OSError(
                    f"{out} failed verification and {archive} is absent, so it cannot be rebuilt: {err}"
                ) from err
            raise
    payload = _extract_cifar2(archive)
    # The npz first, then its checksum: a kill in between leaves a file without (or with a stale) checksum,
    # which the next call rebuilds; a checksum never vouches for a file it was not computed from.
    _atomic_write(out, payload)
    _atomic_write(sidecar, (hashlib.sha256(payload).hexdigest() + "\n").encode())
    return out


def _verify_sha256(path: Path, sidecar: Path) -> str | None:
    """``None`` if ``path`` matches the SHA-256 recorded in ``sidecar``, else what is wrong (for a warning)."""
    try:
        recorded = sidecar.read_text().strip().lower()
    except OSError:
        return f"has no readable checksum file {sidecar.name}"
    if not re.fullmatch(r"[0-9a-f]{64}", recorded):
        return f"has a malformed checksum file {sidecar.name}"
    try:
        actual = _sha256(path)
    except OSError as err:
        return f"cannot be read ({err})"
    if actual != recorded:
        return f"has sha256 {actual}, but {sidecar.name} records {recorded}"
    return None
