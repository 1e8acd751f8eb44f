r"""Full-batch training of a scaled family member, with everything the book measures recorded every step.

One run is described by a :class:`Run` (a pytree of traced values: the scaling's exponents, the reference
learning rate, the initialisation-correction switch and the PRNG key). Only the architecture, the width and
the number of steps are static, so :func:`train_runs` compiles once per width and is ``vmap``-ped over any
batch of runs (scalings x learning rates x seeds).

Loss: the logistic loss :math:`\ell(y, f) = \log(1 + e^{-\tilde y f})`, :math:`\tilde y = 2y - 1`, averaged over
the training set (PyTorch's ``BCEWithLogitsLoss``), or the square loss :math:`\tfrac12 (f - \tilde y)^2`
(``loss="mse"``, for the kernel-regression and catapult results stated for it). Optimisers: plain GD and
RMSProp with PyTorch's defaults (:math:`\alpha = 0.99`, :math:`\varepsilon = 10^{-8}`), each layer with its own
learning rate (``optax``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from widthlimits import models, scalings
from widthlimits.data import Dataset

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
      hat_step: ``(T+1, L+1)`` distance of each layer from its initial value in hat units: mean row norm
        :math:`\|w_r - w_r(0)\|` for the input layer, mean :math:`|\Delta v_{rs}|/\sigma` and
        :math:`|\Delta a_r|/\sigma` for hidden and output layers.
      nonfinite_step: ``()`` int32, the first step whose loss or test logits are NaN/inf, ``-1`` if none.
    """

    train_loss: jax.Array
    train_acc: jax.Array
    test_loss: jax.Array
    test_acc: jax.Array
    test_logits: jax.Array
    kernel: jax.Array
    preact_rms: jax.Array
    hat_step: jax.Array
    nonfinite_step: jax.Array


def make_run(
    scaling: scalings.Scaling, *, key: jax.Array, ref_lr: float | None = None, init_corrected: bool = False
) -> Run:
    """A single :class:`Run`; ``ref_lr`` defaults to the optimiser's reference rate."""
    lr = scalings.REF_LR[scaling.optimizer] if ref_lr is None else ref_lr
    return Run(scaling, jnp.float32(lr), jnp.float32(bool(init_corrected)), key)


def optimizer(name: str, lrs: models.Params) -> optax.GradientTransformation:
    """GD or RMSProp (PyTorch defaults) with one learning rate per layer; ``lrs`` mirrors the params."""
    if name == "gd":
        make = optax.sgd
    elif name == "rmsprop":  # torch.optim.RMSprop: v <- a v + (1-a) g^2, step -lr g / (sqrt(v) + eps)
        make = functools.partial(optax.rmsprop, decay=RMSPROP_DECAY, eps=RMSPROP_EPS, eps_in_sqrt=False)
    else:
        raise ValueError(f"optimizer must be one of {scalings.OPTIMIZERS}, got {name!r}")
    labels = {"w": "w", "v": tuple(f"v{l}" for l in range(1, len(lrs["v"]) + 1)), "a": "a"}
    groups = {"w": lrs["w"], "a": lrs["a"]} | {f"v{l + 1}": lr for l, lr in enumerate(lrs["v"])}
    return optax.multi_transform({name: make(lr) for name, lr in groups.items()}, labels)


def logistic_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean logistic loss, ``(n,), (n,) -> ()``, labels in ``{0, 1}``."""
    return jnp.mean(jax.nn.softplus(-(2 * y - 1) * logits))


def square_loss(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Mean of ``(f - (2y - 1))**2 / 2``, ``(n,), (n,) -> ()``: regression onto the targets +-1."""
    return 0.5 * jnp.mean((logits - (2 * y - 1)) ** 2)


LOSSES = {"logistic": logistic_loss, "mse": square_loss}


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of points with ``sign(f) == 2y - 1``, ``(n,), (n,) -> ()``."""
    return jnp.mean((2 * y - 1) * logits > 0)


def _hyper(run: Run, mlp: models.MLP, width: int, ref_width: int):
    hp = scalings.hyperparams(run.scaling, width, ref_width=ref_width, ref_lr=run.ref_lr)
    lr_per_layer = jnp.stack([hp.lr_w, *([hp.lr_v] * (mlp.depth - 1)), hp.lr_a])
    return hp, lr_per_layer


def _metrics(loss_fn, f_train, y, f_test, yt) -> dict:
    return dict(
        train_loss=loss_fn(f_train, y),
        train_acc=accuracy(f_train, y),
        test_loss=loss_fn(f_test, yt),
        test_acc=accuracy(f_test, yt),
        test_logits=f_test,
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
        obs["hat_step"] = jnp.stack([dw, *rest])
        return obs, grads

    def update(state, grads):
        p, opt_state = state
        updates, opt_state = opt.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state

    return (p0, opt.init(p0)), evaluate, update


def _gram_engine(mlp, width, n_kernel, ref_width, loss, run: Run, data: Dataset, init):
    r"""One hidden layer and GD: :math:`W_k = W_0 + C_k X` exactly, so only :math:`C_k^\top` (``(n, d)``) is stored.

    Train and test pre-activations come from one product with the stacked Gram matrices,

    .. math::

       [Z_k; Z^{\text{test}}_k] = [X; X_{\text{test}}]\, W_0^\top + [X X^\top; X_{\text{test}} X^\top]\, C_k^\top,

    and a GD step is :math:`C^\top \leftarrow C^\top - \eta_W M` with :math:`M = \phi'(Z)\odot(e\,a^\top)`: per step
    :math:`2 (n + n_{\text{test}})\, n\, d` flops instead of :math:`2 (2n + n_{\text{test}})\, n_0\, d`. Every
    product is row-major by row-major (no transposed operand), the layout XLA's CPU matmul handles fastest.
    ``init = (z0_all, a_ref)`` comes from :func:`_draw`.
    """
    hp, lr_per_layer = _hyper(run, mlp, width, ref_width)
    z0_all, a_ref = init
    a0 = hp.init_factor * a_ref
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
        obs["hat_step"] = jnp.stack([jnp.mean(jnp.sqrt(jnp.maximum(row_sq, 0))), jnp.mean(jnp.abs(a - a0)) / hp.sigma])
        return obs, (m, e @ phi_z)

    def update(state, grads):
        (ct, a), (g_c, g_a) = state, grads
        return ct - hp.lr_w * g_c, a - hp.lr_a * g_a

    return (jnp.zeros((x.shape[0], width), x.dtype), a0), evaluate, update


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


def _train_one(mlp, width, n_steps, n_kernel, ref_width, engine, loss, run: Run, data: Dataset, init) -> History:
    make = _gram_engine if engine == "gram" else _direct_engine
    state0, evaluate, update = make(mlp, width, n_kernel, ref_width, loss, run, data, init)

    def first_bad(bad, obs, k):
        finite = jnp.isfinite(obs["train_loss"]) & jnp.all(jnp.isfinite(obs["test_logits"]))
        return jnp.where((bad < 0) & ~finite, k, bad)

    def step(carry, k):
        state, bad = carry
        obs, grads = evaluate(state)
        return (update(state, grads), first_bad(bad, obs, k)), obs

    # T + 1 evaluations in one loop (the last update is discarded): evaluate is traced once, compiles faster.
    (_, bad), trace = jax.lax.scan(step, (state0, jnp.int32(-1)), jnp.arange(n_steps + 1, dtype=jnp.int32))
    return History(**trace, nonfinite_step=bad)


def resolve_engine(mlp: models.MLP, optimizer_name: str, n_train: int, engine: str = "auto") -> str:
    """The engine ``train_runs`` will use: ``"gram"`` or ``"direct"`` (raises ``ValueError`` where invalid)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    exact = _gram_is_exact(mlp, optimizer_name)
    if engine == "gram" and not exact:
        raise ValueError("engine='gram' is exact only for one hidden layer trained with GD")
    if engine == "auto":  # the Gram engine saves flops only with fewer training points than input dimensions
        engine = "gram" if exact and n_train < mlp.n_in else "direct"
    return engine


#: Matmul precisions: ``"highest"`` is full float32 on every backend (the default); ``"default"`` lets a GPU use
#: TF32 (10-bit mantissa) and a TPU bfloat16 passes. On CPU all three are full float32.
PRECISIONS = ("highest", "high", "default")


@functools.partial(
    jax.jit,
    static_argnames=("mlp", "width", "n_steps", "n_kernel", "ref_width", "engine", "loss", "precision", "runs_per_key"),
)
def train_runs(
    mlp: models.MLP,
    width: int,
    runs: Run,
    data: Dataset,
    *,
    n_steps: int,
    n_kernel: int = 10,
    ref_width: int = scalings.REF_WIDTH,
    engine: str = "auto",
    loss: str = "logistic",
    precision: str = "highest",
    runs_per_key: int = 1,
) -> History:
    """Train a batch of runs (leading axis ``B`` on every leaf of ``runs``); returns a ``History`` with axis ``B``.

    Compiles once per ``(mlp, width, n_steps, n_kernel, ref_width, B, optimizer, data shapes)``; exponents,
    learning rates, correction switches and seeds are traced. ``engine="auto"`` uses the exact Gram-matrix
    engine for one hidden layer under GD (several times fewer flops) and the direct engine otherwise.

    Args:
      precision: matmul precision, one of ``PRECISIONS`` (default full float32 everywhere).
      runs_per_key: the runs come in consecutive groups of this size that share one initial draw: the key of
        the first run of each group is used for the whole group, and the draw (and for the Gram engine its
        projection onto the data) is computed once per group. ``B`` must be a multiple of it.
    """
    engine = resolve_engine(mlp, runs.scaling.optimizer, data.x_train.shape[0], engine)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {loss!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    n_runs = runs.ref_lr.shape[0]
    if not isinstance(runs_per_key, int) or runs_per_key < 1 or n_runs % runs_per_key:
        raise ValueError(f"runs_per_key must be a positive divisor of the batch size {n_runs}, got {runs_per_key!r}")
    n_kernel = min(n_kernel, data.x_test.shape[0])
    one = functools.partial(_train_one, mlp, width, n_steps, n_kernel, ref_width, engine, loss)

    def group(runs_g: Run) -> History:
        init = _draw(mlp, width, engine, runs_g.key[0], data)
        return jax.vmap(one, in_axes=(0, None, None))(runs_g, data, init)

    with jax.default_matmul_precision(precision):
        grouped = jax.tree.map(lambda l: l.reshape(n_runs // runs_per_key, runs_per_key, *l.shape[1:]), runs)
        hist = jax.vmap(group)(grouped)
    return jax.tree.map(lambda l: l.reshape(n_runs, *l.shape[2:]), hist)


def train(
    mlp: models.MLP,
    width: int,
    scaling: scalings.Scaling,
    data: Dataset,
    *,
    key: jax.Array,
    ref_lr: float | None = None,
    init_corrected: bool = False,
    n_steps: int = 50,
    n_kernel: int = 10,
    ref_width: int = scalings.REF_WIDTH,
    engine: str = "auto",
    loss: str = "logistic",
    precision: str = "highest",
) -> History:
    """Train one net (a batch of one :func:`train_runs`); see :class:`History` for what is recorded."""
    scalings._check_width("width", width)
    if not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    run = make_run(scaling, key=key, ref_lr=ref_lr, init_corrected=init_corrected)
    batch = jax.tree.map(lambda leaf: jnp.asarray(leaf)[None], run)
    hist = train_runs(
        mlp,
        width,
        batch,
        data,
        n_steps=n_steps,
        n_kernel=n_kernel,
        ref_width=ref_width,
        engine=engine,
        loss=loss,
        precision=precision,
    )
    return jax.tree.map(lambda a: a[0], hist)
