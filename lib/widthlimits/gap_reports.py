r"""How far each family's wide nets are from the reference net, in three norms, as the Figure 1 chapter reports it.

The gaps themselves are computed in :mod:`widthlimits.width_trends` (:func:`~widthlimits.width_trends.reference_gaps`,
:func:`~widthlimits.width_trends.gap_difference`); this module turns them into the chapter's tables and verdicts:

* :func:`gap_table`: each family's gap :math:`g_t = |\bar L_t - \bar L^{\mathrm{ref}}_t|` at the last step, its mean
  over steps and its sup over steps (with the step of the sup), ± seed-bootstrap standard errors.
* :func:`difference_table`: the differences of those gaps between two families, in standard errors, with a
  verdict per norm: *closer* or *farther* beyond ``level`` standard errors, else *not resolved*, together with
  the smallest difference the seeds could have resolved (``level`` standard errors). A difference that is not
  resolved is not evidence that the two gaps are equal.
* :func:`gaps_across_lrs`: the same differences at several reference learning rates; :func:`lr_gap_sweep` trains
  the reference and the wide nets at those rates first (cached sweeps of :mod:`widthlimits.experiments`).
* :func:`mirrored_loss`: the even part :math:`\tfrac12[L(f) + L(-f)]` of the logistic loss, which removes the
  first-order seed noise of a random initial function (both laws of the logits are symmetric under
  :math:`f\to-f`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from widthlimits import _validate, experiments, models, reporting, scalings
from widthlimits.data import Dataset
from widthlimits.width_trends import GapDifference, ReferenceGaps, gap_difference

#: The three norms of a gap curve, as fields of :class:`~widthlimits.width_trends.ReferenceGaps` and their labels.
NORMS = (("final", "last step"), ("mean", "mean over steps"), ("sup", "sup over steps"))


def gap_table(gaps: Mapping[str, ReferenceGaps], *, label: str = "family") -> str:
    """Markdown table of ``{family: ReferenceGaps}``: last step, mean and sup over steps (± s.e.), step of the sup."""
    if not isinstance(gaps, Mapping) or not gaps or not all(isinstance(g, ReferenceGaps) for g in gaps.values()):
        raise TypeError("gaps must be a non-empty mapping of family name -> width_trends.ReferenceGaps")
    rows = [[nm, *(reporting.pm(getattr(g, k), getattr(g, k + "_se")) for k, _ in NORMS), g.argmax]
            for nm, g in gaps.items()]
    return reporting.table([label, *(lab for _, lab in NORMS), "sup at step"], rows)


class Verdict(NamedTuple):
    """One gap difference ``a - b`` in one norm: its value, standard error, and ``word`` (``"closer"``, ``"farther"``
    or ``"not resolved"``: the sign of ``a``'s advantage beyond ``level`` s.e.), and ``resolvable``, the smallest
    difference these seeds resolve (``level`` s.e.)."""

    value: float
    se: float
    word: str
    resolvable: float


def verdicts(diff: GapDifference, *, level: float = 2.0) -> dict[str, Verdict]:
    """:class:`Verdict` of a :class:`~widthlimits.width_trends.GapDifference` in each norm (``final``, ``mean``,
    ``sup``); ``level > 0`` standard errors."""
    if not isinstance(diff, GapDifference):
        raise TypeError(f"diff must be a width_trends.GapDifference, got {type(diff).__name__}")
    level = _validate.real("level", level, low=0, open_low=True)
    out = {}
    for k, _ in NORMS:
        v, se = getattr(diff, k), getattr(diff, k + "_se")
        word = "not resolved" if abs(v) <= level * se else ("closer" if v < 0 else "farther")
        out[k] = Verdict(v, se, word, level * se)
    return out


def _in_se(v: Verdict) -> str:
    # Seeds can agree exactly (two families that coincide at a step, say): then there is no spread to divide by.
    if v.se > 0:
        return f"{v.value / v.se:+.1f}"
    return "exact" if v.value == 0 else "no seed spread"


def difference_table(diffs: Mapping[str, GapDifference], *, level: float = 2.0) -> str:
    """Markdown table of gap differences ``{row label: GapDifference}``: value ± s.e. (in s.e.) per norm, then a
    sentence with each verdict and, where not resolved, the smallest difference the seeds could have resolved."""
    if not isinstance(diffs, Mapping) or not diffs:
        raise TypeError("diffs must be a non-empty mapping of row label -> width_trends.GapDifference")
    verdict = {row: verdicts(d, level=level) for row, d in diffs.items()}
    rows = [[row, *(f"{reporting.pm(v[k].value, v[k].se)} ({_in_se(v[k])})" for k, _ in NORMS)]
            for row, v in verdict.items()]
    table = reporting.table(["gap difference (s.e.)", *(lab for _, lab in NORMS)], rows)
    said = []
    for row, v in verdict.items():
        parts = [f"{lab}: {v[k].word}" + (f" (resolvable: > {reporting.fmt(v[k].resolvable)})"
                                          if v[k].word == "not resolved" else "") for k, lab in NORMS]
        said.append(f"{row}: " + ", ".join(parts))
    return table + f"\n\nBeyond {level:g} standard errors, the first family is " + "; ".join(said) + "."


def gaps_across_lrs(
    curves: Mapping[float, Mapping[str, np.ndarray]], reference: Mapping[float, np.ndarray], a: str, b: str,
    *, n_boot: int = 1000, seed: int = 0,
) -> dict[float, GapDifference]:
    """``{lr: gap_difference(curves[lr][a], curves[lr][b], reference[lr])}``: at each reference learning rate, the
    gaps of family ``a`` minus those of family ``b`` (curves ``(S, T+1)``, the same seeds)."""
    if not isinstance(curves, Mapping) or not isinstance(reference, Mapping) or set(curves) != set(reference):
        raise TypeError("curves and reference must be mappings with the same learning rates as keys")
    return {lr: gap_difference(curves[lr][a], curves[lr][b], reference[lr], n_boot=n_boot, seed=seed)
            for lr in sorted(curves)}


class LrGaps(NamedTuple):
    """:func:`lr_gap_sweep`: ``diffs`` ``{lr: GapDifference}`` in increasing ``lr``, and whether any run diverged."""

    diffs: dict[float, GapDifference]
    diverged: bool


def lr_gap_sweep(
    mlp: models.MLP, data: Dataset, families: Mapping[str, scalings.Scaling], a: str, b: str, *, width: int,
    lrs: tuple[float, ...], seeds: range | tuple[int, ...], n_steps: int, known: Mapping | None = None,
    ref_width: int = scalings.REF_WIDTH,
) -> LrGaps:
    """Gaps of family ``a`` minus family ``b`` at ``width`` to the reference net (width ``ref_width``, trained at the
    same rate and seeds) at each reference learning rate of ``lrs`` (:func:`gaps_across_lrs`), the runs made by two
    cached :func:`~widthlimits.experiments.sweep` calls; ``known`` ``{lr: ({family: (S, T+1)}, (S, T+1))}`` adds
    test-loss curves of rates already run (the families' and the reference's), so they are not trained again."""
    if a not in families or b not in families:
        raise ValueError(f"a and b must name families of {tuple(families)}, got {a!r} and {b!r}")
    kw = dict(seeds=seeds, n_steps=n_steps, ref_lrs=lrs)
    ref = experiments.sweep(mlp, [ref_width], {a: families[a]}, data, **kw)
    wide = experiments.sweep(mlp, [width], {a: families[a], b: families[b]}, data, **kw)
    curves = {lr: {nm: wide.sel(width=width, family=nm, lr=lr).test_loss for nm in (a, b)} for lr in lrs}
    refs = {lr: ref.sel(width=ref_width, family=a, lr=lr).test_loss for lr in lrs}
    for lr, (fams, r) in dict(known or {}).items():
        curves[lr], refs[lr] = fams, r
    return LrGaps(gaps_across_lrs(curves, refs, a, b), bool(ref.diverged() or wide.diverged()))



def even_step0(
    mlp: models.MLP, data: Dataset, width: int, *, seeds: range | tuple[int, ...], ref_width: int = scalings.REF_WIDTH
) -> dict[str, np.ndarray]:
    """``{name: (S,)}`` :func:`mirrored_loss` of fresh draws' test logits at step 0 (no training, so many seeds are
    cheap; :func:`~widthlimits.experiments.at_init`): ``"reference"`` (SP at ``ref_width``), ``"IC-MF"`` (SP at
    ``width``: an IC-MF net starts from the SP logits of its own draw) and ``"MF"`` (MF at ``width``)."""
    fams = {"SP": scalings.preset("sp"), "MF": scalings.preset("mf")}
    init = experiments.at_init(mlp, sorted({ref_width, width}), fams, data.x_test, seeds=seeds, ref_width=ref_width)
    loss = {nm: mirrored_loss(init.sel(width=w, family=f).logits, data.y_test)
            for nm, w, f in [("reference", ref_width, "SP"), ("IC-MF", width, "SP"), ("MF", width, "MF")]}
    return loss


def mirrored_loss(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""``(...,)`` mean over the last axis of :math:`\tfrac12[\ell(y, f) + \ell(y, -f)] = \log(2\cosh(f/2))` for
    ``logits (..., n)``; ``y (n,)`` labels in ``{0, 1}`` (the even part does not depend on them; they are checked
    for shape only). Its seed-to-seed spread is second order in the logits."""
    f = np.asarray(_validate.array("logits", np.asarray(logits), kinds="f", min_size=1), dtype=float)
    _validate.labels("y", y, f.shape[-1])
    return np.mean(np.logaddexp(f / 2, -f / 2), axis=-1)
