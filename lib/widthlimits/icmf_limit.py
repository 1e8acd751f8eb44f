r"""The initialisation-corrected mean-field (IC-MF) limit model, simulated, and finite IC-MF nets against it.

The width-:math:`d` IC-MF net is :math:`f^{\mathrm{IC}}_d = f^{\mathrm{MF}}_d(\theta_k) + c_d` with the frozen offset
:math:`c_d = f^{\mathrm{SP}}_d(\theta^{\mathrm{SP}}_0) - f^{\mathrm{MF}}_d(\theta_0)`
(:func:`widthlimits.models.init_offset`). As :math:`d\to\infty` the offset converges in law to the Gaussian process
:math:`g` of the reference initialisation (its NNGP), and the MF part to a mean-field network whose particles move
by the MF map with the loss derivative evaluated at :math:`g(x_j) + \bar f^{(k)}(x_j)`. The limit model is
therefore

* a **Gaussian-process start**: :func:`gp_start` draws :math:`g\sim\mathcal N(0, K_{\mathrm{NNGP}})` on the
  training and test points (:func:`widthlimits.kernel_limit.gp_logits`);
* the **MF particle recursion with the corrected loss derivative**: :func:`icmf_limit` runs
  :func:`widthlimits.particle_limit.mf_limit` with ``offset`` = :math:`g`, one run per draw.

Its step-0 logits are :math:`g` itself (the MF part of the limit starts at zero), so its step-0 loss is the
reference's *law* at initialisation, not :math:`\log 2` as for the MF limit.

**Finite nets against the limit, draw by draw.** Conditioning on the offset couples a net to the limit: run the
recursion with the net's own :math:`c_d` (:func:`net_offsets`) and compare logits (:func:`coupled_distance`). What
is left is the MF part's finite-width error, which the central limit theorem puts at :math:`O(d^{-1/2})`; the
offset's own convergence in law is that of the NNGP. The limit is known only through clouds of ``M`` particles;
two independent clouds give its Monte-Carlo variance, which is subtracted, as in
:func:`widthlimits.limit_comparison.distance_to_proxy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np

from widthlimits import _validate, experiments, models, scalings
from widthlimits import data as data_mod
from widthlimits import limit_comparison as comparison
from widthlimits import logit_statistics as laws
from widthlimits.data import Dataset
from widthlimits.kernel_limit import LimitKernels, Trajectory, gp_logits, limit_kernels
from widthlimits.particle_limit import Particles, mf_limit, mf_particles


def gp_start(mlp: models.MLP, data: Dataset, *, key: jax.Array, n_samples: int) -> np.ndarray:
    """``(n_samples, n + n_test)`` draws of the reference's Gaussian-process initial function on the training and
    test points of ``data`` (training points first): the IC-MF limit's start."""
    return np.asarray(gp_logits(limit_kernels(mlp, data), key=key, n_samples=n_samples))


def net_offsets(mlp: models.MLP, widths: Sequence[int], data: Dataset, *, seeds: Sequence[int]) -> np.ndarray:
    """``(W, S, n + n_test)`` offsets :math:`c_d` of the IC-MF nets drawn with ``seeds`` (as in
    :func:`widthlimits.experiments.sweep`): SP logits minus MF logits of the same draw, on train + test points."""
    data = data_mod.check_dataset(data, mlp.n_in)
    x_all = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_test)])
    fams = {"SP": scalings.preset("sp"), "MF": scalings.preset("mf")}
    init = experiments.at_init(mlp, widths, fams, x_all, seeds=seeds)
    return init.sel(family="SP").logits - init.sel(family="MF").logits


def icmf_limit(
    mlp: models.MLP,
    data: Dataset,
    offsets: np.ndarray,
    *,
    particles: Particles,
    n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"],
) -> Trajectory:
    """The IC-MF limit from each initial function in ``offsets (..., n + n_test)`` (draws of :func:`gp_start`, or
    nets' own :func:`net_offsets`), with one cloud of ``particles`` (:func:`~widthlimits.particle_limit.mf_particles`).

    Returns a :class:`~widthlimits.kernel_limit.Trajectory` whose fields have the leading axes ``...`` of
    ``offsets``; ``n_steps >= 0``.
    """
    data = data_mod.check_dataset(data, mlp.n_in)
    n_all = data.x_train.shape[0] + data.x_test.shape[0]
    offsets = np.asarray(offsets)
    if offsets.ndim < 2 or offsets.shape[-1] != n_all:
        raise ValueError(f"offsets must have shape (..., n + n_test) = (..., {n_all}), got {offsets.shape}")
    flat = _validate.array("offsets", offsets.reshape(-1, n_all), kinds="f", min_size=1)
    runs = [mf_limit(mlp, data, particles=particles, n_steps=n_steps, ref_lr=ref_lr, offset=o) for o in flat]
    stacked = jax.tree.map(lambda *a: np.stack([np.asarray(x) for x in a]), *runs)
    return jax.tree.map(lambda a: a.reshape(offsets.shape[:-1] + a.shape[1:]), stacked)


def icmf_draws(
    mlp: models.MLP,
    data: Dataset,
    starts: np.ndarray,
    *,
    n_particles: int,
    seeds: Sequence[int],
    n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"],
) -> np.ndarray:
    """``(K, T+1, n_test)`` test logits of the IC-MF limit from each of the ``K`` initial functions ``starts (K, n +
    n_test)`` (draws of :func:`gp_start`), each with its own independent cloud of ``n_particles`` (key
    ``jax.random.PRNGKey(seeds[i])``, ``len(seeds) == K``, distinct), so that the clouds' Monte-Carlo errors are
    independent across draws; :func:`cloud_noise_var` estimates their variance."""
    starts = _validate.array("starts", np.asarray(starts), ndim=2, kinds="f", min_size=1)
    seeds = _validate.integers("seeds", seeds, low=0)
    if len(seeds) != len(starts):
        raise ValueError(f"seeds must give one cloud per start ({len(starts)}), got {len(seeds)}")
    n_particles = _validate.width("n_particles", n_particles)
    runs = [
        icmf_limit(mlp, data, g[None], particles=mf_particles(mlp, n_particles, key=jax.random.PRNGKey(s)),
                   n_steps=n_steps, ref_lr=ref_lr).test_logits[0]
        for g, s in zip(starts, seeds)
    ]
    return np.stack([np.asarray(r) for r in runs])


def cloud_noise_var(clouds: Sequence[Trajectory], clouds_particles: int, n_particles: int) -> np.ndarray:
    """``(T+1, n_test)`` Monte-Carlo variance of one cloud of ``n_particles``, estimated from two independent MF
    clouds (:func:`~widthlimits.particle_limit.mf_clouds`) of ``M = clouds_particles`` particles each: half their
    squared difference, times ``M / n_particles`` (the variance of an average over particles falls like ``1/M``),
    averaged over the test points (one pair of clouds gives a one-degree-of-freedom estimate per point). It is
    exact in law at step 0, where the IC-MF limit's particle part is the MF cloud's; later it is the MF dynamics'
    noise, used for IC-MF's."""
    if len(clouds) != 2 or not all(isinstance(c, Trajectory) for c in clouds):
        raise TypeError("clouds must be two limits.Trajectory (two independent MF clouds, from mf_clouds)")
    n_particles = _validate.width("n_particles", n_particles)
    clouds_particles = _validate.width("clouds_particles", clouds_particles)
    a, b = (np.asarray(c.test_logits) for c in clouds)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"the clouds' test_logits must both be (T+1, n_test), got {a.shape} and {b.shape}")
    per_step = np.mean((a - b) ** 2, -1, keepdims=True) / 2 * (clouds_particles / n_particles)
    return np.broadcast_to(per_step, a.shape).copy()


def four_limits(
    mlp: models.MLP,
    k: LimitKernels,
    data: Dataset,
    gp: np.ndarray,
    clouds: Sequence[Trajectory],
    *,
    cloud_particles: int,
    n_draws: int,
    n_particles: int,
    seed: int,
    ref_lr: float,
    n_steps: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`~widthlimits.limit_comparison.three_limits` plus the IC-MF limit at one learning rate.

    The IC-MF limit (:func:`icmf_draws`) starts from the first ``n_draws`` of the NTK limit's Gaussian-process draws
    ``gp (S, n + n_test)``, so the two random limits share their starts, each with its own cloud of
    ``n_particles`` (keys ``seed, seed + 1, ...``). Returns ``{"MF", "NTK", "intermediate", "IC-MF"}`` test logits
    ``(samples, T+1, n_test)`` and the IC-MF samples' Monte-Carlo variance ``(T+1, n_test)``
    (:func:`cloud_noise_var` from the MF ``clouds`` of ``cloud_particles`` each).
    """
    n_draws = _validate.integer("n_draws", n_draws, low=2, high=len(gp))
    seed = _validate.integer("seed", seed, low=0)
    out = comparison.three_limits(k, data, gp, clouds, ref_lr=ref_lr, n_steps=n_steps)
    out["IC-MF"] = icmf_draws(mlp, data, np.asarray(gp)[:n_draws], n_particles=n_particles,
                              seeds=range(seed, seed + n_draws), n_steps=n_steps, ref_lr=ref_lr)
    return out, cloud_noise_var(clouds, cloud_particles, n_particles)


class CoupledDistance(NamedTuple):
    r"""Finite IC-MF nets against the limit run from each net's own offset, with two clouds of particles.

    Attributes:
      sq_err: ``(W, S, T+1)`` squared distance (mean over test points) of each net to the clouds' mean, minus the
        Monte-Carlo variance of that mean (it can dip below zero where the nets are closer than the noise).
      mc_var: ``(W, S, T+1)`` that Monte-Carlo variance, a quarter of the clouds' squared difference.
    """

    sq_err: np.ndarray
    mc_var: np.ndarray

    @property
    def pooled(self) -> np.ndarray:
        """``(W, S)`` RMS distance over the steps ``1..T`` (floored at ``1e-6``)."""
        return np.sqrt(np.maximum(self.sq_err[..., 1:].mean(-1), 1e-12))


def coupled_distance(net_logits: np.ndarray, limit_a: np.ndarray, limit_b: np.ndarray) -> CoupledDistance:
    """Distance of nets ``net_logits (W, S, T+1, n_test)`` to the IC-MF limit run from their own offsets with two
    independent clouds, ``limit_a`` and ``limit_b`` of the same shape (test logits of :func:`icmf_limit`)."""
    f = _validate.array("net_logits", np.asarray(net_logits), ndim=4, kinds="f")
    a = _validate.array("limit_a", np.asarray(limit_a), shape=f.shape, kinds="f")
    b = _validate.array("limit_b", np.asarray(limit_b), shape=f.shape, kinds="f")
    mc_var = np.mean((a - b) ** 2, -1) / 4
    return CoupledDistance(np.mean((f - (a + b) / 2) ** 2, -1) - mc_var, mc_var)


class NtkExcess(NamedTuple):
    """How much farther NTK's logit law is from the reference's than IC-MF's, step by step.

    Attributes:
      ic: ``(T+1,)`` pooled KL of IC-MF against the reference (:func:`~widthlimits.logit_statistics.pooled_kl`).
      excess: ``(T+1,)`` pooled KL of NTK minus that of IC-MF.
      se: ``(T+1,)`` its paired jackknife standard error (the two proxies share their seeds).
      still: the last step ``k >= 1`` at which the reference's kernel had moved by less than ``still`` of itself
        (``0`` if it moved that much in the first step).
    """

    ic: np.ndarray
    excess: np.ndarray
    se: np.ndarray
    still: int


def ntk_excess(
    ic: np.ndarray, ntk: np.ndarray, reference: np.ndarray, ref_move: np.ndarray, *, still: float = 0.1
) -> NtkExcess:
    """:class:`NtkExcess` of proxies ``ic``, ``ntk`` ``(S, T+1, n)`` against ``reference (S_R, T+1, n)`` logits, with
    ``ref_move (T,)`` the reference's relative kernel change after steps ``1..T``; ``0 < still``."""
    still = _validate.real("still", still, low=0, open_low=True)
    ref_move = _validate.array("ref_move", np.asarray(ref_move), shape=(np.shape(ic)[1] - 1,), kinds="f")
    kl_ic = np.asarray(laws.pooled_kl(ic, reference).kl)
    excess = np.asarray(laws.pooled_kl(ntk, reference).kl) - kl_ic
    se = np.array([laws.paired_kl_difference_se(ic, ntk, reference, slice(k, k + 1)) for k in range(len(excess))])
    below = np.flatnonzero(ref_move < still)
    return NtkExcess(kl_ic, excess, se, int(below[-1] + 1) if below.size and below[0] == 0 else 0)
