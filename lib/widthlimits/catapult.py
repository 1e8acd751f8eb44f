r"""The catapult phase of gradient descent on the square loss (Lewkowycz et al. 2020), measured run by run.

Home of

* the **learning-rate-weighted kernel** on the training set, :math:`\Theta_t/n` with
  :math:`\Theta_t(x, x') = \sum_l \eta_l\,\nabla_{\theta_l} f_t(x)\cdot\nabla_{\theta_l} f_t(x')`
  (:func:`lr_kernel`, and :func:`kernel_record`, the ``record`` hook that stores it at every training step), and
  of its top eigenvalue :math:`\eta^*\lambda_t = \lambda_{\max}(\Theta_t/n)` (:func:`top_eigenvalue`;
  :func:`initial_top_eigenvalue` gives :math:`\lambda_0` at unit reference rate);
* runs whose reference rate is set from their own initial draw, :math:`\eta^* = \kappa/\lambda_0`, so that
  :math:`\eta^*\lambda_0` takes exactly the values ``kappas`` (:func:`runs`), with the labelled result
  :class:`CatapultRuns` and the phase read off it (diverged, peak, kernel change), and their independent
  retraining by the library (:func:`retrain`, :func:`retrain_agreement`);
* the rate at which the loss peak moves per doubling of the width, with its seed bootstrap
  (:func:`steps_per_octave`).

The two-layer linear model, where all of this is exact, has its own module,
:mod:`~widthlimits.two_layer_linear`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, models, scalings, training
from widthlimits import data as data_mod
from widthlimits.data import Dataset

#: A run counts as diverged when its final square loss is NaN, inf or above this (a finite blow-up).
DIVERGED_LOSS = 1e12
AXES = ("width", "kappa", "seed")


# ----------------------------------------------------------------------------- the learning-rate-weighted kernel
def lr_kernel(mlp: models.MLP, params: models.Params, hp: scalings.HyperParams, x: jax.Array) -> jax.Array:
    r""":math:`\Theta/n = \sum_l \eta_l K_l(X, X)/n` on the points ``x (n, n_in)``: ``(n, n)``.

    :math:`K_l` is the tangent kernel of layer ``l`` (:func:`~widthlimits.models.layer_kernels`) and
    :math:`\eta_l` its rate from ``hp``; one GD step on the mean square loss moves the residual by
    :math:`-(\Theta/n)\, r`, so GD on the linearised network is stable iff :math:`\lambda_{\max}(\Theta/n) < 2`.
    """
    k = models.layer_kernels(mlp, params, x, x)  # (L + 1, n, n)
    rates = [hp.lr_w, *([hp.lr_v] * (mlp.depth - 1)), hp.lr_a]
    total = rates[0] * k[0]
    for rate, k_l in zip(rates[1:], k[1:]):
        total = total + rate * k_l
    return total / x.shape[0]


@functools.cache
def kernel_record(mlp: models.MLP) -> Callable[[training.StepInfo], jax.Array]:
    """The ``record`` hook of :func:`training.train_runs` that stores :func:`lr_kernel` on the training set.

    One function object per architecture (cached), so repeated calls reuse one compilation. It reads the data and
    the rates from the :class:`~widthlimits.training.StepInfo`, never from a global.
    """
    models._check_mlp(mlp)

    def record(info: training.StepInfo) -> jax.Array:
        return lr_kernel(mlp, info.params, info.hp, info.data.x_train)

    return record


def top_eigenvalue(kernels: Any) -> np.ndarray:
    """Largest eigenvalue of each symmetric matrix ``(..., n, n)``, in float64; NaN where it holds NaN or inf."""
    k = np.asarray(_validate.array("kernels", kernels, kinds="f", finite=False), np.float64)
    if k.ndim < 2 or k.shape[-1] != k.shape[-2] or k.shape[-1] < 1:
        raise ValueError(f"kernels must have shape (..., n, n) with n >= 1, got {k.shape}")
    finite = np.all(np.isfinite(k), axis=(-2, -1))
    out = np.full(k.shape[:-2], np.nan)
    out[finite] = np.linalg.eigvalsh(k[finite])[..., -1]
    return out


@functools.partial(jax.jit, static_argnames=("mlp", "width", "ref_width"))
def _initial_top_eigenvalue(mlp, width, scaling, x, keys, ref_width):
    def one(key):
        p0 = models.init(mlp, width, scaling, key=key, ref_width=ref_width)
        hp = scalings.hyperparams(scaling, width, ref_width=ref_width, ref_lr=1.0)
        return jnp.linalg.eigvalsh(lr_kernel(mlp, p0, hp, x))[-1]

    return jax.vmap(one)(keys)


def initial_top_eigenvalue(
    mlp: models.MLP,
    width: int,
    scaling: scalings.Scaling,
    x: Any,
    keys: jax.Array,
    *,
    ref_width: int = scalings.REF_WIDTH,
) -> jax.Array:
    r""":math:`\lambda_0 = \lambda_{\max}(\Theta_0/n)` at unit reference rate, per key: ``keys (R, 2) -> (R,)``."""
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    scalings._check_scaling("scaling", scaling)
    x = data_mod.check_inputs(x, mlp.n_in)
    keys = _validate.array("keys", keys, ndim=2, kinds="u")
    return _initial_top_eigenvalue(mlp, width, scaling, x, keys, _validate.width("ref_width", ref_width))


# ----------------------------------------------------------------------------------------- labelled results
@dataclasses.dataclass(frozen=True, eq=False)
class CatapultRuns:
    r"""GD runs on the square loss, labelled by width, :math:`\eta^*\lambda_0` (``kappa``) and seed.

    Attributes:
      axes: the names of the leading axes of every array, in order (a subsequence of ``AXES``).
      coords: per name in ``AXES``, its labels (a tuple) where it is an axis, the selected label where not.
      loss: ``(*axes, T+1)`` training loss at steps ``0..T``.
      kappa_t: ``(*axes, T+1)`` :math:`\eta^*\lambda_t`, the top eigenvalue of :math:`\eta^*\Theta_t/n` (float64).
      kappa0: ``(*axes)`` the :math:`\eta^*\lambda_0` each run was set to; ``seed``: its seed.
      lam0: ``(*axes)`` :math:`\lambda_0` at unit reference rate; ``ref_lr``: :math:`\eta^* = \kappa/\lambda_0`.
      nonfinite_step: ``(*axes)`` the training library's divergence flag (``History.nonfinite_step``).
    """

    axes: tuple[str, ...]
    coords: dict
    loss: np.ndarray
    kappa_t: np.ndarray
    kappa0: np.ndarray
    seed: np.ndarray
    lam0: np.ndarray
    ref_lr: np.ndarray
    nonfinite_step: np.ndarray

    def sel(self, *, width: Any = None, kappa: Any = None, seed: Any = None) -> CatapultRuns:
        """The runs at the named labels: a single label drops its axis, a list (or array) keeps it with those
        entries, ``None`` keeps it whole. Raises ``ValueError`` naming a label that is not there."""
        out = self
        for name, value in (("width", width), ("kappa", kappa), ("seed", seed)):
            if value is None:
                continue
            if name not in out.axes:
                raise ValueError(f"{name} is not an axis of these runs (axes {out.axes}); it was already selected")
            options = out.coords[name]
            many = isinstance(value, list | tuple | np.ndarray)
            idx = [_index(name, v, options) for v in value] if many else _index(name, value, options)
            axis = out.axes.index(name)
            fields = {f: np.take(getattr(out, f), idx, axis=axis) for f in _PER_RUN}
            coords = {**out.coords, name: tuple(options[i] for i in idx) if many else options[idx]}
            axes = out.axes if many else tuple(a for a in out.axes if a != name)
            out = CatapultRuns(axes, coords, **fields)
        return out

    @property
    def initial_loss(self) -> np.ndarray:
        return self.loss[..., 0]

    @property
    def final_loss(self) -> np.ndarray:
        return self.loss[..., -1]

    @property
    def peak_loss(self) -> np.ndarray:
        """Largest loss over the steps (NaN where the run has one)."""
        return np.max(self.loss, axis=-1)

    @property
    def peak_step(self) -> np.ndarray:
        """Step of the loss peak (a NaN counts as infinite)."""
        return np.argmax(np.nan_to_num(self.loss, nan=np.inf, posinf=np.inf), axis=-1)

    @property
    def diverged(self) -> np.ndarray:
        """Final loss NaN, inf or above :data:`DIVERGED_LOSS`."""
        end = self.loss[..., -1]
        return ~np.isfinite(end) | (np.nan_to_num(end, nan=np.inf) > DIVERGED_LOSS)

    @property
    def first_nonfinite(self) -> np.ndarray:
        """First step at which the loss is NaN or inf, -1 where it never is."""
        bad = ~np.isfinite(self.loss)
        return np.where(bad.any(-1), bad.argmax(-1), -1)

    @property
    def kappa_end(self) -> np.ndarray:
        r""":math:`\eta^*\lambda_T` after the last step."""
        return self.kappa_t[..., -1]

    @property
    def ratio_end(self) -> np.ndarray:
        r""":math:`\lambda_T/\lambda_0`."""
        return self.kappa_end / self.kappa0

    @property
    def rel_change(self) -> np.ndarray:
        r""":math:`|\lambda_T/\lambda_0 - 1|`, the relative change of the top eigenvalue during training."""
        return np.abs(self.ratio_end - 1)

    def first_divergence(self) -> float:
        r"""The smallest :math:`\eta^*\lambda_0` at which some run diverged (``inf`` if none did)."""
        kappas, bad = self._per_kappa(self.diverged)
        return float(kappas[bad.any(1)].min()) if bad.any() else np.inf

    def converging_above(self, kappa: float) -> list[float]:
        r"""The :math:`\eta^*\lambda_0` above ``kappa`` at which some run still converges."""
        kappa = _validate.real("kappa", kappa)
        kappas, bad = self._per_kappa(self.diverged)
        return kappas[(kappas > kappa) & ~bad.all(1)].tolist()

    def converged_ratio_above(self, kappa: float) -> np.ndarray:
        r""":math:`\lambda_T/\lambda_0` of every run with :math:`\eta^*\lambda_0 >` ``kappa`` that did not diverge
        (flat, in array order): how far the catapult lowered the kernel where the linear model would diverge."""
        kappa = _validate.real("kappa", kappa)
        return self.ratio_end[(self.kappa0 > kappa) & ~self.diverged]

    def _per_kappa(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if "kappa" not in self.axes:
            raise ValueError("these runs have no kappa axis (select fewer labels)")
        return np.asarray(self.coords["kappa"]), np.moveaxis(values, self.axes.index("kappa"), 0).reshape(
            len(self.coords["kappa"]), -1
        )

    def batch(self, scaling: scalings.Scaling) -> training.Run:
        """These runs (flattened in order) as a batch for :func:`training.train_runs`, at their own rates."""
        scalings._check_scaling("scaling", scaling)
        n = self.ref_lr.size
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in self.seed.ravel()])
        return training.Run(scalings.stack([scaling] * n), jnp.asarray(self.ref_lr.ravel()), jnp.zeros(n), keys)


_PER_RUN = ("loss", "kappa_t", "kappa0", "seed", "lam0", "ref_lr", "nonfinite_step")


def _index(name: str, value: Any, options: tuple) -> int:
    match = [i for i, o in enumerate(options) if np.isclose(float(o), float(value), rtol=1e-9, atol=0)]
    if not match:
        raise ValueError(f"{name}={value!r} is not among these runs' labels {list(options)}")
    return match[0]


def _stack_widths(widths: tuple[int, ...], kappas: tuple, seeds: tuple, per_width: list[dict]) -> CatapultRuns:
    fields = {f: np.stack([np.asarray(p[f]) for p in per_width]) for f in _PER_RUN}
    return CatapultRuns(AXES, dict(width=widths, kappa=kappas, seed=seeds), **fields)


def _grid(kappas: tuple, seeds: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Per run, kappa-major: ``kappa0 (K, S)`` and ``seed (K, S)``."""
    return np.broadcast_to(np.asarray(kappas)[:, None], (len(kappas), len(seeds))), np.broadcast_to(
        np.asarray(seeds)[None, :], (len(kappas), len(seeds))
    )


# ---------------------------------------------------------------------------------- runs at set eta* lambda_0
def runs(
    mlp: models.MLP,
    widths: Sequence[int],
    kappas: Sequence[float],
    seeds: Sequence[int],
    data: Dataset,
    config: training.TrainConfig | None = None,
    *,
    scaling: scalings.Scaling,
    known: CatapultRuns | None = None,
    **settings,
) -> CatapultRuns:
    r"""Full-batch GD on the square loss at every (width, :math:`\kappa`, seed), with :math:`\eta^* = \kappa/\lambda_0`.

    Each run's reference rate is set from its own initial draw (:func:`initial_top_eigenvalue`, seed ``s`` drawn
    from ``PRNGKey(s)``), so that :math:`\eta^*\lambda_0 = \kappa` exactly; it is then trained by
    :func:`training.train_runs` with :func:`kernel_record`, and :math:`\eta^*\lambda_t` is read off the recorded
    kernels in float64. Runs of ``known`` at the same labels are reused rather than trained again.

    Args:
      widths: distinct hidden widths; kappas: distinct values of :math:`\eta^*\lambda_0` in ``(0, inf)``;
      seeds: distinct integers ``>= 0``.
      config, settings: as for :func:`training.train_runs` (``n_steps=...``); the loss must be ``"mse"``.
    Returns:
      :class:`CatapultRuns` with axes ``(width, kappa, seed)``.
    """
    models._check_mlp(mlp)
    widths = _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH)
    kappas = _validate.reals("kappas", kappas, low=0, open_low=True)
    if len(set(kappas)) != len(kappas):
        raise ValueError(f"kappas must be distinct, got {kappas}")
    seeds = _validate.integers("seeds", seeds, low=0)
    scalings._check_scaling("scaling", scaling)
    data = data_mod.check_dataset(data, mlp.n_in)
    if config is not None and not isinstance(config, training.TrainConfig):
        raise TypeError(f"config must be a training.TrainConfig, got {type(config).__name__}")
    cfg = (config or training.TrainConfig(loss="mse")).replace(**settings)
    if cfg.loss != "mse":
        raise ValueError(f"loss must be 'mse' (the catapult is a result about the square loss), got {cfg.loss!r}")
    if known is not None and not isinstance(known, CatapultRuns):
        raise TypeError(f"known must be a catapult.CatapultRuns (or None), got {type(known).__name__}")
    kappa0, seed = _grid(kappas, seeds)
    per_width = []
    for width in widths:
        reused = _lookup(known, width, kappas, seeds)
        if reused is not None:
            per_width.append({f: getattr(reused, f) for f in _PER_RUN})
            continue
        keys = jnp.stack([jax.random.PRNGKey(s) for s in seed.ravel()])
        lam0 = initial_top_eigenvalue(mlp, width, scaling, data.x_train, keys, ref_width=cfg.ref_width)
        ref_lr = jnp.asarray(kappa0.ravel(), jnp.float32) / lam0  # float32, as the runs are trained
        batch = training.Run(scalings.stack([scaling] * len(keys)), ref_lr, jnp.zeros(len(keys)), keys)
        hist, kernels = training.train_runs(mlp, width, batch, data, cfg, record=kernel_record(mlp))
        shape = kappa0.shape
        kappa_t = np.stack([top_eigenvalue(k) for k in np.asarray(kernels)])  # run by run: bounded memory
        per_width.append(
            dict(
                loss=np.asarray(hist.train_loss).reshape(*shape, -1),
                kappa_t=kappa_t.reshape(*shape, -1),
                kappa0=kappa0,
                seed=seed,
                lam0=np.asarray(lam0).reshape(shape),
                ref_lr=np.asarray(ref_lr).reshape(shape),
                nonfinite_step=np.asarray(hist.nonfinite_step).reshape(shape),
            )
        )
    return _stack_widths(widths, kappas, seeds, per_width)


def _lookup(known: CatapultRuns | None, width: int, kappas: tuple, seeds: tuple) -> CatapultRuns | None:
    """``known`` at ``width`` with axes ``(kappa, seed)`` at exactly these labels, or None where it lacks one."""
    if known is None or not {"kappa", "seed"} <= set(known.axes):
        return None
    w = known.coords["width"]
    if ("width" in known.axes and width not in w) or ("width" not in known.axes and width != w):
        return None
    try:
        found = known.sel(width=width if "width" in known.axes else None, kappa=list(kappas), seed=list(seeds))
    except ValueError:
        return None
    return found if found.axes == ("kappa", "seed") else None


def retrain(
    mlp: models.MLP, runs: CatapultRuns, data: Dataset, *, scaling: scalings.Scaling, engine: str = "gram"
) -> training.History:
    r"""Train ``runs`` (one width, any other axes) again with :func:`training.train_runs` on ``engine``, at the
    reference rates and seeds they were trained with and without the kernel hook: an independent computation of
    the same steps. Returns the :class:`~widthlimits.training.History` with one batch entry per run, ``runs``'
    arrays flattened in order (``train_loss (R, T+1)``, ``nonfinite_step (R,)``)."""
    models._check_mlp(mlp)
    if not isinstance(runs, CatapultRuns):
        raise TypeError(f"runs must be a catapult.CatapultRuns, got {type(runs).__name__}")
    if "width" in runs.axes:
        raise ValueError(f"runs must be at one width (select it by label), got axes {runs.axes}")
    data = data_mod.check_dataset(data, mlp.n_in)
    n_steps = runs.loss.shape[-1] - 1
    return training.train_runs(
        mlp, runs.coords["width"], runs.batch(scaling), data, n_steps=n_steps, loss="mse", engine=engine
    )


def retrain_agreement(runs: CatapultRuns, history: training.History) -> tuple[float, bool, bool]:
    r"""How the :func:`retrain` of ``runs`` agrees with them: the largest relative difference of the loss
    curves over the runs the library does not flag as diverged; whether both flag the same runs as diverged;
    whether the library flags each of them no later than ``runs``' first NaN/inf (it also flags a finite
    blow-up). ``runs`` at one width, ``R`` runs in all; ``history.train_loss (R, T+1)``."""
    if not isinstance(runs, CatapultRuns):
        raise TypeError(f"runs must be a catapult.CatapultRuns, got {type(runs).__name__}")
    lib_loss, lib_bad = np.asarray(history.train_loss, float), np.asarray(history.nonfinite_step)
    if lib_loss.size != runs.loss.size:
        n_runs = runs.loss.size // runs.loss.shape[-1]
        raise ValueError(f"history must hold the {n_runs} runs of runs, got train_loss of shape {lib_loss.shape}")
    loss, loop_bad = np.asarray(runs.loss, float).reshape(lib_loss.shape), np.asarray(runs.first_nonfinite).reshape(-1)
    fine, bad = lib_bad < 0, loop_bad >= 0
    gap = float(np.max(np.abs(loss[fine] - lib_loss[fine]) / lib_loss[fine])) if fine.any() else 0.0
    return gap, bool(np.all(bad == (lib_bad >= 0))), bool(np.all(lib_bad[bad] <= loop_bad[bad]))


# ---------------------------------------------------------------------------------------- the peak-step rate
def steps_per_octave(widths: Sequence[int], steps: Any, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    r"""Least-squares slope of the seed-mean peak step against :math:`\log_2 d`, and its seed-bootstrap s.e.

    ``steps (W, S)``; each resample draws ``S`` seed indices once for all widths (a seed is one initial draw
    shared by every width), ``n_boot`` times with ``np.random.default_rng(seed)``.
    """
    x = np.log2(np.asarray(_validate.integers("widths", widths, low=1), float))
    steps = np.asarray(_validate.array("steps", steps, ndim=2, kinds="iuf"), float)
    if steps.shape[0] != len(x) or steps.shape[1] < 2:
        raise ValueError(f"steps must have shape (W={len(x)}, S >= 2), got {steps.shape}")
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    rng = np.random.default_rng(_validate.integer("seed", seed, low=0))

    def rate(s: np.ndarray) -> float:
        return np.polyfit(x, s.mean(1), 1)[0]

    n_s = steps.shape[1]
    boot = [rate(steps[:, rng.integers(0, n_s, n_s)]) for _ in range(n_boot)]
    return float(rate(steps)), float(np.std(boot))
