"""Results of a sweep: the :class:`Sweep` container, and its JSON results files (shipped ones included).

A :class:`Sweep` holds the :class:`~widthlimits.training.History` of every ``(width, family, lr, seed)`` run
of :func:`widthlimits.experiments.sweep`. :func:`sweep_to_json` writes the fields a chapter needs, rounded, with
a record of how they were made; :func:`sweep_from_json` reads such a file back, checking its axes and every
stored field against each other; :func:`load_asset` reads one shipped in the package (``widthlimits/_assets``).
All are re-exported by :mod:`widthlimits.experiments`, their historical home.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from importlib import resources

import jax
import numpy as np

from widthlimits import _validate, training


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Results of :func:`~widthlimits.experiments.sweep`.

    ``history`` is a :class:`~widthlimits.training.History` of numpy arrays whose leaves carry the leading
    axes ``(width, family, lr, seed)`` before the per-run axes documented there.
    """

    widths: tuple[int, ...]
    families: tuple[str, ...]
    ref_lrs: tuple[float | None, ...]
    seeds: tuple[int, ...]
    n_steps: int
    history: training.History
    #: Wall-clock seconds spent on each width (near zero where it came from the cache) and whether it did.
    seconds: tuple[float, ...] = dataclasses.field(default=(), compare=False)
    cached: tuple[bool, ...] = dataclasses.field(default=(), compare=False)

    def get(
        self,
        *,
        width: int | None = None,
        family: str | None = None,
        lr: float | None = None,
        seed: int | None = None,
    ) -> training.History:
        """The history with the named axes indexed away (``None`` keeps an axis).

        Each value must be one of the sweep's own (``widths``, ``families``, ``ref_lrs``, ``seeds``); a
        learning rate also matches its float32 rounding (``jnp.float32(0.02)`` finds ``0.02``).
        """
        index = (
            slice(None) if width is None else self._index_of("width", width, self.widths),
            slice(None) if family is None else self._index_of("family", family, self.families),
            slice(None) if lr is None else self._lr_index(lr),
            slice(None) if seed is None else self._index_of("seed", seed, self.seeds),
        )
        return jax.tree.map(lambda a: a[index], self.history)

    @staticmethod
    def _index_of(name: str, value, options: tuple) -> int:
        if name == "family":
            if not isinstance(value, str):
                raise TypeError(f"family must be a family name, one of {options}, got {value!r}")
        else:  # an int-valued axis: True or 8.0 would otherwise match 1 or 8 through ==
            value = _validate.integer(name, value)
        if value not in options:
            plural = "families" if name == "family" else f"{name}s"
            raise ValueError(f"{name} must be one of this sweep's {plural} {options} (or None for all), got {value!r}")
        return options.index(value)

    def _lr_index(self, lr) -> int:
        lr = _validate.real("lr", lr, low=0, open_low=True)
        if all(v is None for v in self.ref_lrs):
            raise ValueError(
                f"lr must be None: this sweep used each family's default learning rate (ref_lrs=None), got {lr!r}"
            )
        for i, v in enumerate(self.ref_lrs):
            if v is not None and (v == lr or np.float32(v) == np.float32(lr)):
                return i
        raise ValueError(f"lr must be one of this sweep's ref_lrs {self.ref_lrs} (or None for all), got {lr!r}")

    def diverged(self) -> list[dict]:
        """One record per diverged run (NaN, inf or a blow-up, see ``divergence``): width, family, lr, seed, step."""
        bad = self.history.nonfinite_step
        return [
            dict(
                width=self.widths[i],
                family=self.families[j],
                lr=self.ref_lrs[k],
                seed=self.seeds[s],
                step=int(bad[i, j, k, s]),
            )
            for i, j, k, s in zip(*np.nonzero(bad >= 0))
        ]


def sweep_to_json(sw: Sweep, *, fields: Sequence[str], meta: Mapping, digits: int = 6) -> dict:
    """A JSON-ready dict of a sweep: its axes, the chosen history ``fields`` (rounded to ``digits`` significant
    digits) and ``meta`` (command, device, versions, ...). :func:`sweep_from_json` reads it back."""
    if not isinstance(sw, Sweep):
        raise TypeError(f"sw must be a Sweep, got {type(sw).__name__}")
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise TypeError(f"fields must be a sequence of History field names, got {type(fields).__name__}")
    bad = [f for f in fields if not isinstance(f, str) or f not in training.History._fields]
    if bad:
        raise ValueError(f"fields must be History fields {training.History._fields}, got {bad}")
    absent = [f for f in (*fields, "nonfinite_step") if getattr(sw.history, f) is None]
    if absent:
        raise ValueError(f"fields must be stored in this sweep; {absent} are not (it was read from a results file)")
    fields = tuple(dict.fromkeys(fields))  # a repeated field would be written once anyway
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping, got {type(meta).__name__}")
    digits = _validate.integer("digits", digits, low=1, high=17)

    def rounded(a):
        a = np.asarray(a)
        return a.tolist() if a.dtype.kind in "iub" else np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a).tolist()

    axes = dict(widths=sw.widths, families=sw.families, ref_lrs=sw.ref_lrs, seeds=sw.seeds, n_steps=sw.n_steps)
    hist = {f: rounded(getattr(sw.history, f)) for f in dict.fromkeys((*fields, "nonfinite_step"))}
    return dict(format="widthlimits.sweep/1", meta=dict(meta), axes=axes, history=hist)


def sweep_from_json(obj: Mapping) -> tuple[Sweep, dict]:
    """``(Sweep, meta)`` from :func:`sweep_to_json`'s dict; history fields that were not stored are ``None``.

    The axes and every stored field are checked against each other (a hand-edited or truncated file fails
    here, naming what is wrong, rather than as a wrong curve).
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"obj must be a mapping (a parsed JSON object), got {type(obj).__name__}")
    if obj.get("format") != "widthlimits.sweep/1":
        raise ValueError(f"obj must be a widthlimits.sweep/1 dict, got format {obj.get('format')!r}")
    missing = [k for k in ("axes", "history", "meta") if not isinstance(obj.get(k), Mapping)]
    if missing:
        raise ValueError(f"obj must hold the objects 'axes', 'history' and 'meta'; missing or malformed: {missing}")
    ax, h = obj["axes"], obj["history"]
    absent = [k for k in ("widths", "families", "ref_lrs", "seeds", "n_steps") if k not in ax]
    if absent:
        raise ValueError(f"obj['axes'] lacks {absent}")
    widths = _validate.integers("obj['axes']['widths']", ax["widths"], low=1, high=_validate.MAX_WIDTH)
    fams = ax["families"]
    if not isinstance(fams, Sequence) or isinstance(fams, str) or not all(isinstance(f, str) for f in fams):
        raise ValueError(f"obj['axes']['families'] must be a list of names, got {fams!r}")
    if not fams or len(set(fams)) != len(fams):
        raise ValueError(f"obj['axes']['families'] must be non-empty and distinct, got {fams!r}")
    lrs_in = ax["ref_lrs"]
    if isinstance(lrs_in, str) or not isinstance(lrs_in, Sequence) or not lrs_in:
        raise ValueError(f"obj['axes']['ref_lrs'] must be a non-empty list, got {lrs_in!r}")
    lrs = tuple(
        None if v is None else _validate.real(f"obj['axes']['ref_lrs'][{i}]", v, low=0, open_low=True)
        for i, v in enumerate(lrs_in)
    )
    seeds = _validate.integers("obj['axes']['seeds']", ax["seeds"])
    n_steps = _validate.integer("obj['axes']['n_steps']", ax["n_steps"], low=0)
    unknown = sorted(set(h) - set(training.History._fields))
    if unknown or "nonfinite_step" not in h:
        raise ValueError(
            f"obj['history'] must hold History fields including 'nonfinite_step'; unknown {unknown}, "
            f"present {sorted(h)}"
        )
    lead = (len(widths), len(fams), len(lrs), len(seeds))
    per_run_ndim = dict(test_logits=2, kernel=3, preact_rms=2, hat_step=2, nonfinite_step=0)
    arrays = {}
    for f in h:
        try:
            a = np.asarray(h[f])
        except ValueError as err:  # ragged nested lists
            raise ValueError(f"obj['history'][{f!r}] is not a rectangular array: {err}") from None
        ndim = per_run_ndim.get(f, 1)
        want_kind = "iu" if f == "nonfinite_step" else "iuf"
        if a.dtype.kind not in want_kind or a.ndim != 4 + ndim or a.shape[:4] != lead:
            raise ValueError(
                f"obj['history'][{f!r}] must be a numeric array of shape (widths, families, lrs, seeds) = {lead} "
                f"followed by {ndim} per-run axes, got shape {a.shape} dtype {a.dtype}"
            )
        if ndim and a.shape[4] != n_steps + 1:
            raise ValueError(f"obj['history'][{f!r}] must have n_steps + 1 = {n_steps + 1} steps, got {a.shape[4]}")
        arrays[f] = a
    hist = training.History(**{f: arrays.get(f) for f in training.History._fields})
    sw = Sweep(widths, tuple(fams), lrs, seeds, n_steps, hist)
    return sw, dict(obj["meta"])


def load_asset(name: str) -> tuple[Sweep, dict]:
    """A sweep results file shipped in the package (``widthlimits/_assets/<name>``): ``(Sweep, meta)``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name (str), got {type(name).__name__}")
    assets = resources.files("widthlimits") / "_assets"
    available = sorted(p.name for p in assets.iterdir() if p.name.endswith(".json"))
    # A bare name only: "../data.py" or an absolute path would reach outside the assets folder.
    if name not in available:
        raise ValueError(f"name must be one of the results files in widthlimits/_assets {available}, got {name!r}")
    ref = assets / name
    return sweep_from_json(json.loads(ref.read_text()))
