r"""Full-batch training of a scaled family member, with everything the book measures recorded every step.

One run is described by a :class:`Run` (a pytree of traced values: the scaling's exponents, the reference
learning rate, the initialisation-correction switch and the PRNG key). The static settings (steps, loss,
engine, ...) are one frozen :class:`TrainConfig`; with the architecture and the width they are all that is
static, so :func:`train_runs` compiles once per width and is ``vmap``-ped over any batch of runs (scalings x
learning rates x seeds).

The step-level API is public, in the spirit of optax's ``init``/``update`` pairs: :func:`engine` returns an
:class:`Engine` of pure functions (``init``, ``observe``, ``update``, ``params``) for one run, and the run
functions take a ``record=`` hook that sees a :class:`StepInfo` at every step, so a chapter measures what it
needs without writing a training loop of its own.

Loss: the logistic loss :math:`\ell(y, f) = \log(1 + e^{-\tilde y f})`, :math:`\tilde y = 2y - 1`, averaged over
the training set (PyTorch's ``BCEWithLogitsLoss``), or the square loss :math:`\tfrac12 (f - \tilde y)^2`
(``loss="mse"``, for the kernel-regression and catapult results stated for it). Optimisers: plain GD and
RMSProp with PyTorch's defaults (:math:`\alpha = 0.99`, :math:`\varepsilon = 10^{-8}`), each layer with its own
learning rate (``optax``).

**Divergence.** ``History.nonfinite_step`` is the first step at which the run diverged, by the criterion of
:mod:`widthlimits.divergence` (NaN, inf, or a logit :data:`DIVERGENCE_BOUND` times above its initial scale).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from widthlimits import _validate, models, numerics, scalings
from widthlimits import data as data_mod
from widthlimits.data import Dataset
from widthlimits.divergence import DIVERGENCE_BOUND, diverged, divergence_threshold  # training.DIVERGENCE_BOUND too

RMSPROP_DECAY, RMSPROP_EPS = 0.99, 1e-8


class Run(NamedTuple):
    r"""Traced description of one training run (leaves may carry a leading batch axis).

    Attributes:
      scaling: the family's exponents (its optimiser is static metadata).
      ref_lr: reference learning rate at the reference width.
      init_corrected: ``1.0`` trains the initialisation-corrected model
        :math:`f(\theta) - f(\theta_0) + f_{\mathrm{SP}}(\theta_0^{\mathrm{SP}})`, ``0.0`` the plain one.
      key: PRNG key of the initial draw; equal keys give the same underlying draw for every scaling.
    """

    scaling: scalings.Scaling
    ref_lr: jax.Array
    init_corrected: jax.Array
    key: jax.Array


class History(NamedTuple):
    r"""Records at steps ``k = 0..T`` (``k = 0`` is the initialisation, ``k = T`` after the last update).

    Attributes:
      train_loss, train_acc, test_loss, test_acc: ``(T+1,)``.
      test_logits: ``(T+1, n_test)``.
      kernel: ``(T+1, L+1, n_kernel)`` learning-rate-weighted tangent-kernel diagonal
        :math:`\eta_l \|\partial f(x)/\partial\theta_l\|^2` of each layer on the first ``n_kernel`` test points.
      preact_rms: ``(T+1, L)`` root-mean-square pre-activation of each hidden layer on those points.
      hat_distance: ``(T+1, L+1)`` distance of each layer from its initial value in hat units (cumulative, not
        the size of one step): mean row norm
        :math:`\|w_r - w_r(0)\|` for the input layer, mean :math:`|\Delta v_{rs}|/\sigma` and
        :math:`|\Delta a_r|/\sigma` for hidden and output layers.
      nonfinite_step: ``()`` int32, the first step at which the run diverged (-1 if none): its training loss or a
        training or test logit is NaN/inf, or a logit exceeds :func:`~widthlimits.divergence.divergence_threshold`
        of the initial logits. Named before the finite bound existed; kept so cached and shipped results load.
    """

    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    test_logits: jax.Array
    kernel: jax.Array
    preact_rms: jax.Array
    hat_distance: jax.Array
    nonfinite_step: jax.Array


def make_run(
    scaling: scalings.Scaling, *, key: jax.Array, ref_lr: float | None = None, init_corrected: bool = False
) -> Run:
    """A single :class:`Run`; ``ref_lr`` (> 0) defaults to the optimiser's reference rate."""
    scalings._check_scaling("scaling", scaling)
    models._check_key(key)
    # Checked before the float32 wrapping below, after which a rate <= 0 would be a valid array and just train
    # backwards or not at all.
    lr = scalings.REF_LR[scaling.optimizer] if ref_lr is None else ref_lr
    lr = _validate.real("ref_lr", lr, low=0, open_low=True)
    if not _validate.is_traced(init_corrected):
        init_corrected = _validate.boolean("init_corrected", init_corrected)
    # The default float dtype: float32, or float64 in a float64 rerun (numerics.x64), never forced to float32.
    return Run(scaling, numerics.as_float(lr), numerics.as_float(init_corrected), key)


def optimizer(name: str, lrs: models.Params) -> optax.GradientTransformation:
    """GD or RMSProp (PyTorch defaults) with one learning rate per layer; ``lrs`` mirrors the params."""
    if not isinstance(lrs, dict) or set(lrs) != {"w", "v", "a"} or not isinstance(lrs["v"], tuple | list):
        raise TypeError(f"lrs must be a dict {{'w': lr, 'v': (lr, ...), 'a': lr}} mirroring the params, got {lrs!r}")
    for path, lr in [("['w']", lrs["w"]), ("['a']", lrs["a"]), *((f"['v'][{l}]", v) for l, v in enumerate(lrs["v"]))]:
        if not callable(lr):  # an optax schedule is a valid rate too; traced rates pass through unchecked
            _validate.real(f"lrs{path}", lr, low=0, open_low=True)
    if name == "gd":
        make = optax.sgd
    elif name == "rmsprop":  # torch.optim.RMSprop: v <- a v + (1-a) g^2, step -lr g / (sqrt(v) + eps)
        make = functools.partial(optax.rmsprop, decay=RMSPROP_DECAY, eps=RMSPROP_EPS, eps_in_sqrt=False)
    else:
        raise ValueError(f"optimizer must be one of {scalings.OPTIMIZERS}, got {name!r}")
    labels = {"w": "w", "v": tuple(f"v{l}" for l in range(1, len(lrs["v"]) + 1)), "a": "a"}
    groups = {"w": lrs["w"], "a": lrs["a"]} | {f"v{l + 1}": lr for l, lr in enumerate(lrs["v"])}
    return optax.multi_transform({name: make(lr) for name, lr in groups.items()}, labels)


def _check_pair(logits: Any, y: Any) -> None:
    # Shapes only (static under jit, so this costs nothing in the training loop): a column of labels (n, 1)
    # against logits (n,) would broadcast to an (n, n) loss and average the wrong thing silently.
    for name, arr in (("logits", logits), ("y", y)):
        if not hasattr(arr, "shape"):
            raise TypeError(f"{name} must be an array of shape (n,), got {type(arr).__name__}")
    if len(logits.shape) != 1 or tuple(y.shape) != tuple(logits.shape):
        raise ValueError(f"logits and y must both have shape (n,), got {tuple(logits.shape)} and {tuple(y.shape)}")
    if not _validate.is_traced(y):  # concrete labels (an eager call): ±1 targets would train on the wrong loss
        _validate.labels("y", y, logits.shape[0])


def logistic_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean logistic loss, ``(n,), (n,) -> ()``, labels in ``{0, 1}``."""
    _check_pair(logits, y)
    return jnp.mean(jax.nn.softplus(-(2 * y - 1) * logits))


def square_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean of ``(f - (2y - 1))**2 / 2``, ``(n,), (n,) -> ()``: regression onto the targets +-1."""
    _check_pair(logits, y)
    return 0.5 * jnp.mean((logits - (2 * y - 1)) ** 2)


LOSSES = {"logistic": logistic_loss, "mse": square_loss}


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of points with ``sign(f) == 2y - 1``, ``(n,), (n,) -> ()``."""
    _check_pair(logits, y)
    return jnp.mean((2 * y - 1) * logits > 0)


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
        return run.init_corrected * (models.apply_batch(mlp, p_ref, xs) - models.apply_batch(mlp, p0, xs))

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
    off_all = run.init_corrected * (mlp.phi(z0_all) @ (a_ref - a0))
    xk_sq = jnp.sum(xt[:n_kernel] ** 2, axis=1)

    def evaluate(state):
        ct, a = state
        z_all = z0_all + gram_all @ ct
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
        return {"w": jnp.asarray(w_ref, dtype) + ct.T @ x, "v": (), "a": a}

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


@functools.partial(
    jax.jit,
    static_argnames=(
        "mlp",
        "width",
        "n_steps",
        "n_kernel",
        "ref_width",
        "engine",
        "loss",
        "precision",
        "per_key",
        "record",
    ),
)
def _train_runs(mlp, width, runs, data, *, n_steps, n_kernel, ref_width, engine, loss, precision, per_key, record):
    """:func:`train_runs` on checked arguments (``engine`` resolved, ``n_kernel`` clipped to the test set)."""
    n_runs = runs.ref_lr.shape[0]
    one = functools.partial(_train_one, mlp, width, n_steps, n_kernel, ref_width, engine, loss, record)

    def group(runs_g: Run):
        init = _draw(mlp, width, engine, runs_g.key[0], data)
        return jax.vmap(one, in_axes=(0, None, None))(runs_g, data, init)

    with jax.default_matmul_precision(precision):
        grouped = jax.tree.map(lambda l: l.reshape(n_runs // per_key, per_key, *l.shape[1:]), runs)
        out = jax.vmap(group)(grouped)
    return jax.tree.map(lambda l: l.reshape(n_runs, *l.shape[2:]), out)


def _check_runs(runs: object) -> int:
    """Structure, shapes and (where concrete) values of a batch of runs; returns the batch size ``B``."""
    if not isinstance(runs, Run):
        raise TypeError(f"runs must be a training.Run (one per leaf: a leading batch axis), got {type(runs).__name__}")
    scalings._check_scaling("runs.scaling", runs.scaling)
    lr = _validate.array("runs.ref_lr", runs.ref_lr, ndim=1, kinds="f", min_size=1)
    n_runs = lr.shape[0]
    leaves = [(f"runs.scaling.{f}", getattr(runs.scaling, f)) for f in ("q_sigma", "q_w", "q_v", "q_a")]
    for name, leaf in [*leaves, ("runs.init_corrected", runs.init_corrected)]:
        _validate.array(name, leaf, shape=(n_runs,), kinds="fiu")
    key, shape = runs.key, getattr(runs.key, "shape", None)  # typed keys (B,), or raw uint32 (B, 2) / rbg (B, 4)
    typed = jax.dtypes.issubdtype(getattr(key, "dtype", np.float32), jax.dtypes.prng_key)
    raw = not typed and getattr(key, "dtype", None) == np.uint32 and shape in ((n_runs, 2), (n_runs, 4))
    if not (raw or (typed and shape == (n_runs,))):
        got = f"shape {shape} {getattr(key, 'dtype', type(key).__name__)}"
        raise ValueError(f"runs.key must stack {n_runs} PRNG keys (uint32 ({n_runs}, 2) from PRNGKey), got {got}")
    # Values only where concrete: under a caller's jit they are tracers, and the caller checked them.
    if not _validate.is_traced(lr) and not np.all(np.asarray(lr) > 0):
        raise ValueError(f"runs.ref_lr must hold learning rates in (0, inf), got {np.asarray(lr)}")
    ic = runs.init_corrected
    if not _validate.is_traced(ic) and not np.isin(np.asarray(ic), (0, 1)).all():
        raise ValueError(f"runs.init_corrected must hold 0.0 (plain) or 1.0 (corrected), got {np.asarray(ic)}")
    return n_runs


def _check_record(record: object, engine: str) -> str:
    """``record`` is ``None`` or a callable; a hook needs the parameters, so it runs on the direct engine."""
    if record is None:
        return engine
    if not callable(record):
        raise TypeError(f"record must be a function of a training.StepInfo (or None), got {type(record).__name__}")
    if engine == "gram":
        raise ValueError("record needs engine='direct' or 'auto': the Gram engine never forms the parameters")
    return "direct"


def train_runs(
    mlp: models.MLP,
    width: int,
    runs: Run,
    data: Dataset,
    config: TrainConfig | None = None,
    *,
    record: Record | None = None,
    runs_per_key: int = 1,
    **settings,
):
    """Train a batch of runs (leading axis ``B`` on every leaf of ``runs``); returns a ``History`` with axis ``B``.

    Compiles once per ``(mlp, width, config, B, optimizer, data shapes, record)``; exponents, learning rates,
    correction switches and seeds are traced. Every argument is checked here, before tracing (the compiled
    function behind it is private).

    Args:
      width: hidden width, an integer in ``[1, _validate.MAX_WIDTH]``.
      data: a :class:`~widthlimits.data.Dataset` with ``mlp.n_in`` inputs and labels in ``{0, 1}``.
      config: the static settings (:class:`TrainConfig`); ``**settings`` (``n_steps=5``, ``loss="mse"``, ...)
        override its fields.
      record: a hook ``StepInfo -> pytree`` evaluated at every step ``0..T`` inside the compiled loop; with it
        the result is ``(history, records)``, each leaf of ``records`` with leading axes ``(B, T+1)``. It runs on
        the direct engine. Define it once (at module level): a new function object is a new compilation.
      runs_per_key: the runs come in consecutive groups of this size that share one initial draw: the key of
        the first run of each group is used for the whole group, and the draw (and for the Gram engine its
        projection onto the data) is computed once per group. ``B`` must be a multiple of it.
    """
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    n_runs = _check_runs(runs)
    data = data_mod.check_dataset(data, mlp.n_in)
    cfg = _config(config, settings)
    engine = resolve_engine(mlp, runs.scaling.optimizer, data.x_train.shape[0], _check_record(record, cfg.engine))
    per_key = _validate.integer("runs_per_key", runs_per_key, low=1)
    if n_runs % per_key:
        raise ValueError(f"runs_per_key must be a positive divisor of the batch size {n_runs}, got {runs_per_key!r}")
    static = dict(n_kernel=min(cfg.n_kernel, data.x_test.shape[0]), ref_width=cfg.ref_width, engine=engine)
    hist, rec = _train_runs(
        mlp,
        width,
        runs,
        data,
        n_steps=cfg.n_steps,
        loss=cfg.loss,
        precision=cfg.precision,
        per_key=per_key,
        record=record,
        **static,
    )
    return hist if record is None else (hist, rec)


def train(
    mlp: models.MLP,
    width: int,
    scaling: scalings.Scaling,
    data: Dataset,
    config: TrainConfig | None = None,
    *,
    key: jax.Array,
    ref_lr: float | None = None,
    init_corrected: bool = False,
    record: Record | None = None,
    **settings,
):
    """Train one net (a batch of one :func:`train_runs`); see :class:`History` for what is recorded.

    ``ref_lr`` must be a finite number > 0 (default: the optimiser's reference rate); ``config``,
    ``**settings`` and ``record`` are as in :func:`train_runs` (with ``record``, ``(history, records)`` with
    the records' leading axis ``T+1``).
    """
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    cfg = _config(config, settings)
    run = make_run(scaling, key=key, ref_lr=ref_lr, init_corrected=init_corrected)
    batch = jax.tree.map(lambda leaf: jnp.asarray(leaf)[None], run)
    out = train_runs(mlp, width, batch, data, cfg, record=record)
    return jax.tree.map(lambda a: a[0], out)


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
