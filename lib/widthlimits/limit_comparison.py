r"""How close finite nets are to their infinite-width limits, and which limit on the MF-NTK line is closest.

**Convergence to the MF limit.** The limit is known only through clouds of particles
(:func:`~widthlimits.particle_limit.mf_clouds`); :func:`distance_to_proxy` measures nets against the mean of two
independent clouds and subtracts the clouds' Monte-Carlo variance, :math:`\mathbb E(f_d - \bar f_M)^2 =
\mathbb E(f_d - f_\infty)^2 + \operatorname{Var}\bar f_M`.

**Three limits of one network.** :func:`three_limits` builds the MF, NTK and intermediate limits at one learning
rate; :func:`compare_limits` compares them with reference nets across learning rates by the two properties a limit
may keep or lose: what training adds, :math:`f^{(k)} - f^{(0)}` averaged over seeds (:func:`learned_part_error`),
and the whole law of the logits, by :math:`W_2` between fitted normals (:func:`w2_to_ref`), which unlike the
Kullback-Leibler divergences of :func:`~widthlimits.limits.logit_divergences` (:func:`limit_divergences`) stays
finite for a deterministic limit. Every estimate subtracts the limit's own sampling noise (Monte-Carlo clouds,
Gaussian-process draws). :func:`test_loss_gaps` gives the seed-averaged test losses the papers plot.

The arithmetic follows the types it is given (NumPy or JAX arrays), so a chapter's numbers do not depend on
whether it calls these functions or writes the same formulas out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from widthlimits import _validate
from widthlimits.data import Dataset
from widthlimits.limits import LimitKernels, Trajectory, kernel_limit, logit_divergences

#: The limits whose spread across samples is part of the limit: the NTK and IC-MF limits start from a Gaussian
#: process. The others start from the zero function and are deterministic; the spread of their samples is sampling
#: noise.
RANDOM_LIMITS = ("NTK", "IC-MF")


def _logits(name: str, value: Any, ndim: int) -> Any:
    """A finite float array of rank ``ndim`` (returned as given: NumPy or JAX, so the arithmetic keeps its type)."""
    if not hasattr(value, "shape"):
        value = np.asarray(value)
    return _validate.array(name, value, ndim=ndim, kinds="f")


class ProxyDistance(NamedTuple):
    r"""Finite nets against the MF limit, which is known only through two independent clouds of particles.

    With :math:`\bar f_M` the clouds' mean, :math:`\mathbb E(f_d - \bar f_M)^2 = \mathbb E(f_d - f_\infty)^2 +
    \operatorname{Var}\bar f_M` for independent draws, and :math:`\operatorname{Var}\bar f_M` is a quarter of the
    clouds' squared difference; it is subtracted.

    Attributes:
      sq_err: ``(W, S, T+1)`` squared distance of each net to the limit (mean over test points), the Monte-Carlo
        part removed (it can come out slightly negative where the nets are closer than the noise).
      mc_var: ``(T+1,)`` Monte-Carlo variance of the clouds' mean (mean over test points).
    """

    sq_err: jax.Array
    mc_var: jax.Array

    @property
    def pooled(self) -> np.ndarray:
        """``(W, S)`` RMS distance pooled over the steps ``1..T``: :math:`E(d)^2 = \\frac1T\\sum_{k\\ge1} \\ldots`."""
        return np.sqrt(np.maximum(self.sq_err[:, :, 1:].mean(-1), 1e-12))

    @property
    def initial(self) -> np.ndarray:
        """``(W, S)`` distance at initialisation, where the rate :math:`d^{-1/2}` is exact."""
        return np.sqrt(np.maximum(self.sq_err[:, :, 0], 1e-12))

    @property
    def rms_by_step(self) -> np.ndarray:
        """``(W, T+1)`` RMS over seeds of the distance at each step."""
        return np.sqrt(np.maximum(self.sq_err.mean(1), 1e-12))


def distance_to_proxy(net_logits: Any, proxies: Sequence[Trajectory]) -> ProxyDistance:
    """Distance of nets ``net_logits (W, S, T+1, n_test)`` (widths, seeds) to two MF clouds (:func:`mf_clouds`).

    The clouds must be two :class:`Trajectory` of the same data and steps (``test_logits (T+1, n_test)``).
    """
    f_d = _logits("net_logits", net_logits, 4)
    if not isinstance(proxies, Sequence) or len(proxies) != 2 or not all(isinstance(p, Trajectory) for p in proxies):
        raise TypeError("proxies must be two limits.Trajectory (two independent clouds, from mf_clouds)")
    a, b = (_logits(f"proxies[{i}].test_logits", p.test_logits, 2) for i, p in enumerate(proxies))
    if a.shape != b.shape or a.shape != f_d.shape[2:]:
        raise ValueError(f"proxies' test_logits must both have shape (T+1, n_test) = {f_d.shape[2:]}, got {a.shape}")
    f_inf = (np.asarray(a) + np.asarray(b)) / 2
    mc_var = np.mean((np.asarray(a) - b) ** 2, -1) / 4  # the variance of a mean of two
    return ProxyDistance(np.mean((f_d - f_inf) ** 2, axis=-1) - mc_var, mc_var)


def three_limits(
    k: LimitKernels, data: Dataset, gp: Any, mf_runs: Sequence[Trajectory], *, ref_lr: float, n_steps: int
) -> dict[str, np.ndarray]:
    """Test logits ``(samples, T+1, n_test)`` of the MF, NTK and intermediate limits at one learning rate.

    ``mf_runs`` are the MF limit's clouds at ``ref_lr`` (:func:`mf_clouds`), ``gp`` the NTK limit's initial draws
    ``(S, n + n_test)`` (:func:`gp_logits`; one NTK run each); the intermediate limit is deterministic (one sample).
    """
    if not mf_runs or not all(isinstance(r, Trajectory) for r in mf_runs):
        raise TypeError("mf_runs must be a non-empty sequence of limits.Trajectory (from mf_clouds)")
    gp = _logits("gp", gp, 2)
    ntk = [kernel_limit(k, data, n_steps=n_steps, f0=g, ref_lr=ref_lr) for g in gp]
    inter = kernel_limit(k, data, n_steps=n_steps, ref_lr=ref_lr)
    return {
        "MF": np.stack([np.asarray(r.test_logits) for r in mf_runs]),
        "NTK": np.stack([np.asarray(r.test_logits) for r in ntk]),
        "intermediate": np.asarray(inter.test_logits)[None],
    }


def learned_part_error(ref_logits: np.ndarray, model_logits: np.ndarray, idx: Any = None) -> float:
    r"""Error of what training adds, :math:`f^{(k)} - f^{(0)}` (sample means), RMS over points, mean over ``1..T``.

    ``ref_logits (S, T+1, n)`` (reference seeds; ``idx`` resamples them), ``model_logits (K, T+1, n)``. The limit's
    own sampling noise (Monte-Carlo clouds, Gaussian-process draws) is subtracted from the squared error: the
    variance of its mean over ``K`` samples, estimated by the sample variance over ``K``.
    """
    r = ref_logits if idx is None else ref_logits[idx]
    ref_part = (r - r[:, :1]).mean(0)
    parts = model_logits - model_logits[:, :1]
    own = parts.var(0, ddof=1).mean(-1) / len(parts) if len(parts) > 1 else 0.0
    sq = np.mean((parts.mean(0) - ref_part) ** 2, -1) - own
    return np.sqrt(np.maximum(sq, 0))[1:].mean()


def w2_to_ref(
    model_logits: np.ndarray, ref_logits: np.ndarray, *, random_limit: bool, noise_var: Any = None
) -> float:
    r""":math:`W_2` between normal laws fitted per point, :math:`\sqrt{(\mu-\mu_{\text{ref}})^2 + (s-s_{\text{ref}})^2}`
    averaged (in square) over points; ``model_logits (K, n)`` limit samples, ``ref_logits (S, n)`` reference seeds.

    The limit's own sampling variance of its mean (over its ``K`` samples) is subtracted from the squared mean part;
    a deterministic limit (``random_limit=False``) has spread zero, whatever the spread of its samples. For a random
    limit whose samples carry independent Monte-Carlo noise (the IC-MF limit's clouds of particles), ``noise_var``
    ``(n,)`` is that noise's variance per sample; it is subtracted from the samples' variance before the spread is
    taken.
    """
    k = len(model_logits)
    own = model_logits.var(0, ddof=1) / k if k > 1 else 0.0
    mean_sq = np.mean((model_logits.mean(0) - ref_logits.mean(0)) ** 2 - own)
    spread = 0.0
    if random_limit:
        noise = 0.0 if noise_var is None else np.asarray(noise_var)
        spread = np.sqrt(np.maximum(model_logits.var(0, ddof=1) - noise, 0.0))
    return np.sqrt(max(mean_sq, 0.0) + np.mean((spread - ref_logits.std(0, ddof=1)) ** 2))


@dataclasses.dataclass(frozen=True)
class LimitComparison:
    """Limits against reference nets across learning rates; every table is keyed by ``(lr, name)``.

    Attributes:
      lrs, names: the learning rates and the limits compared, in order.
      learned, learned_se: :func:`learned_part_error` and its seed-bootstrap standard error.
      learned_boot: ``(n_boot,)`` the bootstrap values; one set of resamples per learning rate, shared by every limit,
        so differences between limits can be bootstrapped too.
      w2, w2_last: :func:`w2_to_ref` averaged over the steps ``1..T``, and after the last step.
    """

    lrs: tuple[float, ...]
    names: tuple[str, ...]
    learned: dict
    learned_se: dict
    learned_boot: dict
    w2: dict
    w2_last: dict

    def crossover(self, dist: str = "w2_last", closer: str = "MF", than: str = "NTK") -> tuple[float | None, bool]:
        """The smallest learning rate at which ``closer`` beats ``than`` in ``dist`` (a table name), or None, and
        whether it stays closer at every larger rate (vacuously True if it is never closer)."""
        _validate.choice("dist", dist, ("w2", "w2_last", "learned"))
        _validate.choice("closer", closer, self.names)
        _validate.choice("than", than, self.names)
        table = getattr(self, dist)
        wins = [lr for lr in self.lrs if table[lr, closer] < table[lr, than]]
        first = min(wins) if wins else None
        return first, wins == [lr for lr in self.lrs if first is not None and lr >= first]

    def where_closer(self, dist: str = "w2_last") -> str:
        """A phrase for the rates at which the MF limit is closer than the NTK limit in ``dist`` (:meth:`crossover`)."""
        first, monotone = self.crossover(dist)
        if first is None:
            return "the NTK limit is closer at every rate of the comparison"
        return f"the MF limit is closer from $\\eta^* = {first:g}$ on" + (
            "" if monotone else " (but not at every larger rate)"
        )


def compare_limits(
    ref_logits: Mapping[float, np.ndarray],
    limit_logits: Mapping[float, Mapping[str, np.ndarray]],
    *,
    random: Sequence[str] = RANDOM_LIMITS,
    noise_var: Mapping[tuple, np.ndarray] | None = None,
    n_boot: int = 400,
    seed: int = 0,
) -> LimitComparison:
    """:class:`LimitComparison` of limits ``limit_logits[lr][name] (K, T+1, n)`` to ``ref_logits[lr] (S, T+1, n)``.

    ``random`` names the limits whose spread is part of the limit (the NTK limit's Gaussian-process start); the
    others are deterministic. ``noise_var[lr, name] (T+1, n)``, where given, is the Monte-Carlo variance of one
    sample of a random limit (:func:`w2_to_ref`). The bootstrap resamples the reference seeds ``n_boot`` times per
    learning rate, in the order of ``ref_logits``, from ``numpy.random.default_rng(seed)``.
    """
    if not isinstance(ref_logits, Mapping) or not ref_logits or not isinstance(limit_logits, Mapping):
        raise TypeError("ref_logits and limit_logits must be non-empty mappings keyed by learning rate")
    if set(limit_logits) != set(ref_logits):
        raise ValueError(f"limit_logits must have the learning rates of ref_logits {tuple(ref_logits)}")
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    seed = _validate.integer("seed", seed, low=0)
    lrs = tuple(ref_logits)
    names = tuple(limit_logits[lrs[0]])
    for lr in lrs:
        shape = _logits(f"ref_logits[{lr}]", ref_logits[lr], 3).shape
        if set(limit_logits[lr]) != set(names):
            raise ValueError(f"limit_logits[{lr}] must hold the limits {names}, got {tuple(limit_logits[lr])}")
        for name in names:
            if _logits(f"limit_logits[{lr}][{name!r}]", limit_logits[lr][name], 3).shape[1:] != shape[1:]:
                raise ValueError(f"limit_logits[{lr}][{name!r}] must have shape (K, {shape[1]}, {shape[2]})")
    noise_var = {} if noise_var is None else dict(noise_var)
    rng = np.random.default_rng(seed)
    learned, se, boot, w2, w2_last = {}, {}, {}, {}, {}
    for lr in lrs:
        r = ref_logits[lr]
        boots = rng.integers(0, len(r), size=(n_boot, len(r)))
        for name in names:
            lg = limit_logits[lr][name]
            vals = np.array([learned_part_error(r, lg, b) for b in boots])
            learned[lr, name], se[lr, name], boot[lr, name] = learned_part_error(r, lg), vals.std(), vals
            nv = noise_var.get((lr, name))
            per_step = [
                w2_to_ref(lg[:, k], r[:, k], random_limit=name in random, noise_var=None if nv is None else nv[k])
                for k in range(1, r.shape[1])
            ]
            w2[lr, name], w2_last[lr, name] = np.mean(per_step), per_step[-1]
    return LimitComparison(lrs, names, learned, se, boot, w2, w2_last)


def limit_divergences(
    limit_logits: Mapping[str, np.ndarray],
    ref_logits: np.ndarray,
    *,
    random: Sequence[str] = RANDOM_LIMITS,
    step: int = -1,
) -> dict[str, dict[str, float]]:
    """:func:`logit_divergences` of each limit ``(K, T+1, n)`` to the reference ``(S, T+1, n)`` at one ``step``.

    A limit not in ``random`` is deterministic: its law is a point mass at its samples' mean, so its Kullback-Leibler
    divergences are infinite.
    """
    ref = _logits("ref_logits", ref_logits, 3)
    step = _validate.integer("step", step, low=-ref.shape[1], high=ref.shape[1] - 1)
    out = {}
    for name, lg in limit_logits.items():
        lg = _logits(f"limit_logits[{name!r}]", lg, 3)[:, step]
        lg = lg if name in random else np.repeat(lg.mean(0, keepdims=True), 2, 0)  # a point mass
        out[name] = logit_divergences(lg, ref[:, step])
    return out


def mean_test_loss(logits: Any, y: Any) -> np.ndarray:
    """Mean logistic loss over the last axis, ``(..., n), (n,) -> (...)`` (stacks of runs, in NumPy)."""
    logits = _logits("logits", logits, np.ndim(logits))
    y = np.asarray(_validate.labels("y", y, logits.shape[-1] if np.ndim(logits) else -1))
    return np.mean(np.logaddexp(0, -(2 * y - 1) * logits), axis=-1)


def test_loss_gaps(
    ref_logits: np.ndarray, limit_logits: Mapping[str, np.ndarray], y: Any
) -> tuple[dict[str, float], float]:
    """Mean over steps ``1..T`` of ``|seed-mean test loss of a limit - the reference's|``, per limit, and the standard
    error of the reference's seed-mean loss (averaged over steps), the scale on which those gaps are noise."""
    ref_loss = mean_test_loss(ref_logits, y)
    gaps = {nm: np.abs(mean_test_loss(lg, y).mean(0) - ref_loss.mean(0))[1:].mean() for nm, lg in limit_logits.items()}
    return gaps, ref_loss.std(0, ddof=1).mean() / np.sqrt(len(ref_loss))


def w2_difference(
    limit_logits: Mapping[str, np.ndarray],
    ref_logits: np.ndarray,
    a: str,
    b: str,
    *,
    step: int,
    noise_var: Mapping[str, np.ndarray] | None = None,
    random: Sequence[str] = RANDOM_LIMITS,
    n_boot: int = 400,
    seed: int = 0,
) -> tuple[float, float]:
    """``(value, se)``: :func:`w2_to_ref` of limit ``a`` minus that of limit ``b`` at one ``step``, and its standard
    error over ``n_boot`` joint resamples of the reference seeds (``numpy.random.default_rng(seed)``).

    ``limit_logits[name] (K, T+1, n)``, ``ref_logits (S, T+1, n)``; ``noise_var[name] (T+1, n)`` as in
    :func:`compare_limits`. A random ``b`` is used with as many samples as ``a`` (its first ones): when the two
    share their first Gaussian-process draws, as the NTK and IC-MF limits do, the spread estimates then carry the
    same sampling noise. The limits' own sampling noise is not in the standard error, which is the reference's.
    """
    ref = _logits("ref_logits", ref_logits, 3)
    step = _validate.integer("step", step, low=-ref.shape[1], high=ref.shape[1] - 1)
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    noise_var = {} if noise_var is None else dict(noise_var)
    for name in (a, b):
        if name not in limit_logits:
            raise ValueError(f"a and b must name limits of {tuple(limit_logits)}, got {name!r}")
    k_a = len(limit_logits[a])
    picked = {a: limit_logits[a], b: limit_logits[b][:k_a] if b in random else limit_logits[b]}

    def w2(name: str, r: np.ndarray) -> float:
        nv = noise_var.get(name)
        nv = None if nv is None else nv[step]
        return w2_to_ref(picked[name][:, step], r, random_limit=name in random, noise_var=nv)

    r = np.asarray(ref[:, step])
    boots = np.random.default_rng(_validate.integer("seed", seed, low=0)).integers(0, len(r), (n_boot, len(r)))
    vals = [w2(a, r[i]) - w2(b, r[i]) for i in boots]
    return float(w2(a, r) - w2(b, r)), float(np.std(vals, ddof=1))
