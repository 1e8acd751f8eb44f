"""Results of a sweep: the :class:`Sweep` container, and its JSON results files (shipped ones included).

A :class:`Sweep` holds the :class:`~widthlimits.training.History` of every ``(width, family, lr, seed)`` run
of :func:`widthlimits.experiments.sweep`. :func:`sweep_to_json` writes the fields a chapter needs, rounded, with
a record of how they were made; :func:`sweep_from_json` reads such a file back, checking its axes and every
stored field against each other; :func:`load_asset` reads one shipped in the package (``widthlimits/_assets``).
These are re-exported by :mod:`widthlimits.experiments`, their historical home.

A *panels* file (format ``widthlimits.figure2/1``, written by ``scripts/run_figure2.py``) holds several sweeps,
each with its own record and extra per-run arrays; :func:`panels_from_json` reads and checks it. :func:`load_sweep`
and :func:`load_panels` read the results file named by an environment variable, else the shipped one, and say
which they read.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

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

    #: The leading axes of every history leaf, in order; ``step`` is the first per-run axis of every field but
    #: ``nonfinite_step``.
    AXES = ("width", "family", "lr", "seed")

    def sel(self, **labels) -> training.History:
        """The history at the named labels: ``sel(width=128, family="mf", seed=0, step=-1)``.

        Each keyword names an axis (``width``, ``family``, ``lr``, ``seed``, ``step``); a single value indexes
        the axis away, a list or tuple of values keeps it with those entries (in that order); an axis not named
        is kept whole. ``lr="default"`` selects the family's default rate of a sweep run with ``ref_lrs=None``;
        an ``lr`` axis of one entry is dropped when ``lr`` is not named, so such sweeps never carry it. ``step``
        takes step numbers ``0..n_steps`` (negative ones count from the end) and applies to every field with a
        step axis. The remaining axes keep the order ``(width, family, lr, seed)`` followed by the per-run axes.
        """
        pick = self._selector(labels, "sel")
        fields = training.History._fields
        return training.History(*(pick(getattr(self.history, f), f != "nonfinite_step") for f in fields))

    def sel_array(self, values, **labels) -> np.ndarray:
        """:meth:`sel` on one array laid out like a history field, ``values (W, K, L, S, T+1, ...)``.

        For per-run records that are not :class:`~widthlimits.training.History` fields (a results file's extra
        arrays, such as the RMS test logit at every step); ``step`` indexes the fifth axis.
        """
        values = np.asarray(values)
        lead = (len(self.widths), len(self.families), len(self.ref_lrs), len(self.seeds))
        if values.ndim < 4 or values.shape[:4] != lead:
            raise ValueError(f"values must have the leading axes (width, family, lr, seed) {lead}, got {values.shape}")
        if labels.get("step") is not None and (values.ndim < 5 or values.shape[4] != self.n_steps + 1):
            raise ValueError(f"values must have a step axis (axis 4) of n_steps + 1 = {self.n_steps + 1} steps")
        return self._selector(labels, "sel_array")(values, True)

    def _selector(self, labels: dict, caller: str):
        """``pick(leaf, stepped)``: ``labels`` applied to an array with the four leading axes (then steps)."""
        unknown = sorted(set(labels) - {*self.AXES, "step"})
        if unknown:
            raise TypeError(f"{caller} takes the axes {(*self.AXES, 'step')} as keywords, got {unknown}")
        labels = dict(labels)
        if "lr" not in labels and len(self.ref_lrs) == 1:
            labels["lr"] = "default" if self.ref_lrs[0] is None else self.ref_lrs[0]
        finders = dict(
            width=lambda v: self._index_of("width", v, self.widths),
            family=lambda v: self._index_of("family", v, self.families),
            lr=self._lr_label,
            seed=lambda v: self._index_of("seed", v, self.seeds),
        )
        index = []
        for axis in self.AXES:
            if axis not in labels:
                index.append(slice(None))
                continue
            value = labels[axis]
            many = isinstance(value, list | tuple)
            index.append([finders[axis](v) for v in value] if many else finders[axis](value))
        # Lists of indices on several axes would be paired up by NumPy; np.ix_-style selection keeps them apart.
        basic, mesh = self._lead_index(index)
        step = labels.get("step")
        if step is not None:
            many = isinstance(step, list | tuple)
            steps = [self._step_index(v) for v in step] if many else self._step_index(step)

        def pick(leaf, stepped):
            if leaf is None:
                return None
            out = leaf[basic] if mesh is None else leaf[basic][mesh]
            if step is not None and stepped:
                kept = out.ndim - (leaf.ndim - 4)  # axes left of the per-run ones
                out = np.take(out, steps, axis=kept)
            return out

        return pick

    def _lead_index(self, index: list) -> tuple[tuple, tuple | None]:
        """``(basic, mesh)``: ``leaf[basic][mesh]`` indexes the four leading axes, lists acting independently
        (outer indexing, as in xarray; NumPy would pair two lists up). ``mesh`` is ``None`` where one suffices."""
        if sum(isinstance(i, list) for i in index) <= 1:
            return tuple(index), None
        # Two steps: scalars and slices first, then the lists as an open mesh on the axes that remain.
        basic = tuple(slice(None) if isinstance(i, list) else i for i in index)
        kept = [i for i in index if not isinstance(i, int)]
        mesh = np.ix_(
            *[np.asarray(i) if isinstance(i, list) else np.arange(n) for i, n in zip(kept, self._kept_sizes(index))]
        )
        return (basic, mesh)

    def _kept_sizes(self, index: list) -> list[int]:
        sizes = (len(self.widths), len(self.families), len(self.ref_lrs), len(self.seeds))
        return [n for i, n in zip(index, sizes) if not isinstance(i, int)]

    def _step_index(self, step) -> int:
        step = _validate.integer("step", step, low=-(self.n_steps + 1), high=self.n_steps)
        return step % (self.n_steps + 1)

    def _lr_label(self, lr) -> int:
        if isinstance(lr, str):
            if lr != "default" or None not in self.ref_lrs:
                raise ValueError(f"lr must be one of this sweep's ref_lrs {self.ref_lrs}, got {lr!r}")
            return self.ref_lrs.index(None)
        return self._lr_index(lr)

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
    if "hat_step" in h and "hat_distance" not in h:  # the field's name before it was renamed (same values)
        h = {("hat_distance" if k == "hat_step" else k): v for k, v in h.items()}
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
    per_run_ndim = dict(test_logits=2, kernel=3, preact_rms=2, hat_distance=2, nonfinite_step=0)
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


def _asset_text(name: str, param: str = "name") -> str:
    """The text of a results file shipped in ``widthlimits/_assets``; ``name`` a bare file name listed there."""
    if not isinstance(name, str):
        raise TypeError(f"{param} must be a file name (str), got {type(name).__name__}")
    assets = resources.files("widthlimits") / "_assets"
    available = sorted(p.name for p in assets.iterdir() if p.name.endswith(".json"))
    # A bare name only: "../data.py" or an absolute path would reach outside the assets folder.
    if name not in available:
        raise ValueError(f"{param} must be one of the results files in widthlimits/_assets {available}, got {name!r}")
    return (assets / name).read_text()


def load_asset(name: str) -> tuple[Sweep, dict]:
    """A sweep results file shipped in the package (``widthlimits/_assets/<name>``): ``(Sweep, meta)``."""
    return sweep_from_json(json.loads(_asset_text(name)))


#: The format tag of a panels file (several sweeps, as ``scripts/run_figure2.py`` writes them).
PANELS_FORMAT = "widthlimits.figure2/1"


class Panel(NamedTuple):
    """One sweep of a panels file: the sweep, its own record, and its extra per-run arrays by name.

    ``extra`` arrays have a leading width axis; those with five axes or more are laid out like a history field,
    ``(W, K, L, S, T+1, ...)`` (e.g. ``test_logit_rms``), and are read by label with :meth:`Sweep.sel_array`.
    """

    sweep: Sweep
    meta: dict
    extra: dict[str, np.ndarray]


def panels_from_json(obj: Mapping) -> tuple[dict[str, Panel], dict]:
    """``({name: Panel}, meta)`` from a panels file's dict (format :data:`PANELS_FORMAT`).

    Each panel is checked as :func:`sweep_from_json` checks a sweep; its extra arrays must be numeric with one
    row per width (and all of the sweep's axes if they have five or more), and the widths the file's settings
    record for a panel must be the panel's own.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"obj must be a mapping (a parsed JSON object), got {type(obj).__name__}")
    if obj.get("format") != PANELS_FORMAT:
        raise ValueError(f"obj must be a {PANELS_FORMAT} dict, got format {obj.get('format')!r}")
    meta, raw = obj.get("meta"), obj.get("panels")
    if not isinstance(meta, Mapping) or not isinstance(raw, Mapping) or not raw:
        raise ValueError("obj must hold the object 'meta' and a non-empty object 'panels'")
    settings = meta.get("settings")
    recorded = settings.get("widths") if isinstance(settings, Mapping) else None
    panels = {}
    for name, panel in raw.items():
        where = f"obj['panels'][{name!r}]"
        if not isinstance(panel, Mapping):
            raise ValueError(f"{where} must be an object (a sweep), got {type(panel).__name__}")
        try:
            sw, pmeta = sweep_from_json(panel)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from None
        if isinstance(recorded, Mapping) and name in recorded and list(recorded[name]) != list(sw.widths):
            raise ValueError(f"{where} has the widths {sw.widths}, but the file's settings record {recorded[name]}")
        extra_in = panel.get("extra", {})
        if not isinstance(extra_in, Mapping):
            raise ValueError(f"{where}['extra'] must be an object of arrays, got {type(extra_in).__name__}")
        extra = {}
        lead = (len(sw.widths), len(sw.families), len(sw.ref_lrs), len(sw.seeds), sw.n_steps + 1)
        for key, values in extra_in.items():
            try:
                a = np.asarray(values)
            except ValueError as err:  # ragged nested lists
                raise ValueError(f"{where}['extra'][{key!r}] is not a rectangular array: {err}") from None
            want = lead if a.ndim >= 5 else lead[:1]  # a per-run record carries the sweep's axes, others widths
            if a.dtype.kind not in "iuf" or a.ndim < 1 or a.shape[: len(want)] != want:
                raise ValueError(f"{where}['extra'][{key!r}] must be numeric of shape {want} + ..., got {a.shape}")
            extra[key] = a
        panels[name] = Panel(sw, pmeta, extra)
    return panels, dict(meta)


def _read(asset: str, env: str | None) -> tuple[dict, str]:
    """The parsed results file named by ``$env`` (if set and non-empty), else the shipped ``asset``, and a
    Markdown description of which it is."""
    if env is not None and not isinstance(env, str):
        raise TypeError(f"env must be the name of an environment variable (str) or None, got {type(env).__name__}")
    custom = os.environ.get(env) if env else None
    if custom:
        path = Path(custom)
        if not path.is_file():
            raise ValueError(f"${env} must name a results file, got {custom!r} (no such file)")
        return json.loads(path.read_text()), f"`{custom}` (from `${env}`)"
    return json.loads(_asset_text(asset, "asset")), f"`widthlimits/_assets/{asset}` (shipped with the library)"


def load_sweep(asset: str, *, env: str | None = None) -> tuple[Sweep, dict, str]:
    """``(Sweep, meta, origin)`` of the results file named by ``$env``, else of ``asset``; ``origin`` says which."""
    obj, origin = _read(asset, env)
    return (*sweep_from_json(obj), origin)


def load_panels(asset: str, *, env: str | None = None) -> tuple[dict[str, Panel], dict, str]:
    """``(panels, meta, origin)`` (:func:`panels_from_json`) of the file named by ``$env``, else of ``asset``."""
    obj, origin = _read(asset, env)
    return (*panels_from_json(obj), origin)
