r"""The two-layer linear model ("uv model"), in which the catapult is exact: its recursion and its runs.

Two linear layers and one input :math:`x = 1`, :math:`f = \sum_{r=1}^d a_r w_r`, trained on the target
:math:`y = 1` with rates :math:`\eta_a`, :math:`\eta_W`. With :math:`e_t = f_t - y`,
:math:`\Theta_t = \eta_W\sum_r a_r^2 + \eta_a\sum_r w_r^2` and :math:`c = \eta_a\eta_W`, GD is exactly

.. math::

   f_{t+1} = f_t - \Theta_t e_t + c\,e_t^2 f_t, \qquad \Theta_{t+1} = \Theta_t + c\,e_t\,(e_t\Theta_t - 4 f_t),

the home of this recursion (:func:`linear_model_map`). It is started from the library's own draws of
:data:`LINEAR_MLP` (:func:`linear_model_draw`, :func:`linear_model_start`), checked against the library's
training of that network (:func:`linear_model_check`) and iterated in float64 over widths, rates and seeds
(:func:`linear_model_runs`, a :class:`~widthlimits.catapult.CatapultRuns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, models, scalings, training
from widthlimits.catapult import CatapultRuns, _grid, _stack_widths
from widthlimits.data import Dataset

#: Two linear layers, one input: leaky ReLU with slope 1 is the identity.
LINEAR_MLP = models.MLP(n_in=1, activation="leaky_relu", negative_slope=1.0)


class LinearDraw(NamedTuple):
    """Reference (PyTorch-default) draws of :data:`LINEAR_MLP` at width ``D``, in float64.

    The library's generator is counter-based, so the first ``d`` neurons of a width-``D`` draw are the width-``d``
    draw, with output weights rescaled from :math:`1/\\sqrt D` to :math:`1/\\sqrt d` bounds: one draw serves every
    width up to ``D``. ``a``, ``w``: ``(S, D)``; ``seeds``: ``(S,)`` (seed ``s`` is ``PRNGKey(s)``).
    """

    a: np.ndarray
    w: np.ndarray
    seeds: tuple[int, ...]


def linear_model_draw(max_width: int, seeds: Sequence[int]) -> LinearDraw:
    """The draws of :data:`LINEAR_MLP` at width ``max_width``, one per seed."""
    max_width = _validate.width("max_width", max_width)
    seeds = _validate.integers("seeds", seeds, low=0)
    draw = jax.vmap(lambda key: models.init_reference(LINEAR_MLP, max_width, key=key))
    big = jax.jit(draw)(jnp.stack([jax.random.PRNGKey(s) for s in seeds]))
    return LinearDraw(np.asarray(big["a"], np.float64), np.asarray(big["w"], np.float64)[..., 0], seeds)


def linear_model_start(draw: LinearDraw, width: int, scaling: scalings.Scaling) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Per seed: :math:`f_0 = \sum_r a_r w_r`, :math:`\lambda_0 = \eta_W\sum_r a_r^2 + \eta_a\sum_r w_r^2` at unit
    reference rate, and :math:`c/\eta^{*2} = \eta_W\eta_a` at unit rate: ``(S,), (S,), float``."""
    if not isinstance(draw, LinearDraw):
        raise TypeError(f"draw must be a catapult.LinearDraw (from linear_model_draw), got {type(draw).__name__}")
    width = _validate.integer("width", width, low=1, high=draw.a.shape[1])
    hp = scalings.hyperparams(scaling, width, ref_lr=1.0)
    a = draw.a[:, :width] * np.sqrt(draw.a.shape[1] / width) * float(hp.init_factor)
    w = draw.w[:, :width]
    lam0 = float(hp.lr_w) * np.sum(a**2, -1) + float(hp.lr_a) * np.sum(w**2, -1)
    return np.sum(a * w, -1), lam0, float(hp.lr_w) * float(hp.lr_a)


def linear_model_map(f: Any, theta: Any, c: Any, n_steps: int, y: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Iterate :math:`f_{t+1} = f_t - \Theta_t e_t + c\,e_t^2 f_t`, :math:`\Theta_{t+1} = \Theta_t + c\,e_t(e_t
    \Theta_t - 4 f_t)`, :math:`e_t = f_t - y` (arrays broadcast over runs): ``f``, ``Theta``, each ``(T+1, ...)``."""
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    f, theta, c = (np.asarray(v, np.float64) for v in (f, theta, c))
    fs, thetas = [f], [theta]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            e = f - y
            f, theta = f - theta * e + c * e**2 * f, theta + c * e * (e * theta - 4 * f)
            fs.append(f)
            thetas.append(theta)
    return np.array(fs), np.array(thetas)


def linear_model_runs(
    draw: LinearDraw, widths: Sequence[int], kappas: Sequence[float], *, scaling: scalings.Scaling, n_steps: int
) -> CatapultRuns:
    r"""The exact recursion in float64 at every (width, :math:`\eta^*\lambda_0`, seed), target :math:`y = 1`."""
    widths = _validate.integers("widths", widths, low=1, high=draw.a.shape[1])
    kappas = _validate.reals("kappas", kappas, low=0, open_low=True)
    kappa0, seed = _grid(kappas, draw.seeds)
    per_width = []
    for width in widths:
        f0, lam0, c_unit = linear_model_start(draw, width, scaling)
        eta = kappa0 / lam0[None, :]  # (kappa, seed): one reference rate per run
        f, theta = linear_model_map(np.broadcast_to(f0, eta.shape), kappa0, eta**2 * c_unit, n_steps)
        with np.errstate(over="ignore"):
            loss = np.moveaxis(0.5 * (f - 1) ** 2, 0, -1)
        bad = ~np.isfinite(loss)
        per_width.append(
            dict(
                loss=loss,
                kappa_t=np.moveaxis(theta, 0, -1),
                kappa0=kappa0,
                seed=seed,
                lam0=np.broadcast_to(lam0, eta.shape),
                ref_lr=eta,
                nonfinite_step=np.where(bad.any(-1), bad.argmax(-1), -1),
            )
        )
    return _stack_widths(widths, kappas, draw.seeds, per_width)


class LinearCheck(NamedTuple):
    """The library's network against the recursion: signed error of the initial logit, largest relative one-step
    errors of ``f`` and ``Theta``, and the run's peak loss over its initial loss."""

    init_logit_error: float
    f_error: float
    theta_error: float
    peak_ratio: float


def linear_model_check(
    draw: LinearDraw, width: int, *, scaling: scalings.Scaling, kappa: float, n_steps: int
) -> LinearCheck:
    r"""Train :data:`LINEAR_MLP` (seed ``draw.seeds[0]``, at :math:`\eta^*\lambda_0 = \kappa`) on the point
    :math:`x = 1`, target :math:`+1`, and feed each recorded state (logit, kernel) into one step of the recursion."""
    kappa = _validate.real("kappa", kappa, low=0, open_low=True)
    f0, lam0, _ = linear_model_start(draw, width, scaling)
    eta = kappa / lam0[0]
    one = np.ones((1, 1), np.float32)
    point = Dataset(one, np.ones(1, np.float32), one, np.ones(1, np.float32))
    key = jax.random.PRNGKey(draw.seeds[0])
    hist = training.train(
        LINEAR_MLP, width, scaling, point, key=key, ref_lr=eta, n_steps=n_steps, n_kernel=1, loss="mse"
    )
    f_rec = np.asarray(hist.test_logits[:, 0], np.float64)
    theta_rec = np.asarray(hist.kernel[:, :, 0], np.float64).sum(-1)
    hp = scalings.hyperparams(scaling, width, ref_lr=eta)
    f_next, theta_next = linear_model_map(f_rec[:-1], theta_rec[:-1], float(hp.lr_w * hp.lr_a), 1)
    return LinearCheck(
        float(f0[0] - f_rec[0]),
        float(np.max(np.abs(f_next[1] - f_rec[1:]) / np.abs(f_rec[1:]))),
        float(np.max(np.abs(theta_next[1] - theta_rec[1:]) / theta_rec[1:])),
        float(hist.train_loss.max() / hist.train_loss[0]),
    )
