"""Build the CIFAR2 subset that ships inside the `widthlimits` package.

Usage::

    python scripts/make_cifar2_subset.py [path/to/cifar2.npz]

The source defaults to ``../shared/data/cifar2.npz`` (CIFAR-10 classes 0 and 1; see its README).
Most of that file is JPEG-decoded; we keep every *bit-exact* training image (1105: 541 airplane,
564 automobile) so that the 1000-image training subsets used in the book are lossless, and a
class-balanced test set of 1000 images: all 198 bit-exact test images plus the first JPEG-decoded
ones of each class in CIFAR-10 order. The per-image flag ``exact_test`` records which is which.

The output is deterministic (no randomness, fixed order), so re-running the script reproduces the
file byte for byte; its sha256 is printed and must match ``widthlimits.data.BUNDLED_SHA256``.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "cifar2.npz"
TARGET = ROOT / "lib" / "widthlimits" / "_assets" / "cifar2_subset.npz"
N_TEST_PER_CLASS = 500


def build(source: Path) -> bytes:
    src = np.load(source)
    keep_train = np.flatnonzero(src["exact_train"])
    keep_test = []
    for label in (0, 1):
        of_class = src["y_test"] == label
        exact = np.flatnonzero(of_class & src["exact_test"])
        lossy = np.flatnonzero(of_class & ~src["exact_test"])
        keep_test.append(np.concatenate([exact, lossy[: N_TEST_PER_CLASS - len(exact)]]))
    keep_test = np.sort(np.concatenate(keep_test))  # CIFAR-10 order
    arrays = {
        "x_train": src["x_train"][keep_train],
        "y_train": src["y_train"][keep_train],
        "exact_train": src["exact_train"][keep_train],
        "cifar10_index_train": src["cifar10_index_train"][keep_train],
        "x_test": src["x_test"][keep_test],
        "y_test": src["y_test"][keep_test],
        "exact_test": src["exact_test"][keep_test],
        "cifar10_index_test": src["cifar10_index_test"][keep_test],
    }
    buf = io.BytesIO()
    # np.savez_compressed writes zip entries with fixed timestamps, so the bytes are reproducible.
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.exists():
        raise SystemExit(f"source file not found: {source} (pass the path to cifar2.npz)")
    payload = build(source)
    TARGET.write_bytes(payload)
    print(f"wrote {TARGET} ({len(payload) / 1e6:.2f} MB)")
    print(f"sha256 {hashlib.sha256(payload).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv)
