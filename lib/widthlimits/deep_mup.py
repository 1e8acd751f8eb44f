r"""The deep maximal-update parametrisation (μP) trained by GD: the control for the deep mean-field nets.

μP {cite}`yang2021tensor` and the reference code's deep MF scaling share the learning rates of MF-GD
(:math:`\eta_W = \eta^*\rho`, :math:`\eta_V = \eta^*`, :math:`\eta_a = \eta^*\rho^{-1}`, :math:`\rho = d/d^*`) and
the output layer's init (std :math:`\propto 1/d`). They differ only in the hidden :math:`d \times d` matrices: μP
leaves them at PyTorch's default law (std :math:`1/\sqrt{3d}`), MF multiplies them by :math:`\rho^{-1/2}` like the
output layer. So a μP net is :func:`widthlimits.models.init_reference` with only the output layer rescaled.

:func:`train` trains such nets full batch on the logistic loss, one run per seed, and records at every step
``k = 0..T`` (before update ``k``, i.e. after ``k`` updates), on the test inputs of the dataset:

* ``loss (T+1,)``: training loss; ``test_acc (T+1,)``: test accuracy;
* ``learned (T+1, L+1)``: RMS (over units and test inputs) of the learned part
  :math:`u^l = (M^l_k - M^l_0)\,z^{l-1}_k` of each pre-activation, then of the logit change :math:`f_k - f_0`;
* ``full (T+1, L+1)``: RMS of every pre-activation and of the logit (the definitions of
  :mod:`widthlimits.layer_dynamics`, whose ``learned`` and ``full`` records these are).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, layer_dynamics, losses, measure, models, scalings
from widthlimits import data as data_mod

#: The records of :func:`train`.
FIELDS = ("loss", "test_acc", "learned", "full")


def init(mlp: models.MLP, width: int, *, key: jax.Array, ref_width: int = scalings.REF_WIDTH) -> models.Params:
    """μP initial parameters: PyTorch's default draw with the output layer times :math:`\\rho^{-1/2}`."""
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    ref_width = _validate.width("ref_width", ref_width)
    p = models.init_reference(mlp, width, key=key)
    return {"w": p["w"], "v": p["v"], "a": p["a"] * (width / ref_width) ** -0.5}


def learning_rates(width: int, *, ref_lr: float, ref_width: int = scalings.REF_WIDTH) -> dict:
    """μP's GD learning rates, those of MF-GD: ``{"w": ref_lr * rho, "v": ref_lr, "a": ref_lr / rho}``."""
    hp = scalings.hyperparams(scalings.preset("mf"), width, ref_width=ref_width, ref_lr=ref_lr)
    return {"w": hp.lr_w, "v": hp.lr_v, "a": hp.lr_a}


@functools.partial(jax.jit, static_argnames=("mlp", "width", "n_steps", "ref_width"))
def _train(mlp, width, keys, data, ref_lr, *, n_steps, ref_width):
    lrs = learning_rates(width, ref_lr=ref_lr, ref_width=ref_width)

    def loss_fn(p):
        return losses.logistic_loss(models.apply_batch(mlp, p, data.x_train), data.y_train)

    def observe(p, p0):
        f0 = models.apply_batch(mlp, p0, data.x_test)
        learned, full = jax.vmap(lambda x, f: layer_dynamics._parts(mlp, p, p0, x, f))(data.x_test, f0)
        f = models.apply_batch(mlp, p, data.x_test)
        return dict(
            loss=loss_fn(p), test_acc=losses.accuracy(f, data.y_test),
            learned=layer_dynamics._rms(learned), full=layer_dynamics._rms(full),
        )

    def one(key):
        p0 = init(mlp, width, key=key, ref_width=ref_width)

        def step(p, _):
            g = jax.grad(loss_fn)(p)
            new = {"w": p["w"] - lrs["w"] * g["w"], "v": tuple(v - lrs["v"] * gv for v, gv in zip(p["v"], g["v"])),
                   "a": p["a"] - lrs["a"] * g["a"]}
            return new, observe(p, p0)

        last, rec = jax.lax.scan(step, p0, None, length=n_steps)
        return jax.tree.map(lambda r, e: jnp.concatenate([r, e[None]]), rec, observe(last, p0))

    return jax.lax.map(one, keys)


def train(
    mlp: models.MLP, widths: Sequence[int], data: data_mod.Dataset, *, seeds: Sequence[int], n_steps: int,
    ref_lr: float = scalings.REF_LR["gd"], ref_width: int = scalings.REF_WIDTH,
) -> dict[str, np.ndarray]:
    """Train μP nets by GD at every width, one run per seed (``PRNGKey(seed)``, the draw MF nets rescale).

    Returns ``field -> (W, S, T+1, ...)`` NumPy arrays (:data:`FIELDS`). One compilation per width.
    """
    models._check_mlp(mlp)
    widths = _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH)
    seeds = _validate.integers("seeds", seeds, low=0, high=2**32 - 1)
    n_steps = _validate.integer("n_steps", n_steps, low=1)
    ref_lr = _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    ref_width = _validate.width("ref_width", ref_width)
    data = data_mod.Dataset(*(jnp.asarray(a) for a in data))
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    runs = [_train(mlp, w, keys, data, ref_lr, n_steps=n_steps, ref_width=ref_width) for w in widths]
    return {f: np.stack([np.asarray(r[f]) for r in runs]) for f in FIELDS}


def learned_exponents(
    records: dict[str, np.ndarray], widths: Sequence[int], step: int, *, n_boot: int = 300
) -> list[measure.PowerLaw]:
    """Width exponents (seed bootstrap of :func:`~widthlimits.measure.bootstrap_slope`) of the learned parts
    :math:`u^1..u^L` and of the logit change after ``step`` updates, from :func:`train`'s ``records``."""
    if not isinstance(records, dict) or "learned" not in records:
        raise TypeError("records must be the dict returned by deep_mup.train")
    learned = records["learned"]  # (W, S, T+1, L+1)
    widths = _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH)
    if len(widths) != learned.shape[0]:
        raise ValueError(f"widths must have one entry per trained width ({learned.shape[0]}), got {len(widths)}")
    step = _validate.integer("step", step, low=1, high=learned.shape[2] - 1)
    return [measure.bootstrap_slope(widths, learned[:, :, step, l], n_boot=n_boot) for l in range(learned.shape[3])]
