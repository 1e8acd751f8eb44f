r"""The mean-field particle picture of a one-hidden-layer net: hat weights, the particle logit, the map :math:`T_k`.

Under the MF scaling the width-:math:`d` net's output weights have std :math:`\sigma(d) = \sigma^*\rho^{-1}`
(:func:`~widthlimits.scalings.sigma_star`), and neuron :math:`r` is the particle
:math:`\theta_r = (\hat a_r, \hat w_r) = (a_r/\sigma(d), w_r)` (:func:`hat_weights`). Then, at every width,

.. math::

   f_d(x) = c^*\,\frac1d\sum_r \hat a_r\,\phi(\hat w_r^\top x), \qquad c^* = \sigma^* d^* = \sqrt{d^*/3}

(:func:`logits`), and one full-batch GD step on the mean loss :math:`L = \frac1n\sum_j\ell(y_j, f(x_j))` moves every
particle by the same map (:func:`mf_step`),

.. math::

   T_k(\hat a, \hat w) = \Big(\hat a - \frac{\eta^*}{\sigma^*}\,\frac1n\sum_j \ell'_j\,\phi(\hat w^\top x_j),\ \
   \hat w - \eta^*\sigma^*\,\hat a\,\frac1n\sum_j \ell'_j\,\phi'(\hat w^\top x_j)\,x_j\Big),
   \qquad \ell'_j = \partial_f\ell\big(y_j, f_k(x_j)\big).

The formulas here are evaluated in float64, independently of the training engines, so that they can check the
float32 networks and optimisers of :mod:`widthlimits.training` (``tests/test_particle_map.py`` does, against the
library's GD step); :func:`particle_paths` trains a net and keeps its cloud at every step. The MF limit itself,
the same map with :math:`d\to\infty` particles, is :func:`widthlimits.limits.mf_limit`; its
:class:`~widthlimits.limits.Particles` is the type of a particle cloud here.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, data, models, numerics, scalings, training
from widthlimits.engines import StepInfo
from widthlimits.limits import Particles
from widthlimits.losses import LOSSES
from widthlimits.runs import History


def _one_hidden_layer(mlp: object) -> models.MLP:
    mlp = models._check_mlp(mlp)
    if mlp.depth != 1:
        raise ValueError(f"mlp.depth must be 1 (the particle picture is that of one hidden layer), got {mlp.depth}")
    return mlp


def hat_weights(params: models.Params, sigma: Any) -> Particles:
    r"""The particles :math:`(\hat a_r, \hat w_r) = (a_r/\sigma, w_r)` of a one-hidden-layer net, ``a (..., d)`` and
    ``w (..., d, n_in)``; ``sigma`` is the output-weight std of its width (``scalings.hyperparams(...).sigma``).

    Concrete parameters give float64 particles (the division done in float64, so that checking a float32 step
    against :func:`mf_step` is not limited by the rounding of ``a / sigma``); traced ones (inside a ``record``
    hook) stay in their own dtype.
    """
    if not isinstance(params, dict) or not {"w", "v", "a"} <= set(params):
        got = type(params).__name__
        raise TypeError(f"params must be a dict with keys 'w', 'v', 'a' (from models.init), got {got}")
    if params["v"]:
        raise ValueError(f"params must be those of one hidden layer (no 'v' layers), got {len(params['v'])}")
    scalings._check_positive("sigma", sigma)
    if _validate.is_traced((params["a"], params["w"], sigma)):
        return Particles(params["a"] / sigma, params["w"])
    a = np.asarray(_validate.array("params['a']", params["a"], kinds="f"), np.float64)
    w = np.asarray(_validate.array("params['w']", params["w"], kinds="f"), np.float64)
    return Particles(a / np.asarray(sigma, np.float64), w)


def record_params(info: StepInfo) -> models.Params:
    """A ``record`` hook: the raw parameters at every step (each leaf with a leading ``T+1`` axis), so that the hat
    weights can be formed afterwards in float64 (:func:`hat_weights` of concrete arrays)."""
    return info.params


def particle_paths(
    mlp: models.MLP,
    width: int,
    scaling: scalings.Scaling,
    data: data.Dataset,
    *,
    key: jax.Array,
    ref_lr: float,
    n_steps: int,
    every: int = 1,
) -> tuple[History, Particles]:
    r"""Train one net with :func:`widthlimits.training.train` and keep its particles every ``every`` steps.

    Returns the run's :class:`~widthlimits.runs.History` and float64 particles ``a_hat (K, d)``,
    ``w_hat (K, d, n_in)`` at steps ``0, every, 2 every, ...`` (``K = n_steps // every + 1``); snapshot ``k`` is
    the cloud after ``k * every`` updates (:func:`snapshot`). It is the run :func:`widthlimits.experiments.sweep`
    trains for the same key and learning rate, recorded in more detail.
    """
    mlp = _one_hidden_layer(mlp)
    every = _validate.integer("every", every, low=1)
    cfg = training.TrainConfig(n_steps=n_steps, engine="direct")
    hist, params = training.train(mlp, width, scaling, data, cfg, key=key, ref_lr=ref_lr, record=record_params)
    kept = jax.tree.map(lambda leaf: np.asarray(leaf)[::every], params)
    return hist, hat_weights(kept, scalings.hyperparams(scaling, width, ref_lr=ref_lr).sigma)


def snapshot(paths: Particles, k: int) -> Particles:
    """The cloud ``k`` of :func:`particle_paths` (negative ``k`` counts from the end): ``(d,)`` and ``(d, n_in)``."""
    if not isinstance(paths, Particles):
        raise TypeError(f"paths must be limits.Particles (from particle_paths), got {type(paths).__name__}")
    a = np.asarray(paths.a_hat)
    if a.ndim != 2:
        raise ValueError(f"paths must hold a snapshot axis, a_hat (K, d); got a_hat of shape {a.shape}")
    k = _validate.integer("k", k, low=-a.shape[0], high=a.shape[0] - 1)
    return Particles(a[k], np.asarray(paths.w_hat)[k])


def _cloud(mlp: models.MLP, particles: object) -> tuple[jax.Array, jax.Array]:
    """float64 ``a_hat (d,)``, ``w_hat (d, n_in)`` (call inside :func:`numerics.x64`)."""
    if not isinstance(particles, Particles):
        raise TypeError(f"particles must be limits.Particles (e.g. from hat_weights), got {type(particles).__name__}")
    a = _validate.array("particles.a_hat", np.asarray(particles.a_hat), ndim=1, kinds="f", min_size=1)
    w = _validate.array("particles.w_hat", np.asarray(particles.w_hat), shape=(a.shape[0], mlp.n_in), kinds="f")
    return jnp.asarray(a, jnp.float64), jnp.asarray(w, jnp.float64)


def _logits(mlp, a, w, x, ref_width):
    c_star = scalings.sigma_star(ref_width) * ref_width
    return c_star * (mlp.phi(x @ w.T) @ a) / a.shape[0]


def logits(mlp: models.MLP, particles: Particles, xs: Any, *, ref_width: int = scalings.REF_WIDTH) -> np.ndarray:
    r""":math:`f(x) = c^*\frac1d\sum_r\hat a_r\phi(\hat w_r^\top x)` in float64; ``xs (n, n_in) -> (n,)``."""
    mlp = _one_hidden_layer(mlp)
    ref_width = _validate.width("ref_width", ref_width)
    xs = data.check_inputs(xs, mlp.n_in, name="xs")
    with numerics.x64():
        a, w = _cloud(mlp, particles)
        return np.asarray(_logits(mlp, a, w, jnp.asarray(xs, jnp.float64), ref_width))


def mf_step(
    mlp: models.MLP,
    particles: Particles,
    x: Any,
    y: Any,
    *,
    ref_lr: float,
    ref_width: int = scalings.REF_WIDTH,
    loss: str = "logistic",
) -> Particles:
    r"""One application of the particle map :math:`T_k` (module docstring) in float64, the loss derivatives taken
    at the particles' own logits on the training set ``x (n, n_in)``, ``y (n,)`` (labels in ``{0, 1}``).

    ``ref_lr`` is :math:`\eta^* > 0`; ``loss`` one of ``losses.LOSSES``. The width enters only through the logits.
    """
    mlp = _one_hidden_layer(mlp)
    ref_lr = _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    ref_width = _validate.width("ref_width", ref_width)
    _validate.choice("loss", loss, tuple(LOSSES))
    x = data.check_inputs(x, mlp.n_in, name="x")
    _validate.labels("y", y, x.shape[0])
    sigma_star = scalings.sigma_star(ref_width)
    with numerics.x64():
        a, w = _cloud(mlp, particles)
        x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
        z = x @ w.T  # (n, d) pre-activations
        e = jax.grad(LOSSES[loss])(_logits(mlp, a, w, x, ref_width), y)  # (n,) = l'_j / n
        phi, pullback = jax.vjp(mlp.phi, z)
        (dphi_a,) = pullback(jnp.broadcast_to(a, z.shape))  # phi'(z_jr) a_r, (n, d)
        a_new = a - ref_lr / sigma_star * (e @ phi)
        w_new = w - ref_lr * sigma_star * ((e[:, None] * dphi_a).T @ x)
        return Particles(np.asarray(a_new), np.asarray(w_new))


def step_deviation(before: Particles, after: Particles, mapped: Particles) -> float:
    """Largest deviation of a computed step ``after - before`` from the map's ``mapped - before``, relative to the
    largest move of any coordinate (so that it reads as a fraction of the step, not of the weights)."""
    parts = []
    for name, p in (("before", before), ("after", after), ("mapped", mapped)):
        if not isinstance(p, Particles):
            raise TypeError(f"{name} must be limits.Particles, got {type(p).__name__}")
        parts.append(
            [np.asarray(_validate.array(f"{name}.{f}", v, kinds="f"), np.float64) for f, v in p._asdict().items()]
        )
    (a0, w0), (a1, w1), (am, wm) = parts
    if a0.shape != a1.shape or a0.shape != am.shape or w0.shape != w1.shape or w0.shape != wm.shape:
        raise ValueError("before, after and mapped must hold clouds of the same shapes")
    move = np.abs(np.concatenate([a1 - a0, (w1 - w0).ravel()]))
    err = np.abs(np.concatenate([a1 - am, (w1 - wm).ravel()]))
    if not move.max() > 0:
        raise ValueError("after must differ from before: a step that moved nothing has no relative deviation")
    return float(err.max() / move.max())


def kink_offset(w_hat: Any) -> np.ndarray:
    r"""Signed distance :math:`b(\hat w) = \hat w_3/\lVert(\hat w_1, \hat w_2)\rVert` from the origin of the kink line
    :math:`\hat w^\top x = 0` of a neuron on the toy inputs :math:`x = (x_1, x_2, 1)` (positive when the origin is on
    its active side); ``(..., 3) -> (...)``, in the dtype of ``w_hat``."""
    w = np.asarray(_validate.array("w_hat", w_hat, kinds="f"))
    if w.ndim < 1 or w.shape[-1] != 3:
        raise ValueError(f"w_hat must have a last axis of 3 (inputs x1, x2 and the constant 1), got {w.shape}")
    return w[..., 2] / np.linalg.norm(w[..., :2], axis=-1)


def initial_sizes(mlp: models.MLP, *, n_samples: int = 10**6, seed: int = 0) -> np.ndarray:
    r"""Width-independent initial sizes of the particles, ``(2,)``: :math:`\mathbb E\lVert\hat w_r(0)\rVert` (Monte
    Carlo over ``n_samples`` draws) and :math:`\mathbb E|\hat a_r(0)|` (exact), in the order of
    ``History.hat_distance``, whose moves they turn into relative ones.

    :math:`\hat a` has unit variance: uniform on :math:`\pm\sqrt3` (:math:`\mathbb E|\hat a| = \sqrt3/2`) or
    standard normal (:math:`\sqrt{2/\pi}`); :math:`\hat w_i` the same law scaled by :math:`1/\sqrt{3 n_0}`.
    """
    mlp = _one_hidden_layer(mlp)
    n_samples = _validate.integer("n_samples", n_samples, low=2)
    seed = _validate.integer("seed", seed, low=0)
    rng, n0 = np.random.default_rng(seed), mlp.n_in
    if mlp.init_law == "uniform":
        w_size = np.linalg.norm(rng.uniform(-1, 1, (n_samples, n0)), axis=1).mean() / np.sqrt(n0)
        return np.array([w_size, np.sqrt(3) / 2])
    w_size = np.linalg.norm(rng.standard_normal((n_samples, n0)), axis=1).mean() / np.sqrt(3 * n0)
    return np.array([w_size, np.sqrt(2 / np.pi)])
