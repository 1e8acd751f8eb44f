r"""The discrete-time mean-field limit of the one-hidden-layer net, as a recursion on particles.

Under MF scaling the width-:math:`d` net is :math:`f_d(x) = c^*\frac1d\sum_r\hat a_r\phi(\hat w_r\cdot x)` with
:math:`c^* = \sigma^* d^* = \sqrt{d^*/3}`, and one GD step moves every particle :math:`\theta_r = (\hat a_r, \hat w_r)`
by a map that does not depend on :math:`d`:

.. math::

   \hat a \leftarrow \hat a - \frac{\eta^*}{\sigma^*}\,\mathbb E_j\big[\ell'_j\,\phi(\hat w\cdot x_j)\big],\qquad
   \hat w \leftarrow \hat w - \eta^*\sigma^*\,\mathbb E_j\big[\ell'_j\,\hat a\,\phi'(\hat w\cdot x_j)\,x_j\big],

with :math:`\ell'_j = \partial_f\ell(y_j, f(x_j))`. The limit replaces the empirical mean over :math:`d` particles
by the expectation over their law; :func:`mf_limit` simulates it with :math:`M \gg d` particles, written directly in
these hat variables (independently of :mod:`widthlimits.training`). Since every :math:`\hat w` update is a
combination of the training inputs, :math:`\hat w_r = \hat w_r(0) + \sum_j B_{jr} x_j` (the span
reparametrisation :func:`widthlimits.models.span_preactivations`, with :math:`C^\top = B`) and a step costs
:math:`O((n + n_{\text{test}})\,n\,M)` flops.

Two checks of the recursion live here: :func:`net_vs_recursion` (the width-:math:`d` MF net *is* the recursion
started from its :math:`d` initial neurons, to a worst-case round-off bound) and :func:`step_halving` (the recursion
is the explicit Euler scheme of the continuous-time MF equation, first order in the learning rate).

All names are re-exported by :mod:`widthlimits.limits`, where callers find them.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, models, numerics, scalings, training
from widthlimits import data as data_mod
from widthlimits.data import Dataset
from widthlimits.kernel_limit import Trajectory, _check_loss, _check_lr, _check_one_hidden_layer, _trajectory
from widthlimits.losses import LOSSES


class Particles(NamedTuple):
    """``M`` particles of the MF limit in hat variables: ``a_hat (M,)`` (unit variance) and ``w_hat (M, n_in)``."""

    a_hat: jax.Array
    w_hat: jax.Array


def mf_particles(mlp: models.MLP, n_particles: int, *, key: jax.Array) -> Particles:
    r"""``n_particles`` i.i.d. draws from the initial law :math:`\mu^{(0)}`.

    They are exactly the hat weights of the width-``n_particles`` MF net drawn with the same ``key``
    (:math:`\hat a_r = a_r/\sigma = a^{\text{ref}}_r\sqrt{3d}`, :math:`\hat w_r = w_r`), so a net and a particle
    system can be compared draw by draw.
    """
    models._check_mlp(mlp)
    n_particles = _validate.width("n_particles", n_particles)
    models._check_key(key)
    p = models.init_reference(mlp, n_particles, key=key)
    return Particles(p["a"] * jnp.sqrt(numerics.as_float(3 * n_particles)), p["w"])


def _check_particles(mlp: models.MLP, particles: object) -> None:
    if not isinstance(particles, Particles):
        raise TypeError(f"particles must be limits.Particles (from mf_particles), got {type(particles).__name__}")
    a_hat = _validate.array("particles.a_hat", particles.a_hat, ndim=1, kinds="f", min_size=1)
    m = _validate.width("the number of particles", a_hat.shape[0])
    _validate.array("particles.w_hat", particles.w_hat, shape=(m, mlp.n_in), kinds="f")


@functools.partial(jax.jit, static_argnames=("mlp", "n_steps", "loss", "ref_width"))
def _mf_run(mlp, particles, data, ref_lr, n_steps, loss, ref_width, offset):
    with jax.default_matmul_precision("highest"):
        sigma_star = scalings.sigma_star(ref_width)
        c_star = sigma_star * ref_width
        step_a, step_w = ref_lr / sigma_star, ref_lr * sigma_star  # per-particle step sizes, width-free
        x, y, xt, _ = data
        n = x.shape[0]
        x_all = jnp.concatenate([x, xt])
        z0_all, gram_all = x_all @ particles.w_hat.T, x_all @ x.T  # (n + n_test, M), (n + n_test, n)
        dphi = jax.vmap(jax.vmap(jax.grad(mlp.phi)))

        def logits(b, a_hat):
            z_all = models.span_preactivations(z0_all, gram_all, b)
            return z_all, c_star * (mlp.phi(z_all) @ a_hat) / a_hat.shape[0] + offset

        def step(state, _):
            b, a_hat = state
            z_all, f_all = logits(b, a_hat)
            z = z_all[:n]
            g = jax.grad(LOSSES[loss])(f_all[:n], y) * n  # per-example dl/df
            a_new = a_hat - step_a * (g @ mlp.phi(z)) / n  # E_j[l'_j phi(w.x_j)]
            b_new = b - step_w * (g[:, None] * dphi(z) * a_hat[None, :]) / n  # coefficients of E_j[l'_j a phi' x_j]
            return (b_new, a_new), f_all

        state0 = (jnp.zeros((n, particles.a_hat.shape[0]), x.dtype), particles.a_hat)
        last, f_seq = jax.lax.scan(step, state0, None, length=n_steps)
        f_all = jnp.concatenate([f_seq, logits(*last)[1][None]])
        return f_all[:, :n], f_all[:, n:]


def mf_limit(
    mlp: models.MLP,
    data: Dataset,
    *,
    n_particles: int | None = None,
    key: jax.Array | None = None,
    particles: Particles | None = None,
    n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"],
    ref_width: int = scalings.REF_WIDTH,
    loss: str = "logistic",
    offset: np.ndarray | None = None,
) -> Trajectory:
    r"""The discrete-time MF limit of full-batch GD, simulated with ``M`` particles (module docstring).

    Give either ``n_particles`` and ``key`` (fresh particles from :func:`mf_particles`) or ``particles``.
    The logit is :math:`c^*\frac1M\sum_r\hat a_r\phi(\hat w_r\cdot x)`; its Monte-Carlo error is
    :math:`O(M^{-1/2})`. One hidden layer only; compiles once per ``(M, n_steps, data shapes)``, ``ref_lr`` traced.
    ``data`` must have ``mlp.n_in`` inputs and labels in ``{0, 1}``; ``n_steps >= 0``; ``ref_lr > 0``.
    ``offset`` ``(n + n_test,)`` (training points first, default 0) is a frozen function added to the logits, at
    which the loss derivative is then evaluated: the initialisation-corrected MF limit
    (:mod:`widthlimits.icmf_limit`).
    """
    _check_one_hidden_layer(mlp, "the particle limit")
    data = data_mod.check_dataset(data, mlp.n_in)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    ref_lr = _check_lr(ref_lr)
    _check_loss(loss)
    ref_width = _validate.width("ref_width", ref_width)
    if particles is None:
        if n_particles is None or key is None:
            raise ValueError("give either particles, or both n_particles and key")
        particles = mf_particles(mlp, n_particles, key=key)
    elif n_particles is not None or key is not None:  # which draw was meant would be ambiguous
        raise ValueError("give either particles, or both n_particles and key, not both")
    else:
        _check_particles(mlp, particles)
    # The default float dtype (float64 inside numerics.x64, for reruns that confirm the net = recursion identity).
    data = Dataset(*(numerics.as_float(a) for a in data))
    particles = Particles(*(numerics.as_float(a) for a in particles))
    n_all = data.x_train.shape[0] + data.x_test.shape[0]
    if offset is None:
        offset = np.zeros(n_all)
    offset = numerics.as_float(_validate.array("offset", offset, shape=(n_all,), kinds="f"))
    f_train, f_test = _mf_run(mlp, particles, data, numerics.as_float(ref_lr), n_steps, loss, ref_width, offset)
    return _trajectory(f_train, f_test, data, loss)


def mf_clouds(
    mlp: models.MLP,
    data: Dataset,
    n_particles: int,
    *,
    seeds: Sequence[int],
    n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"],
) -> list[Trajectory]:
    """:func:`mf_limit` from independent clouds of ``n_particles``, one per seed (``jax.random.PRNGKey(seed)``).

    Two or more clouds estimate the limit and its Monte-Carlo error (from their spread); ``seeds`` are distinct
    integers ``>= 0``.
    """
    seeds = _validate.integers("seeds", seeds, low=0)  # distinct: equal seeds would give the same cloud
    return [
        mf_limit(mlp, data, n_particles=n_particles, key=jax.random.PRNGKey(s), n_steps=n_steps, ref_lr=ref_lr)
        for s in seeds
    ]


class RecursionCheck(NamedTuple):
    r"""The width-:math:`d` MF net against the :math:`d`-particle recursion from its own draw.

    Attributes:
      gap: ``{"float32": ..., "float64": ...}``, :math:`\max|f^{\text{net}} - f^{\text{rec}}|` over steps and test
        points, each computation run in that dtype.
      bound: the worst-case round-off bound :math:`(T+1)(n_0 + d)\,u\,\max|f|` of each dtype.
      f_max: :math:`\max|f|` of the float64 net over steps and test points.
      kink_flips: expected number of float32 leaky-ReLU branch flips over the run, from the initial pre-activations
        (:func:`widthlimits.numerics.near_kink_fraction`).
    """

    gap: dict[str, float]
    bound: dict[str, float]
    f_max: float
    kink_flips: float


def net_vs_recursion(
    mlp: models.MLP, data: Dataset, *, key: jax.Array, n_steps: int, width: int = scalings.REF_WIDTH
) -> RecursionCheck:
    r"""Train the width-``width`` MF net and run the recursion from its ``width`` initial neurons, in both dtypes.

    Both apply the same map (the net through :mod:`widthlimits.training`, the recursion in hat variables), so they
    differ only by rounding: each logit is a chain of sums over at most :math:`n_0 + d` terms, each adding a
    relative error of at most :math:`(n_0 + d)u` (:data:`~widthlimits.numerics.UNIT_ROUNDOFF`), at each of the
    :math:`T+1` evaluations; if the map does not amplify differences they agree to
    :math:`(T+1)(n_0 + d)\,u\,\max|f|`. In float64 that bound tests the identity; in float32 the gap is dominated
    by pre-activations within round-off of the kink, whose expected count is ``kink_flips``: the number of
    pre-activations evaluated, :math:`(T+1)(n + n_{\text{test}})\,d`, times the fraction within
    :math:`\sqrt{n_0}\,u` (relative) of 0.
    """
    mlp = _check_one_hidden_layer(mlp, "the particle recursion")
    data = data_mod.check_dataset(data, mlp.n_in)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    width = _validate.width("width", width)
    models._check_key(key)
    gap = {}
    for dtype in ("float32", "float64"):
        with numerics.x64() if dtype == "float64" else contextlib.nullcontext():
            data_d = Dataset(*(np.asarray(a, dtype) for a in data))
            net = training.train(mlp, width, scalings.preset("mf"), data_d, key=key, n_steps=n_steps)
            rec = mf_limit(mlp, data_d, particles=mf_particles(mlp, width, key=key), n_steps=n_steps)
            gap[dtype] = float(np.abs(np.asarray(net.test_logits) - np.asarray(rec.test_logits)).max())
    f_max = float(np.abs(np.asarray(net.test_logits)).max())  # the float64 net's (the loop ends in float64)
    u = numerics.UNIT_ROUNDOFF
    bound = {dt: (n_steps + 1) * (mlp.n_in + width) * u[dt] * f_max for dt in u}
    x_all = jnp.concatenate([jnp.asarray(data.x_train, jnp.float32), jnp.asarray(data.x_test, jnp.float32)])
    z0 = np.asarray(x_all @ models.init_reference(mlp, width, key=key)["w"].T)  # in float32, as the float32 run
    flips = (n_steps + 1) * z0.size * numerics.near_kink_fraction(z0, np.sqrt(mlp.n_in) * u["float32"])
    return RecursionCheck(gap, bound, f_max, flips)


class StepHalving(NamedTuple):
    r"""The recursion run to one time :math:`t` with step sizes :math:`\eta, \eta/2, \eta/4, \dots`.

    Attributes:
      etas: the step sizes, each half the previous.
      final: ``(len(etas), n_test)`` logits at time :math:`t` of each step size.
      halving: RMS over test points of the differences of successive step sizes, ``len(etas) - 1`` numbers; an
        order-:math:`p` scheme has them shrink like :math:`\eta^p`.
      flow: ``(n_test,)`` Richardson extrapolation :math:`2 f_{\eta_{\min}} - f_{2\eta_{\min}}` to :math:`\eta\to 0`
        (exact to second order for a first-order scheme): the gradient-flow logits.
      to_flow: RMS distance of the largest step size's logits to ``flow``.
      moved: RMS of the largest step size's logits (their size, to which ``to_flow`` compares).
    """

    etas: tuple[float, ...]
    final: np.ndarray
    halving: tuple[float, ...]
    flow: np.ndarray
    to_flow: float
    moved: float


def step_halving(
    mlp: models.MLP, data: Dataset, particles: Particles, etas: Sequence[float], *, t_final: float
) -> StepHalving:
    r"""Order of the recursion as a scheme for the continuous-time MF equation, on one cloud of particles.

    The same ``particles`` for every step size (so no Monte-Carlo noise enters the differences), each run for
    ``round(t_final / eta)`` steps. ``etas``: at least two step sizes > 0, each exactly half the previous;
    ``t_final > 0``.
    """
    etas = _validate.reals("etas", etas, low=0, open_low=True)
    if len(etas) < 2 or any(b != a / 2 for a, b in itertools.pairwise(etas)):
        raise ValueError(f"etas must hold at least two step sizes, each half the previous, got {etas}")
    t_final = _validate.real("t_final", t_final, low=0, open_low=True)
    final = {}
    for eta in etas:
        run = mf_limit(mlp, data, particles=particles, n_steps=round(t_final / eta), ref_lr=eta)
        final[eta] = np.asarray(run.test_logits[-1])
    halving = tuple(np.sqrt(np.mean((final[a] - final[b]) ** 2)) for a, b in itertools.pairwise(etas))
    flow = 2 * final[etas[-1]] - final[etas[-2]]  # Richardson: the O(eta) error cancels
    moved = np.sqrt(np.mean(final[etas[0]] ** 2))
    to_flow = np.sqrt(np.mean((final[etas[0]] - flow) ** 2))
    return StepHalving(etas, np.stack([final[e] for e in etas]), halving, flow, to_flow, moved)
