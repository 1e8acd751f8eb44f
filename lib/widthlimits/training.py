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

The pieces have their own homes, re-exported here where callers find them: :mod:`~widthlimits.losses`,
:mod:`~widthlimits.optimizers`, :mod:`~widthlimits.runs` (``Run``, ``History``) and
:mod:`~widthlimits.engines` (``TrainConfig``, ``engine``, ``StepInfo``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from widthlimits import _validate, models, scalings
from widthlimits import data as data_mod
from widthlimits import engines as _engines
from widthlimits.data import Dataset
from widthlimits.divergence import DIVERGENCE_BOUND  # noqa: F401  (re-exported: training.DIVERGENCE_BOUND)
from widthlimits.engines import (  # noqa: F401  (re-exported)
    ENGINES,
    PRECISIONS,
    Engine,
    EngineName,
    LossName,
    Precision,
    Record,
    Step,
    StepInfo,
    TrainConfig,
    _config,
    _draw,
    _train_one,
    resolve_engine,
)
from widthlimits.losses import LOSSES, accuracy, logistic_loss, square_loss  # noqa: F401  (re-exported)
from widthlimits.optimizers import RMSPROP_DECAY, RMSPROP_EPS, optimizer  # noqa: F401  (re-exported)
from widthlimits.runs import History, Run, _check_runs, make_run  # noqa: F401  (re-exported)


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
    name = resolve_engine(mlp, runs.scaling.optimizer, data.x_train.shape[0], _check_record(record, cfg.engine))
    per_key = _validate.integer("runs_per_key", runs_per_key, low=1)
    if n_runs % per_key:
        raise ValueError(f"runs_per_key must be a positive divisor of the batch size {n_runs}, got {runs_per_key!r}")
    static = dict(n_kernel=min(cfg.n_kernel, data.x_test.shape[0]), ref_width=cfg.ref_width, engine=name)
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


#: The step-level engine of one run (:func:`widthlimits.engines.engine`), re-exported.
engine = _engines.engine
