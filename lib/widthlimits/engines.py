r"""The training engines and their public step-level API: ``init``, ``observe``, ``update`` of one run.

In the spirit of optax's ``init``/``update`` pairs, :func:`engine` returns an :class:`Engine` of pure
functions for one :class:`~widthlimits.runs.Run`; :func:`~widthlimits.training.train_runs` is the same loop,
compiled and batched, with a ``record=`` hook that sees a :class:`StepInfo` at every step. The static settings
are one frozen :class:`TrainConfig`.

Two engines compute the same steps: the *direct* one (any depth, any optimiser: autograd through the forward
pass, optax updates) and the *Gram* one (one hidden layer under GD, where :math:`W_k = W_0 + C_k X` exactly).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from widthlimits import _validate, models, numerics, scalings
from widthlimits import data as data_mod
from widthlimits.data import Dataset
from widthlimits.divergence import DIVERGENCE_BOUND, diverged, divergence_threshold
from widthlimits.losses import LOSSES, accuracy
from widthlimits.optimizers import optimizer
from widthlimits.runs import History, Run, _check_runs


def _hyper(run: Run, mlp: models.MLP, width: int, ref_width: int):
    hp = scalings.hyperparams(run.scaling, width, ref_width=ref_width, ref_lr=run.ref_lr)
    lr_per_layer = jnp.stack([hp.lr_w, *([hp.lr_v] * (mlp.depth - 1)), hp.lr_a])
    return hp, lr_per_layer


def _metrics(loss_fn, f_train, y, f_test, yt) -> dict:
    train_loss = loss_fn(f_train, y)
    return dict(
        train_loss=train_loss,
        train_acc=accuracy(f_train, y),
        test_loss=loss_fn(f_test, yt),
        test_acc=accuracy(f_test, yt),
        test_logits=f_test,
        # Not recorded, only reduced into nonfinite_step (the training logits are not part of a History). The
        # bound applies to logits only (a square loss of 1e8 is a logit of only ~1.4e4); max propagates NaN.
        _peak=jnp.maximum(jnp.max(jnp.abs(f_train)), jnp.max(jnp.abs(f_test))),
        _loss_finite=jnp.isfinite(train_loss),
    )


def _direct_engine(mlp, width, n_kernel, ref_width, loss, run: Run, data: Dataset, p_ref: models.Params):
    """Any depth, any optimiser: autograd through the full forward pass, optax updates."""
    hp, lr_per_layer = _hyper(run, mlp, width, ref_width)
    p0 = models.rescale(p_ref, hp.init_factor)
    n_hidden = mlp.depth - 1
    opt = optimizer(run.scaling.optimizer, {"w": hp.lr_w, "v": (hp.lr_v,) * n_hidden, "a": hp.lr_a})
    x, y, xt, yt = data

    def offset(xs):  # the IC-MF correction, a constant of the run
        return run.init_corrected * models.init_offset(mlp, p0, p_ref, xs)

    off_train, off_test = offset(x), offset(xt)

    def loss_fn(p):
        f = models.apply_batch(mlp, p, x) + off_train
        return LOSSES[loss](f, y), f

    def evaluate(state):
        p, _ = state
        (_, f), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        dw = jnp.mean(jnp.linalg.norm(p["w"] - p0["w"], axis=1))
        rest = [jnp.mean(jnp.abs(q - q0)) / hp.sigma for q, q0 in zip((*p["v"], p["a"]), (*p0["v"], p0["a"]))]
        obs = _metrics(LOSSES[loss], f, y, models.apply_batch(mlp, p, xt) + off_test, yt)
        obs["kernel"] = lr_per_layer[:, None] * models.layer_kernel_diag(mlp, p, xt[:n_kernel])
        pre = jax.vmap(models.preactivations, in_axes=(None, None, 0))(mlp, p, xt[:n_kernel])
        obs["preact_rms"] = jnp.stack([jnp.sqrt(jnp.mean(h**2)) for h in pre])
        obs["hat_distance"] = jnp.stack([dw, *rest])
        return obs, grads

    def update(state, grads):
        p, opt_state = state
        updates, opt_state = opt.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state

    return (p0, opt.init(p0)), evaluate, update, lambda state: state[0]


def _gram_engine(mlp, width, n_kernel, ref_width, loss, run: Run, data: Dataset, init, w_ref=None):
    r"""One hidden layer and GD: :math:`W_k = W_0 + C_k X` exactly, so only :math:`C_k^\top` (``(n, d)``) is stored.

    Train and test pre-activations come from one product with the stacked Gram matrices,

    .. math::

       [Z_k; Z^{\text{test}}_k] = [X; X_{\text{test}}]\, W_0^\top + [X X^\top; X_{\text{test}} X^\top]\, C_k^\top,

    and a GD step is :math:`C^\top \leftarrow C^\top - \eta_W M` with :math:`M = \phi'(Z)\odot(e\,a^\top)`: per step
    :math:`2 (n + n_{\text{test}})\, n\, d` flops instead of :math:`2 (2n + n_{\text{test}})\, n_0\, d`. Every
    product is row-major by row-major (no transposed operand), the layout XLA's CPU matmul handles fastest.
    ``init = (z0_all, a_ref)`` comes from :func:`_draw`; the parameters :math:`(W_0 + C_k X, a_k)` of a state are
    materialised only where ``w_ref`` (the input layer of the draw) is given, as by the public :func:`engine`.
    """
    hp, lr_per_layer = _hyper(run, mlp, width, ref_width)
    # One dtype for the whole engine: the data's and the scaling constants' (float32, or float64 in a float64
    # rerun with float32 data), so that the pullbacks below get cotangents of their primals' dtype.
    dtype = jnp.result_type(init[0], data.x_train, hp.init_factor)
    z0_all, a_ref = (jnp.asarray(v, dtype) for v in init)
    a0 = hp.init_factor * a_ref
    data = Dataset(*(jnp.asarray(v, dtype) for v in data))
    x, y, xt, yt = data
    n = x.shape[0]
    gram_all = jnp.concatenate([x, xt]) @ x.T  # (n + n_test, n), shared by every run of a vmapped batch
    z0 = z0_all[:n]
    off_all = run.init_corrected * models.init_offset_from_preactivations(mlp, z0_all, a0, a_ref)
    xk_sq = jnp.sum(xt[:n_kernel] ** 2, axis=1)

    def evaluate(state):
        ct, a = state
        z_all = models.span_preactivations(z0_all, gram_all, ct)
        z, zt = z_all[:n], z_all[n:]
        f_all = mlp.phi(z_all) @ a + off_all
        f = f_all[:n]
        e = jax.grad(LOSSES[loss])(f, y)  # (n,) dLoss/df
        phi_z, pullback = jax.vjp(mlp.phi, z)
        (m,) = pullback(e[:, None] * a[None, :])  # phi'(Z) * e a^T, (n, d)
        zk = zt[:n_kernel]
        phi_k, pullback_k = jax.vjp(mlp.phi, zk)
        (delta_k,) = pullback_k(jnp.broadcast_to(a, zk.shape))  # a * phi'(z(x)), (n_kernel, d)
        row_sq = jnp.sum((z - z0) * ct, axis=0)  # |C_r X|^2 = (C G C^T)_rr, free from Z - Z0 = G C^T
        obs = _metrics(LOSSES[loss], f, y, f_all[n:], yt)
        obs["preact_rms"] = jnp.sqrt(jnp.mean(zk**2))[None]
        obs["kernel"] = lr_per_layer[:, None] * jnp.stack([jnp.sum(delta_k**2, 1) * xk_sq, jnp.sum(phi_k**2, 1)])
        obs["hat_distance"] = jnp.stack(
            [jnp.mean(jnp.sqrt(jnp.maximum(row_sq, 0))), jnp.mean(jnp.abs(a - a0)) / hp.sigma]
        )
        return obs, (m, e @ phi_z)

    def update(state, grads):
        (ct, a), (g_c, g_a) = state, grads
        return ct - hp.lr_w * g_c, a - hp.lr_a * g_a

    def params(state):
        if w_ref is None:
            raise ValueError("the Gram engine's parameters need the draw's input layer: use training.engine")
        ct, a = state
        return {"w": models.span_weights(jnp.asarray(w_ref, dtype), ct, x), "v": (), "a": a}

    return (jnp.zeros((x.shape[0], width), x.dtype), a0), evaluate, update, params


ENGINES = ("auto", "direct", "gram")


def _gram_is_exact(mlp: models.MLP, optimizer_name: str) -> bool:
    return mlp.depth == 1 and optimizer_name == "gd"


def _draw(mlp: models.MLP, width: int, engine: str, key: jax.Array, data: Dataset):
    """The initial draw of one key: the reference params, or for the Gram engine ``(X_all W_0^T, a_ref)``.

    The projection onto the data is the only product with the input dimension the Gram engine ever computes,
    so runs that share a key (families of one seed) share it.
    """
    p_ref = models.init_reference(mlp, width, key=key)
    if engine == "direct":
        return p_ref
    return jnp.concatenate([data.x_train, data.x_test]) @ p_ref["w"].T, p_ref["a"]


class StepInfo(NamedTuple):
    """What a ``record`` hook sees at step ``k`` (``k = 0..T``; the record of step ``T`` sees no real update).

    Attributes:
      step: ``()`` int32, ``k``.
      params: the parameters before update ``k``; ``params0`` those at initialisation.
      next_params: the parameters after update ``k`` (``next_params - params`` is the update optax applied).
      grads: the gradient of the training loss at ``params`` (a pytree like ``params``).
      metrics: this step's :class:`History` fields (``train_loss``, ``test_logits``, ...), before the update.
      hp: the run's :class:`~widthlimits.scalings.HyperParams` at this width.
      data: the :class:`~widthlimits.data.Dataset` being trained on (a hook reads it here rather than from a
        global, so that a compiled program never holds stale data).
    """

    step: jax.Array
    params: models.Params
    params0: models.Params
    next_params: models.Params
    grads: models.Params
    metrics: dict
    hp: scalings.HyperParams
    data: Dataset


#: A ``record`` hook: a pure function of a :class:`StepInfo` returning a pytree of arrays, stacked over steps.
Record = Callable[[StepInfo], Any]


def _make_engine(mlp, width, n_kernel, ref_width, engine, loss, run: Run, data: Dataset, init, w_ref=None):
    if engine == "gram":
        return _gram_engine(mlp, width, n_kernel, ref_width, loss, run, data, init, w_ref)
    return _direct_engine(mlp, width, n_kernel, ref_width, loss, run, data, init)


def _train_one(mlp, width, n_steps, n_kernel, ref_width, engine, loss, record, run: Run, data: Dataset, init):
    state0, evaluate, update, params = _make_engine(mlp, width, n_kernel, ref_width, engine, loss, run, data, init)
    hp = scalings.hyperparams(run.scaling, width, ref_width=ref_width, ref_lr=run.ref_lr) if record else None

    def step(carry, k):
        state, bad, threshold = carry
        obs, grads = evaluate(state)
        peak, loss_finite = obs.pop("_peak"), obs.pop("_loss_finite")
        threshold = jnp.where(k == 0, divergence_threshold(peak), threshold)  # fixed by the initial logits
        now_bad = ~loss_finite | diverged(peak, threshold)
        new_state = update(state, grads)
        rec = None
        if record is not None:
            info = StepInfo(k, params(state), params(state0), params(new_state), grads, dict(obs), hp, data)
            rec = record(info)
        return (new_state, jnp.where((bad < 0) & now_bad, k, bad), threshold), (obs, rec)

    # T + 1 evaluations in one loop (the last update is discarded): evaluate is traced once, compiles faster.
    carry0 = (state0, jnp.int32(-1), numerics.as_float(DIVERGENCE_BOUND))
    (_, bad, _), (trace, rec) = jax.lax.scan(step, carry0, jnp.arange(n_steps + 1, dtype=jnp.int32))
    return History(**trace, nonfinite_step=bad), rec


def resolve_engine(mlp: models.MLP, optimizer_name: str, n_train: int, engine: str = "auto") -> str:
    """The engine ``train_runs`` will use: ``"gram"`` or ``"direct"`` (raises ``ValueError`` where invalid)."""
    models._check_mlp(mlp)
    _validate.choice("optimizer_name", optimizer_name, scalings.OPTIMIZERS)
    n_train = _validate.integer("n_train", n_train, low=1)
    _validate.choice("engine", engine, ENGINES)
    exact = _gram_is_exact(mlp, optimizer_name)
    if engine == "gram" and not exact:
        raise ValueError("engine='gram' is exact only for one hidden layer trained with GD")
    if engine == "auto":  # the Gram engine saves flops only with fewer training points than input dimensions
        engine = "gram" if exact and n_train < mlp.n_in else "direct"
    return engine


#: Matmul precisions: ``"highest"`` is full float32 on every backend (the default); ``"default"`` lets a GPU use
#: TF32 (10-bit mantissa) and a TPU bfloat16 passes. On CPU all three are full float32.
PRECISIONS = ("highest", "high", "default")

EngineName = Literal["auto", "direct", "gram"]
LossName = Literal["logistic", "mse"]
Precision = Literal["highest", "high", "default"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The static settings of a training run: one object instead of the same keywords passed along by hand.

    Everything here is static under ``jit`` (changing it recompiles); what varies between runs (exponents,
    learning rates, seeds) is a traced :class:`Run`. Checked on construction.

    Attributes:
      n_steps: optimisation steps, an integer ``>= 0`` (``T + 1`` records: step 0 is the initialisation).
      n_kernel: test points whose kernel and pre-activations are recorded, an integer ``>= 1`` (clipped to the
        test-set size).
      ref_width: the reference width :math:`d^*` of the scalings.
      engine: ``"auto"`` (the exact Gram engine for one hidden layer under GD with fewer training points
        than inputs, else the direct one), ``"gram"`` or ``"direct"``.
      loss: ``"logistic"`` (the papers') or ``"mse"`` (square loss onto targets ±1).
      precision: matmul precision, one of :data:`PRECISIONS`.
    """

    n_steps: int = 50
    n_kernel: int = 10
    ref_width: int = scalings.REF_WIDTH
    engine: EngineName = "auto"
    loss: LossName = "logistic"
    precision: Precision = "highest"

    def __post_init__(self):
        object.__setattr__(self, "n_steps", _validate.integer("n_steps", self.n_steps, low=0))
        object.__setattr__(self, "n_kernel", _validate.integer("n_kernel", self.n_kernel, low=1))
        object.__setattr__(self, "ref_width", _validate.width("ref_width", self.ref_width))
        _validate.choice("engine", self.engine, ENGINES)
        _validate.choice("loss", self.loss, tuple(LOSSES))
        _validate.choice("precision", self.precision, PRECISIONS)

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


def _config(config: TrainConfig | None, overrides: dict) -> TrainConfig:
    """``config`` with keyword overrides (``n_steps=5``, ...), or a default one built from them."""
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a training.TrainConfig, got {type(config).__name__}")
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {unknown}; TrainConfig's fields are "
            f"{[f.name for f in dataclasses.fields(TrainConfig)]}"
        )
    return (config or TrainConfig()).replace(**overrides) if overrides else (config or TrainConfig())


class Engine(NamedTuple):
    """The pure functions of one training run, in the spirit of optax's ``init``/``update`` pairs.

    ``state = init()``; ``step = observe(state)`` gives this step's :class:`History` fields (``step.metrics``)
    and the gradient (``step.grads``); ``update(state, step)`` is the state after one optimiser step;
    ``params(state)`` the network's parameters (for the Gram engine, :math:`W_0 + C X` materialised). All four
    can be ``jit``-ted and ``vmap``-ped; :func:`train_runs` is this loop, compiled and batched.
    """

    init: Callable[[], Any]
    observe: Callable[[Any], Step]
    update: Callable[[Any, Step], Any]
    params: Callable[[Any], models.Params]


class Step(NamedTuple):
    """What :attr:`Engine.observe` returns: ``metrics`` (a dict of History fields at this step) and ``grads``."""

    metrics: dict
    grads: Any


def engine(mlp: models.MLP, width: int, run: Run, data: Dataset, config: TrainConfig | None = None) -> Engine:
    """The step-level engine of one run (no batch axis), as :func:`train_runs` uses it; see :class:`Engine`."""
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    batch = jax.tree.map(lambda leaf: jnp.asarray(leaf)[None], run)
    _check_runs(batch)
    data = data_mod.check_dataset(data, mlp.n_in)
    cfg = _config(config, {})
    name = resolve_engine(mlp, run.scaling.optimizer, data.x_train.shape[0], cfg.engine)
    n_kernel = min(cfg.n_kernel, data.x_test.shape[0])
    init = _draw(mlp, width, name, run.key, data)
    w_ref = models.init_reference(mlp, width, key=run.key)["w"] if name == "gram" else None
    state0, evaluate, update, params = _make_engine(
        mlp, width, n_kernel, cfg.ref_width, name, cfg.loss, run, data, init, w_ref
    )

    def observe(state) -> Step:
        obs, grads = evaluate(state)
        return Step({k: v for k, v in obs.items() if not k.startswith("_")}, grads)

    return Engine(lambda: state0, observe, lambda state, step: update(state, step.grads), params)
