r"""Which properties of the finite reference net a family keeps as :math:`d\to\infty`, measured as width exponents.

:cite:t:`golikov2020dynamically` names three properties of a finite network, each a statement that a quantity
neither vanishes nor blows up with width, i.e. that its width exponent is 0:

* **P1**, random logits of order one at initialisation: the root-mean-square logit over fresh draws;
* **P2**, a learning-rate-weighted tangent kernel of order one at initialisation: the mean of its diagonal
  (summed over the layers) on the probe points;
* **P3**, a kernel that moves during training by a fraction of itself: the kernel change
  :math:`\mathbb E_x|\Theta^{(T)}(x,x)/\Theta^{(0)}(x,x) - 1|` over a run of ``T`` steps
  (:func:`widthlimits.measure.kernel_change`).

A fourth quantity, the kernel change in the first step, carries the first-order exponent that the kernel change
shows before its coherent part builds up. P1 and P2 are read off fresh initialisations
(:func:`widthlimits.experiments.at_init`, which affords more seeds), P3 and the first step off training runs
(:func:`widthlimits.experiments.sweep`). Every exponent is a :func:`~widthlimits.measure.bootstrap_slope` over
seeds; a property is kept or lost by :func:`~widthlimits.measure.exponent_verdict`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from widthlimits import _validate, measure, scalings
from widthlimits.experiments import InitStats
from widthlimits.limit_models import LIMIT_MODELS, classify
from widthlimits.measure import PowerLaw
from widthlimits.results_files import Sweep


def quantity_names(n_steps: int) -> tuple[str, str, str, str]:
    """The four measured quantities, in order (P1, P2, P3, first step), named for a run of ``n_steps >= 1``."""
    n_steps = _validate.integer("n_steps", n_steps, low=1)
    return ("logit scale at init", "kernel at init", f"kernel change over {n_steps} steps", "kernel change in step 1")


def _check(init: object, sweep: object, family: object, draws: object) -> tuple[str, str]:
    if not isinstance(init, InitStats):
        raise TypeError(f"init must be experiments.InitStats (from at_init), got {type(init).__name__}")
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a Sweep (from experiments.sweep), got {type(sweep).__name__}")
    if sweep.n_steps < 1:
        raise ValueError(f"sweep must train for at least one step to measure a kernel change, got {sweep.n_steps}")
    if family not in sweep.families:
        raise ValueError(f"family must be one of the sweep's families {sweep.families}, got {family!r}")
    if not (isinstance(draws, tuple) and len(draws) == 2 and all(d in init.families for d in draws)):
        raise ValueError(
            f"draws must be (family of the initial logits, family of the initial kernel), two of {init.families}, "
            f"got {draws!r}"
        )
    return draws


def samples(
    init: InitStats, sweep: Sweep, family: str, *, draws: tuple[str, str], width: int | None = None
) -> dict[str, np.ndarray]:
    """The four quantities of ``family`` per ``(width, seed)`` (or per seed at one ``width``), by name.

    ``draws`` names the :class:`~widthlimits.experiments.InitStats` families whose initial logits and initial
    kernel are the family's: its own for a plain scaling; for an initialisation-corrected family, whose logits at
    step 0 are SP's and whose kernel is its scaling's, ``("SP", <scaling>)``.
    """
    logits_of, kernel_of = _check(init, sweep, family, draws)
    at = {} if width is None else {"width": width}
    kernel = sweep.sel(family=family, **at).kernel
    values = (
        measure.rms(init.sel(family=logits_of, **at).logits, axis=-1),
        init.sel(family=kernel_of, **at).kernel.sum(-2).mean(-1),
        measure.kernel_change(kernel, -1),
        measure.kernel_change(kernel, 1),
    )
    return dict(zip(quantity_names(sweep.n_steps), values))


def at_reference(
    init: InitStats, sweep: Sweep, family: str, *, draws: tuple[str, str], ref_width: int = scalings.REF_WIDTH
) -> dict[str, float]:
    """The four quantities at the reference width, over all seeds: the RMS logit over seeds and points, the
    others as means (:func:`samples` for ``family`` and ``draws``). ``ref_width`` must be a width of both."""
    logits_of, kernel_of = _check(init, sweep, family, draws)
    kernel = sweep.sel(width=ref_width, family=family).kernel
    values = (
        measure.rms(init.sel(width=ref_width, family=logits_of).logits),
        np.mean(init.sel(width=ref_width, family=kernel_of).kernel.sum(-2)),
        np.mean(measure.kernel_change(kernel, -1)),
        np.mean(measure.kernel_change(kernel, 1)),
    )
    return dict(zip(quantity_names(sweep.n_steps), (float(v) for v in values)))


class Measured(NamedTuple):
    """What :func:`measure_family` finds for one family.

    Attributes:
      at_ref: the four quantities at the reference width (:func:`at_reference`).
      fits: their width exponents, in the order of :func:`quantity_names`.
      kept: P1, P2, P3 as measured: ``True`` kept, ``False`` lost, ``None`` undecided at these widths.
    """

    at_ref: dict[str, float]
    fits: tuple[PowerLaw, PowerLaw, PowerLaw, PowerLaw]
    kept: tuple[bool | None, bool | None, bool | None]


def measure_family(
    init: InitStats,
    sweep: Sweep,
    family: str,
    *,
    draws: tuple[str, str],
    keep: float,
    lose: float,
    n_boot: int = 200,
    ref_width: int = scalings.REF_WIDTH,
) -> Measured:
    """Width exponents of the four quantities of ``family`` (seed bootstrap, ``n_boot`` resamples) and the verdicts
    on P1–P3 (``|exponent| <= keep`` kept, ``>= lose`` lost, ``0 <= keep < lose``).

    The logit scale's exponent is that of the RMS over seeds (the statistic resampled), the others of the mean.
    """
    measure.exponent_verdict(0.0, keep=keep, lose=lose)  # checks keep and lose before the bootstraps run
    per_width = samples(init, sweep, family, draws=draws)
    widths = (init.widths, init.widths, sweep.widths, sweep.widths)
    statistics = (measure.rms, np.mean, np.mean, np.mean)
    fits = tuple(
        measure.bootstrap_slope(w, v, statistic=s, n_boot=n_boot)
        for w, v, s in zip(widths, per_width.values(), statistics)
    )
    kept = tuple(measure.exponent_verdict(f.slope, keep=keep, lose=lose) for f in fits[:3])
    return Measured(at_reference(init, sweep, family, draws=draws, ref_width=ref_width), fits, kept)


#: How a verdict is shown: kept, lost, undecided.
MARKS = {True: "✓", False: "✗", None: "?"}


def marks(verdicts: tuple[bool | None, ...]) -> str:
    """``(True, False, None) -> "✓ ✗ ?"``: verdicts on properties as a table shows them."""
    if not isinstance(verdicts, tuple) or not all(v is None or isinstance(v, bool | np.bool_) for v in verdicts):
        raise TypeError(f"verdicts must be a tuple of True, False or None, got {verdicts!r}")
    return " ".join(MARKS[None if v is None else bool(v)] for v in verdicts)


def table(
    measured: dict[str, Measured], derived: dict[str, tuple[bool, ...]], reference: dict[str, float]
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table (for :func:`widthlimits.reporting.table`): the reference net's
    values, then per family each quantity's value at the reference width and its exponent, the measured
    verdicts and the derived ones. ``derived`` must hold every family of ``measured``."""
    missing = sorted(set(measured) - set(derived))
    if missing:
        raise ValueError(f"derived must hold the derived properties of every measured family, missing {missing}")
    d_ref = f"$d={scalings.REF_WIDTH}$"
    header = ["", *(f"{q}: value at {d_ref} / exponent" for q in reference), "P1 P2 P3 measured", "derived"]
    rows = [[f"reference net ({d_ref})", *(f"{v:.3g}" for v in reference.values()), "", ""]]
    for name, m in measured.items():
        cells = [f"{v:.3g} / {f.slope:+.2f}" for v, f in zip(m.at_ref.values(), m.fits)]
        rows.append([name, *cells, marks(m.kept), marks(tuple(derived[name]))])
    return header, rows


#: Two readings of "boundedness" in P1 and P2: exactly of order one (neither vanishing nor growing, the book's
#: choice), or merely bounded (not growing). P3, a kernel that moves by a fraction of itself, reads ``q_h = 0``
#: either way.
READINGS = ("Θ(1)", "O(1)")


def readings(*, atol: float = 1e-9) -> dict[str, dict[str, tuple[bool, bool, bool]]]:
    r"""P1–P3 of each of the 13 :data:`~widthlimits.limit_models.LIMIT_MODELS` under both :data:`READINGS`.

    From the derived exponents of each cell's main example point: P1 is :math:`q_0 = 0` (Θ(1)) or
    :math:`q_0 \le 0` (O(1)), P2 the same for :math:`q_K`, P3 is :math:`q_h = 0`. ``atol`` decides equalities.
    Returns ``{cell name: {reading: (P1, P2, P3)}}`` in the cells' order.
    """
    atol = _validate.real("atol", atol, low=0, high=0.01, open_high=True)
    out = {}
    for m in LIMIT_MODELS:
        c = classify(scalings.from_hat(*m.examples[0]), atol=atol)  # its properties are the Θ(1) reading
        e, kept = c.exponents, tuple(c.properties)
        out[m.name] = {"Θ(1)": kept, "O(1)": (e.q_0 <= atol, e.q_K <= atol, kept[2])}
    return out


def readings_table(by_cell: dict[str, dict[str, tuple[bool, bool, bool]]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (for :func:`widthlimits.reporting.table`) of :func:`readings`: per cell its marks and its
    number of properties kept under each reading, then a row counting the distinct combinations of marks."""
    if not isinstance(by_cell, dict) or not all(set(v) == set(READINGS) for v in by_cell.values()):
        raise TypeError(f"by_cell must map cell names to {{reading: (P1, P2, P3)}} for readings {READINGS}")
    header = ["cell", *(f"P1 P2 P3 ({r})" for r in READINGS), *(f"kept ({r})" for r in READINGS)]
    rows = [[name, *(marks(p[r]) for r in READINGS), *(str(sum(p[r])) for r in READINGS)]
            for name, p in by_cell.items()]
    distinct = [str(len({p[r] for p in by_cell.values()})) for r in READINGS]
    rows.append([f"distinct combinations over {len(by_cell)} cells", *distinct, "", ""])
    return header, rows
