"""Experiment size, chosen by one switch: the environment variable ``WIDTHLIMITS_PROFILE``.

* ``quick``: seconds per chapter; used by the tests and by CI's book build.
* ``book``: the default; each chapter runs in a few minutes on a 2-core CPU.
* ``paper``: the papers' settings (widths up to 2^16, 5 seeds); meant for a GPU, or for a long CPU run.

Every chapter reads the profile once::

    P = profiles.current()
    widths = P.widths                       # shared defaults
    n_probe = P.pick(quick=4, book=32, paper=256)   # a chapter-specific knob
"""

from __future__ import annotations

import dataclasses
import os
from typing import TypeVar

from widthlimits import _validate

ENV_VAR = "WIDTHLIMITS_PROFILE"
DEFAULT = "book"
#: The profile names; :meth:`Profile.pick` takes one value per name.
NAMES = ("quick", "book", "paper")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes shared by the chapters.

    Attributes:
      name: ``"quick"``, ``"book"`` or ``"paper"``.
      widths: hidden widths of the training sweeps (the reference width 128 is always included).
      n_seeds: independent initialisations per configuration.
      n_steps: full-batch optimisation steps.
      n_train: training-set size (class balanced).
      n_test: test-set size (``None``: every test image the data source has).
    """

    name: str
    widths: tuple[int, ...]
    n_seeds: int
    n_steps: int
    n_train: int
    n_test: int | None

    def __post_init__(self):
        # A profile sizes every chapter's experiments, so a bad one must fail here, not minutes into a sweep.
        _validate.choice("name", self.name, NAMES)
        widths = _validate.integers("widths", self.widths, low=1, high=_validate.MAX_WIDTH)
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "n_seeds", _validate.integer("n_seeds", self.n_seeds, low=1))
        object.__setattr__(self, "n_steps", _validate.integer("n_steps", self.n_steps, low=0))
        for field in ("n_train", "n_test"):
            value = getattr(self, field)
            if field == "n_test" and value is None:
                continue
            value = _validate.integer(field, value, low=2)
            if value % 2:
                raise ValueError(f"{field} must be an even integer >= 2 (class balanced), got {value}")
            object.__setattr__(self, field, value)

    def pick(self, *, quick: T, book: T, paper: T) -> T:
        """The value given for the active profile."""
        return {"quick": quick, "book": book, "paper": paper}[self.name]


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", widths=(64, 128, 256, 512), n_seeds=2, n_steps=10, n_train=256, n_test=256),
    "book": Profile("book", widths=(64, 128, 256, 512, 1024), n_seeds=3, n_steps=50, n_train=1000, n_test=1000),
    "paper": Profile(
        "paper", widths=tuple(2**k for k in range(7, 17)), n_seeds=5, n_steps=50, n_train=1000, n_test=None
    ),
}


def get(name: str) -> Profile:
    """The profile called ``name``; raises ``ValueError`` for an unknown name (``TypeError`` for a non-string)."""
    if not isinstance(name, str):
        raise TypeError(f"name (a profile name) must be one of {sorted(PROFILES)}, got {name!r}")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"name (a profile name) must be one of {sorted(PROFILES)}, got {name!r}") from None


def current() -> Profile:
    """The profile selected by ``$WIDTHLIMITS_PROFILE`` (default ``book``)."""
    name = os.environ.get(ENV_VAR, DEFAULT).strip().lower() or DEFAULT
    try:
        return get(name)
    except ValueError as err:
        raise ValueError(f"{ENV_VAR}: {err}") from None
