r"""How each layer of a deep net moves, step by step: a training ``record`` hook, its runs, and the statistics
of every layer at initialisation.

**Hat units.** A hidden or output weight of a scaled net has standard deviation
:math:`\sigma = \text{init factor}/\sqrt{3d}` (PyTorch's default law times the scaling's factor); a change of
the input layer is measured by its mean row norm, a change of a hidden or output layer by the mean of
:math:`|\Delta V^l_{rs}|/\sigma` and :math:`|\Delta a_r|/\sigma` (:func:`hat_size`, the one home of this unit).

**Records.** :data:`FIELDS`, at every step :math:`k = 0..T`, taken before update :math:`k` and measuring it
(``L+1`` entries per layer, in the order :math:`W, V^1, \dots, V^{L-1}, a`; for ``learned`` and ``full`` the
pre-activations :math:`h^1..h^L` and then the logit):

* ``loss ()``: training loss;
* ``step (L+1,)``: hat size of update :math:`k`; ``dist (L+1,)``: hat distance from initialisation;
* ``learned (L+1,)``: RMS over units and probe inputs of the **learned part**
  :math:`u^l = (M^l_k - M^l_0)\, z^{l-1}_k` of each pre-activation (:math:`M^l` the layer's weights,
  :math:`z^{l-1}_k` its current input), and of the logit change :math:`f_k - f_0`;
* ``full (L+1,)``: RMS of the pre-activations :math:`h^l_k` and of the logit :math:`f_k`;
* ``log_grad (L+1,)``: mean of :math:`\log|g|` over the entries (the log of the geometric-mean gradient);
* ``eps_factor (L+1,)``: :func:`~widthlimits.optimizers.rmsprop_eps_factor` of the gradient.

:meth:`Records.sel` also derives ``grad``, the geometric-mean gradient entry ``exp(log_grad)``.

The probe inputs are the **test inputs** of the dataset trained on (:func:`train_recorded`).

**Statistics**: width exponents (:func:`exponents`, :func:`init_exponents`), their predictions
(:func:`power_counting`), :func:`init_z_max`, :func:`gd_equivalent`, :func:`rmsprop_move_bounds`,
:func:`eps_half_width`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, measure, models, optimizers, scalings, training
from widthlimits import data as data_mod

FIELDS = ("loss", "step", "dist", "learned", "full", "log_grad", "eps_factor")
#: The two initialisations whose statistics :func:`init_mean_squares` gathers: hidden layers at the scaling's
#: size, or left at PyTorch's size as in μP (the output layer is at the scaling's size in both).
INITS = ("scaled", "pytorch")


def _layers(p: models.Params) -> list[jax.Array]:
    return [p["w"], *p["v"], p["a"]]


def hat_size(delta: models.Params, sigma: jax.Array) -> jax.Array:
    """``(L+1,)``: mean row norm of ``delta['w']``, mean ``|delta|/sigma`` of every hidden and the output layer."""
    rest = [jnp.mean(jnp.abs(q)) / sigma for q in _layers(delta)[1:]]
    return jnp.stack([jnp.mean(jnp.linalg.norm(delta["w"], axis=1)), *rest])


def _parts(mlp: models.MLP, p: models.Params, p0: models.Params, x: jax.Array, f0: jax.Array):
    """One input ``x (n0,)``: learned parts and pre-activations of every layer, then ``f - f0`` and ``f``."""
    learned, full, z = [], [], x
    for m, m0 in zip(_layers(p)[:-1], _layers(p0)[:-1]):
        learned.append((m - m0) @ z)
        full.append(m @ z)
        z = mlp.phi(full[-1])
    f = p["a"] @ z
    return [*learned, f - f0], [*full, f]


def _rms(hs: list[jax.Array]) -> jax.Array:
    return jnp.stack([jnp.sqrt(jnp.mean(h**2)) for h in hs])


def _record(mlp: models.MLP, optimizer_name: str, info: training.StepInfo) -> dict:
    p, p0, hp, xp = info.params, info.params0, info.hp, info.data.x_test
    sigma = hp.init_factor / jnp.sqrt(3.0 * p["a"].shape[0])
    lrs = {"w": hp.lr_w, "v": (hp.lr_v,) * len(p["v"]), "a": hp.lr_a}
    opt = optimizers.optimizer(optimizer_name, lrs)
    # next_params - params carries the round-off of p + u (up to ~1e-3 of u for GD's vanishing deep moves), so
    # the update is recomputed where it needs no optimiser state: GD at every step, RMSProp at step 0 (v = 0).
    fresh, _ = opt.update(info.grads, opt.init(p), p)
    if optimizer_name == "gd":
        update = fresh
    else:
        applied = jax.tree.map(jnp.subtract, info.next_params, p)
        update = jax.tree.map(lambda a, b: jnp.where(info.step == 0, a, b), fresh, applied)
    f0 = models.apply_batch(mlp, p0, xp)
    learned, full = jax.vmap(lambda x, f: _parts(mlp, p, p0, x, f))(xp, f0)
    return dict(
        loss=info.metrics["train_loss"],
        step=hat_size(update, sigma),
        dist=hat_size(jax.tree.map(jnp.subtract, p, p0), sigma),
        learned=_rms(learned),
        full=_rms(full),
        log_grad=jnp.stack([jnp.mean(jnp.log(jnp.abs(g))) for g in _layers(info.grads)]),
        eps_factor=optimizers.rmsprop_eps_factor(info.grads),
    )


@functools.cache
def record_hook(mlp: models.MLP, optimizer_name: str) -> training.Record:
    """The ``record=`` hook of :data:`FIELDS` for ``mlp`` trained by ``optimizer_name`` (one object per pair, so
    that :func:`~widthlimits.training.train_runs` compiles once)."""
    models._check_mlp(mlp)
    _validate.choice("optimizer_name", optimizer_name, scalings.OPTIMIZERS)
    return functools.partial(_record, mlp, optimizer_name)


def _keys(seeds: Sequence[int]) -> jax.Array:
    seeds = _validate.integers("seeds", seeds, low=0, high=2**32 - 1)
    return jnp.stack([jax.random.PRNGKey(s) for s in seeds])


def train_recorded(
    mlp: models.MLP, width: int, scaling: scalings.Scaling, data: data_mod.Dataset, *, seeds: Sequence[int],
    n_steps: int,
) -> dict[str, np.ndarray]:
    """Train one run per seed (``PRNGKey(seed)``, the scaling's reference rate) and record :data:`FIELDS`.

    Returns ``field -> (S, T+1, ...)`` NumPy arrays; the probe inputs are ``data.x_test``. One compilation per
    ``(mlp, width, optimizer, S, T, data shapes)``.
    """
    scalings._check_scaling("scaling", scaling)
    keys = _keys(seeds)
    runs = [training.make_run(scaling, key=k) for k in keys]
    batch = jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(v) for v in leaves]), *runs)
    hook = record_hook(mlp, scaling.optimizer)
    _, rec = training.train_runs(mlp, width, batch, data, n_steps=n_steps, engine="direct", record=hook)
    return jax.tree.map(np.asarray, rec)


@functools.partial(jax.jit, static_argnames=("mlp", "width"))
def _init_ms(mlp, width, factor, keys, x):
    def one(key):
        p = models.init_reference(mlp, width, key=key)
        out = []
        for v_factor in (factor, 1.0):  # one draw, two initialisations
            q = {"w": p["w"], "v": tuple(v_factor * v for v in p["v"]), "a": factor * p["a"]}
            hs = jax.vmap(functools.partial(models.preactivations, mlp, q))(x)
            f = models.apply_batch(mlp, q, x)
            out.append(jnp.stack([*(jnp.mean(h**2) for h in hs), jnp.mean(f**2)]))
        return jnp.stack(out)

    return jnp.swapaxes(jax.lax.map(one, keys), 0, 1)


def init_mean_squares(
    mlp: models.MLP, width: int, scaling: scalings.Scaling, x: jax.Array, *, seeds: Sequence[int]
) -> np.ndarray:
    """Mean squares (over units and inputs ``x (n, n0)``) of :math:`h^1..h^L` and :math:`f` of untrained draws,
    ``(2, S, L+1)``: axis 0 is :data:`INITS` (hidden layers at ``scaling``'s size, or at PyTorch's)."""
    models._check_mlp(mlp)
    width = _validate.width("width", width)
    scalings._check_scaling("scaling", scaling)
    x = data_mod.check_inputs(x, mlp.n_in, name="x")
    factor = scalings.hyperparams(scaling, width).init_factor
    return np.asarray(_init_ms(mlp, width, factor, _keys(seeds), x))


def exact_mean_squares(
    mlp: models.MLP, width: int, scaling: scalings.Scaling, x_sq: float, *, init: str = "scaled",
    ref_width: int = scalings.REF_WIDTH,
) -> np.ndarray:
    r"""The exact :math:`\mathbb E (h^l_r)^2` (``l = 1..L``) and :math:`\mathbb E f^2` at initialisation, ``(L+1,)``.

    :math:`\mathbb E(h^1)^2 = \lVert x\rVert^2/(3 n_0)`, then each hidden layer multiplies by
    :math:`\kappa_V = \frac{1+\alpha^2}{2} d\sigma_V^2` and the output layer by
    :math:`\kappa_a = \frac{1+\alpha^2}{2} d\sigma^2`, with :math:`d\sigma^2 = \rho^{1+2q_\sigma}/3` and
    :math:`d\sigma_V^2` the same (``init="scaled"``) or :math:`1/3` (``"pytorch"``, μP's hidden layers). Leaky ReLU
    only; ``x_sq`` is the mean :math:`\lVert x\rVert^2` of the inputs.
    """
    models._check_mlp(mlp)
    if mlp.activation != "leaky_relu":
        raise ValueError(f"mlp.activation must be 'leaky_relu' (the formula's E phi^2), got {mlp.activation!r}")
    width, ref_width = _validate.width("width", width), _validate.width("ref_width", ref_width)
    scalings._check_scaling("scaling", scaling)
    x_sq = _validate.real("x_sq", x_sq, low=0)
    _validate.choice("init", init, INITS)
    half = (1 + mlp.negative_slope**2) / 2
    k_a = half * (width / ref_width) ** (1 + 2 * scaling.q_sigma) / 3
    k_v = half / 3 if init == "pytorch" else k_a
    h = [x_sq / (3 * mlp.n_in) * k_v**l for l in range(mlp.depth)]
    return np.array([*h, h[-1] * k_a])


def eps_half_width(
    widths: Sequence[int], samples: np.ndarray, *, n_boot: int = 200, seed: int = 0
) -> tuple[float, float]:
    r"""``log2`` of the width at which the power law fitted to ``samples (W, S)`` (per width and seed, e.g. the
    geometric-mean gradient entry) reaches :data:`~widthlimits.optimizers.RMSPROP_EPS_SCALE`, where eps halves
    the typical first RMSProp step; with a seed-bootstrap standard error.

    A fit that does not fall with the width (slope above ``-0.1``) never meets eps: ``(inf, nan)``. The error is
    ``nan`` too if a resample has no crossover.
    """
    samples = np.asarray(_validate.array("samples", samples, ndim=2, kinds="fiu"))
    if samples.shape[1] < 2 or np.any(samples <= 0):
        raise ValueError(f"samples must be (W, S >= 2) positive values, got shape {samples.shape}")
    n_boot = _validate.integer("n_boot", n_boot, low=2)
    rng = np.random.default_rng(_validate.integer("seed", seed, low=0))

    def solve(per_width):
        f = measure.fit_power_law(widths, per_width)
        return (np.log2(optimizers.RMSPROP_EPS_SCALE) - f.intercept) / f.slope if f.slope < -0.1 else np.inf

    boot = [solve([s[rng.integers(0, len(s), len(s))].mean() for s in samples]) for _ in range(n_boot)]
    value = solve(samples.mean(1))
    return value, float(np.std(boot)) if np.isfinite(value) and np.all(np.isfinite(boot)) else np.nan


def layer_names(depth: int) -> list[str]:
    """``["W", "V1", ..., "V{L-1}", "a"]``: the layers of a record, in order."""
    depth = _validate.integer("depth", depth, low=1)
    return ["W", *(f"V{l}" for l in range(1, depth)), "a"]


def _pick(name: str, value, labels: Sequence) -> int | list[int] | None:
    """Positions of ``value`` (a label, a sequence of labels, or ``None`` for all) among ``labels``."""
    if value is None:
        return None
    many = isinstance(value, Sequence | range | np.ndarray) and not isinstance(value, str)
    for v in value if many else [value]:
        _validate.choice(name, v if not isinstance(v, np.integer) else int(v), tuple(labels))
    return [list(labels).index(v) for v in value] if many else list(labels).index(value)


@dataclasses.dataclass(frozen=True)
class Records:
    """Records of every ``(depth, width, variant)`` and the statistics at initialisation of every
    ``(depth, width)``, selected by label.

    Attributes:
      depths, widths, variants, seeds, n_steps: the labels of the runs.
      runs: ``(depth, width, variant) -> field -> (S, T+1, ...)`` (see :data:`FIELDS`).
      at_init: ``(depth, width) -> (2, S_init, L+1)`` from :func:`init_mean_squares`.
    """

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    variants: tuple[str, ...]
    seeds: tuple[int, ...]
    n_steps: int
    runs: dict
    at_init: dict

    def _check(self, depth: int, variant: str | None = None) -> None:
        _validate.choice("depth", depth, self.depths)
        if variant is not None:
            _validate.choice("variant", variant, self.variants)

    def sel(self, field: str, *, depth: int, variant: str, width=None, seed=None, step=None, layer=None) -> np.ndarray:
        """The records of one field with axes ``(width, seed, step, layer)`` (``loss`` has no layer axis).

        ``width`` and ``seed`` are labels, ``step`` (``0..T``) and ``layer`` (``0..L``, order of
        :func:`layer_names`) indices: a single value drops its axis, a sequence (or ``range``) keeps it with
        those entries, ``None`` keeps it whole.
        """
        self._check(depth, variant)
        if field == "grad":  # derived: the geometric mean of |g| over a layer's entries
            return np.exp(self.sel("log_grad", depth=depth, variant=variant, width=width, seed=seed, step=step,
                                   layer=layer))
        _validate.choice("field", field, FIELDS)
        if field == "loss" and layer is not None:
            raise ValueError("layer must be None for field 'loss' (one training loss per step)")
        picks = [
            _pick("width", width, self.widths),
            _pick("seed", seed, self.seeds),
            _pick("step", step, range(self.n_steps + 1)),
            _pick("layer", layer, range(depth + 1)),
        ]
        out = np.stack([self.runs[depth, w, variant][field] for w in self.widths])
        for axis in reversed(range(out.ndim)):  # from the last axis, so that dropping one moves no other
            if picks[axis] is not None:
                out = out[(slice(None),) * axis + (picks[axis],)]
        return out

    def init(self, depth: int, init: str = "scaled") -> np.ndarray:
        """``(width, seed, L+1)`` mean squares of ``h^1..h^L, f`` at initialisation (``init`` one of
        :data:`INITS`)."""
        self._check(depth)
        _validate.choice("init", init, INITS)
        return np.stack([self.at_init[depth, w][INITS.index(init)] for w in self.widths])

    def finite(self) -> bool:
        """Whether every record of every run and every statistic at initialisation is finite."""
        leaves = jax.tree.leaves([self.runs, self.at_init])
        return all(np.all(np.isfinite(leaf)) for leaf in leaves)


def record_depths(
    depths: Sequence[int], widths: Sequence[int], variants: Mapping[str, scalings.Scaling],
    data: data_mod.Dataset, *, seeds: Sequence[int], init_seeds: Sequence[int], n_steps: int,
) -> Records:
    """:func:`train_recorded` for every depth (default :class:`~widthlimits.models.MLP` otherwise), width and
    variant (a named scaling), with :func:`init_mean_squares` of the first variant on ``data.x_test``."""
    depths = _validate.integers("depths", depths, low=1)
    widths = _validate.integers("widths", widths, low=1, high=_validate.MAX_WIDTH)
    if not isinstance(variants, Mapping) or not variants:
        raise TypeError(f"variants must be a non-empty mapping of names to scalings, got {variants!r}")
    for name, s in variants.items():
        scalings._check_scaling(f"variants[{name!r}]", s)
    seeds = _validate.integers("seeds", seeds, low=0, high=2**32 - 1)
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    first = next(iter(variants.values()))
    runs, at_init = {}, {}
    for depth in depths:
        mlp = models.MLP(depth=depth)
        for w in widths:
            for name, s in variants.items():
                runs[depth, w, name] = train_recorded(mlp, w, s, data, seeds=seeds, n_steps=n_steps)
            at_init[depth, w] = init_mean_squares(mlp, w, first, data.x_test, seeds=init_seeds)
    return Records(depths, widths, tuple(variants), seeds, n_steps, runs, at_init)


# --- what the chapter measures on the records: width exponents and their power-counting predictions ---


def _check_records(records: object) -> Records:
    if not isinstance(records, Records):
        raise TypeError(f"records must be layer_dynamics.Records (from record_depths), got {type(records).__name__}")
    return records


def exponents(
    records: Records, field: str, *, depth: int, variant: str, step, layers: Sequence[int] | None = None,
    n_boot: int = 300,
) -> list[measure.PowerLaw]:
    """Per layer (default all ``0..L``): the width exponent of the seed mean of ``field`` at ``step`` (an index,
    or a sequence of indices whose per-seed mean is fitted), with a seed-bootstrap standard error
    (:func:`~widthlimits.measure.bootstrap_slope`; 300 resamples estimate it to about 4%)."""
    _check_records(records)._check(depth, variant)
    layers = range(depth + 1) if layers is None else layers
    out = []
    for layer in layers:
        v = records.sel(field, depth=depth, variant=variant, step=step, layer=layer)  # (W, S) or (W, S, steps)
        out.append(measure.bootstrap_slope(records.widths, v if v.ndim == 2 else v.mean(2), n_boot=n_boot))
    return out


def init_exponents(records: Records, depth: int, init: str = "scaled", n_boot: int = 300) -> list[measure.PowerLaw]:
    """Per pre-activation ``h^1..h^L`` and the logit: the width exponent of the RMS at initialisation (the square
    root of the seed-mean mean square), with a seed-bootstrap standard error."""
    ms = _check_records(records).init(depth, init)  # (W, S, L+1)
    rms = lambda m: np.sqrt(np.mean(m))  # noqa: E731
    return [measure.bootstrap_slope(records.widths, ms[..., l], statistic=rms, n_boot=n_boot) for l in range(depth + 1)]


def init_z_max(records: Records, depth: int, scaling: scalings.Scaling, x_sq: float) -> float:
    """Largest ``|z|`` over both :data:`INITS`, widths and layers of the seed-mean mean square at initialisation
    against :func:`exact_mean_squares`. The ratio measured/exact has nearly the same spread at every width, so its
    standard deviation is pooled over the widths."""
    _check_records(records)._check(depth)
    mlp, z = models.MLP(depth=depth), []
    for init in INITS:
        exact = np.stack([exact_mean_squares(mlp, w, scaling, x_sq, init=init) for w in records.widths])
        ratio = records.init(depth, init) / exact[:, None, :]  # (W, S, L+1)
        spread = ratio.reshape(-1, depth + 1).std(0, ddof=1)
        z.append((ratio.mean(1) - 1) / (spread / np.sqrt(ratio.shape[1])))
    return float(np.abs(z).max())


def power_counting(quantity: str, depth: int, variant: str = "GD") -> list[float]:
    r"""The predicted width exponents of the deep MF net, per layer (``W, V^1.., a``) or pre-activation.

    * ``"first_move"``: the hat move of the first step; GD: :math:`-(L-1)/2` for ``W`` and ``a``,
      :math:`-(L-2)/2` for the hidden layers; RMSProp (``variant``): 0 for every layer (the sign step).
    * ``"grad"``: the gradient entries at init, :math:`-(L+1)/2, -L/2, \dots, -(L-1)/2`.
    * ``"learned_gd"``: the learned parts :math:`u^1..u^L` after one GD step, :math:`(1-L)/2` then
      :math:`(4-L-l)/2` for :math:`l = 2..L`.
    * ``"init_rms"``: RMS of :math:`h^1..h^L, f` at init, :math:`-(l-1)/2` then :math:`-L/2` with hidden layers
      at the MF size (``variant="scaled"``), :math:`0` then :math:`-1/2` at PyTorch's (``"pytorch"``).
    """
    L = _validate.integer("depth", depth, low=1)
    _validate.choice("quantity", quantity, ("first_move", "grad", "learned_gd", "init_rms"))
    if quantity == "first_move":
        _validate.choice("variant", variant, ("GD", "RMSProp"))
        return [-(L - 1) / 2, *[-(L - 2) / 2] * (L - 1), -(L - 1) / 2] if variant == "GD" else [0.0] * (L + 1)
    if quantity == "grad":
        return [-(L + 1) / 2, *[-L / 2] * (L - 1), -(L - 1) / 2]
    if quantity == "learned_gd":
        return [(1 - L) / 2, *[(4 - L - l) / 2 for l in range(2, L + 1)]]
    _validate.choice("variant", variant, INITS)
    return [-l / 2 for l in range(L)] + [-L / 2] if variant == "scaled" else [0.0] * L + [-0.5]


def gd_equivalent(records: Records, depth: int, variant: str, step: int) -> np.ndarray:
    """``(L+1,)``: width exponents of the hat move an MF-GD step would make from the state of ``variant`` at
    ``step``: the fitted exponent of the seed-mean geometric-mean gradient plus the MF-GD rate's exponent minus
    the hat unit's (``W``: +1, ``V``: 0 + 1, ``a``: -1 + 1)."""
    _check_records(records)._check(depth, variant)
    shift = [1.0] * depth + [0.0]
    grads = records.sel("grad", depth=depth, variant=variant, step=step)  # (W, S, L+1)
    slopes = [measure.fit_power_law(records.widths, grads[..., l].mean(1)).slope for l in range(depth + 1)]
    return np.array(slopes) + np.array(shift)


def rmsprop_move_bounds(depth: int, *, n_in: int, ref_lr: float, ref_width: int = scalings.REF_WIDTH) -> np.ndarray:
    r"""``(L+1,)``: the largest hat move of one MF-RMSProp step per layer, reached by the first step where eps is
    negligible. Every entry moves by at most :math:`\eta/\sqrt{1-\alpha}`; with MF-RMSProp's rates that is
    :math:`\eta^*\sqrt{n_0}/\sqrt{1-\alpha}` for a row of ``W`` and :math:`\eta^*\sqrt{3d^*}/\sqrt{1-\alpha}`
    in hat units for the others, at every width."""
    depth = _validate.integer("depth", depth, low=1)
    n_in, ref_width = _validate.integer("n_in", n_in, low=1), _validate.width("ref_width", ref_width)
    # 1/sqrt(1 - RMSPROP_DECAY) = 10 for PyTorch's decay 0.99, written exactly (the float expression is 10 + 2e-15)
    sign_step = 10 * _validate.real("ref_lr", ref_lr, low=0, open_low=True)
    return np.array([sign_step * np.sqrt(n_in), *[sign_step * np.sqrt(3 * ref_width)] * depth])
