r"""Signal propagation: the NNGP recursion read as a map in depth, next to the finite nets it is the limit of.

**Finite nets.** Given layer :math:`l` of a random net (weights :math:`\mathcal N(0,\sigma_w^2/n_l)`, biases
:math:`\mathcal N(0,\sigma_b^2)`), the pre-activations of layer :math:`l+1` on :math:`k` inputs are exactly
i.i.d. :math:`\mathcal N(0,\hat\Sigma^{l+1})` rows, :math:`\hat\Sigma^{l+1} = \sigma_w^2 U^\top U/n_l + \sigma_b^2`.
:func:`sample_covariances` samples the random :math:`\hat\Sigma^l` layer by layer without forming a weight
matrix (:math:`O(Lnk^2)` instead of :math:`O(Ln^2k)`); :func:`sample_outputs` draws the outputs, a Gaussian
mixture, and :func:`gp_distance` measures how far they are from the Gaussian process.

**Their limits.** As the widths grow :math:`\hat\Sigma^l\to\Sigma^l`. For one input the diagonal follows the
**length map** :math:`q^{l+1} = \sigma_w^2\,\mathbb E_z[\phi(\sqrt{q^l}z)^2] + \sigma_b^2` (:func:`length_map`,
fixed point :math:`q^*`: :func:`length_fixed_point`); two inputs at length :math:`q` follow the **correlation
map** :math:`c^{l+1} = (\sigma_w^2\,\mathbb E_{q,c}[\phi(u)\phi(v)] + \sigma_b^2)/q` (:func:`correlation_map`),
whose slope is :math:`\sigma_w^2\,\mathbb E_{q,c}[\phi'(u)\phi'(v)]` by Price's theorem (:func:`correlation_slope`;
at :math:`c = 1` it is :math:`\chi_1`, :func:`chi1`). :math:`\chi_1 = 1` is the critical line
(:func:`critical_sigma_w2`) and :math:`\xi_c = -1/\log(\text{slope at } c^*)` the depth scale of the approach
to the fixed point (:func:`depth_scale`; measured on recursion and simulated nets by :func:`decay_lengths`).

Expectations: :func:`widthlimits.kernels.dual` (closed forms; tanh's 1-D ones by a 201-node Gauss-Hermite rule);
activations: :data:`widthlimits.models.ACTIVATIONS`. Host-side NumPy, float64 between layers, so 1 - c stays resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from widthlimits import _validate, kernels, models

#: Nodes of the 1-D Gauss-Hermite rule for tanh (kernels.dual's default 48 nodes are off by 1e-3 at q = 3).
GAUSS_POINTS_1D = 201
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(GAUSS_POINTS_1D)  # weight exp(-z^2/2)
_GH_W = _GH_W / np.sqrt(2 * np.pi)


def _check_activation(activation: str, negative_slope: float) -> float:
    _validate.choice("activation", activation, models.ACTIVATIONS)
    return _validate.real("negative_slope", negative_slope, low=0, high=1)


def _nonnegative(name: str, value: Any, *, positive: bool = False) -> np.ndarray:
    """A finite real scalar or array, ``> 0`` (``positive``) or ``>= 0``, as given (no copy, no cast)."""
    _validate.array(name, value, kinds="fiu")
    v = np.asarray(value)
    if np.any(v <= 0) if positive else np.any(v < 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be {bound} everywhere, got min {float(np.min(v)):g}")
    return value


def _scalars(sigma_w2: Any, sigma_b2: Any, depth: Any) -> tuple[float, float, int]:
    """One net's ``sigma_w2 > 0``, ``sigma_b2 >= 0`` and ``depth >= 1`` as Python numbers."""
    sw2, sb2 = _validate.real("sigma_w2", sigma_w2, low=0, open_low=True), _validate.real("sigma_b2", sigma_b2, low=0)
    return sw2, sb2, _validate.integer("depth", depth, low=1)


def _correlations(c: Any) -> Any:
    """A correlation array; 1e-5 of slack past 1, as in kernels.dual: iterates at c* = 1 carry float32 round-off."""
    _validate.array("c", c, kinds="fiu")
    if np.any(np.abs(np.asarray(c)) > 1 + 1e-5):
        raise ValueError(f"c must be a correlation in [-1, 1], got max |c| = {float(np.max(np.abs(c))):g}")
    return c


# ----------------------------------------------------------------------------------------- one input: lengths
def diagonal_dual(activation: str, q: Any, *, negative_slope: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(\mathbb E\,\phi(u)^2,\ \mathbb E\,\phi'(u)^2)`, :math:`u\sim\mathcal N(0, q)`: float64, shape of ``q``.

    ReLU, leaky ReLU and erf by the closed forms of :func:`~widthlimits.kernels.dual` at :math:`s_{11} = s_{12} =
    s_{22} = q` (for erf :math:`\frac2\pi\arcsin\frac{2q}{1+2q}` and :math:`\frac4\pi(1+4q)^{-1/2}`); tanh by the
    1-D Gauss-Hermite rule of :data:`GAUSS_POINTS_1D` nodes. ``q >= 0``.
    """
    slope, q = _check_activation(activation, negative_slope), _nonnegative("q", q)
    if activation != "tanh":
        return tuple(np.asarray(k, np.float64) for k in kernels.dual(activation, q, q, q, negative_slope=slope))
    t = np.tanh(np.sqrt(np.asarray(q, np.float64))[..., None] * _GH_Z)
    return t**2 @ _GH_W, (1 - t**2) ** 2 @ _GH_W


def length_map(activation: str, sigma_w2: Any, sigma_b2: Any, q: Any, *, negative_slope: float = 0.1) -> np.ndarray:
    r"""One layer of the length map :math:`q\mapsto\sigma_w^2\,\mathbb E_z[\phi(\sqrt q z)^2] + \sigma_b^2`.

    The diagonal of the NNGP recursion (:func:`~widthlimits.kernels.nngp_ntk`); ``sigma_w2 > 0``, ``sigma_b2 >= 0``
    and ``q >= 0`` broadcast (e.g. over a grid of variances).
    """
    sigma_w2, sigma_b2 = _nonnegative("sigma_w2", sigma_w2, positive=True), _nonnegative("sigma_b2", sigma_b2)
    return sigma_w2 * diagonal_dual(activation, q, negative_slope=negative_slope)[0] + sigma_b2


def length_fixed_point(
    activation: str, sigma_w2: Any, sigma_b2: Any, *, n_iter: int = 300, negative_slope: float = 0.1
) -> np.ndarray:
    r""":math:`q^*`: ``n_iter`` iterations of :func:`length_map` from ``q = 1``, broadcast over the variances.

    Stable, and reached in a few layers, for bounded activations; ReLU-like ones without biases have a linear
    map, and :math:`q^l` shrinks or grows unless :math:`\chi_1 = 1`."""
    n_iter = _validate.integer("n_iter", n_iter, low=1)
    q = np.ones(np.broadcast_shapes(np.shape(sigma_w2), np.shape(sigma_b2)))
    for _ in range(n_iter):
        q = length_map(activation, sigma_w2, sigma_b2, q, negative_slope=negative_slope)
    return q


def chi1(activation: str, sigma_w2: Any, q: Any, *, negative_slope: float = 0.1) -> np.ndarray:
    r""":math:`\chi_1 = \sigma_w^2\,\mathbb E_z[\phi'(\sqrt q z)^2]`: the correlation map's slope at :math:`c = 1`.

    Also the per-layer growth factor of squared gradients going backwards; for erf
    :math:`\chi_1 = 4\sigma_w^2/(\pi\sqrt{1+4q})`, for ReLU :math:`\sigma_w^2/2`.
    """
    sigma_w2 = _nonnegative("sigma_w2", sigma_w2, positive=True)
    return sigma_w2 * diagonal_dual(activation, q, negative_slope=negative_slope)[1]


def critical_sigma_w2(
    activation: str, sigma_b2: Any, *, low: float = 0.05, high: float = 8.0, n_bisect: int = 40
) -> np.ndarray:
    r""":math:`\sigma_w^2` with :math:`\chi_1(q^*) = 1` at each ``sigma_b2``, by bisection in ``[low, high]``.

    Valid where :math:`\chi_1(q^*(\sigma_w^2))` increases through 1 once in the bracket (erf and tanh with
    ``sigma_b2 > 0``; ``n_bisect`` halvings leave a bracket of ``(high - low) / 2**n_bisect``).
    """
    sigma_b2 = _nonnegative("sigma_b2", sigma_b2)
    low = _validate.real("low", low, low=0, open_low=True)
    high = _validate.real("high", high, low=low, open_low=True)
    n_bisect = _validate.integer("n_bisect", n_bisect, low=1)
    lo, hi = np.full(np.shape(sigma_b2), low), np.full(np.shape(sigma_b2), high)
    for _ in range(n_bisect):
        mid = (lo + hi) / 2
        above = chi1(activation, mid, length_fixed_point(activation, mid, sigma_b2)) > 1
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    return (lo + hi) / 2


# ----------------------------------------------------------------------------------------- two inputs: correlations
def correlation_map(
    activation: str, sigma_w2: Any, sigma_b2: Any, q: Any, c: Any, *, negative_slope: float = 0.1
) -> np.ndarray:
    r"""One layer of :math:`c\mapsto(\sigma_w^2\,\mathbb E[\phi(u)\phi(v)] + \sigma_b^2)/q`, :math:`(u,v)\sim
    \mathcal N(0, q[[1, c], [c, 1]])`: the off-diagonal NNGP recursion for two inputs at the fixed length ``q``."""
    sigma_w2, sigma_b2 = _nonnegative("sigma_w2", sigma_w2, positive=True), _nonnegative("sigma_b2", sigma_b2)
    q, c = _nonnegative("q", q, positive=True), _correlations(c)
    e = kernels.dual(activation, q, c * q, q, negative_slope=_check_activation(activation, negative_slope))[0]
    return (sigma_w2 * np.asarray(e, np.float64) + sigma_b2) / q


def correlation_fixed_point(
    activation: str, sigma_w2: Any, sigma_b2: Any, q: Any, *, n_iter: int = 1000, c0: float = 0.0
) -> np.ndarray:
    r""":math:`c^*`: ``n_iter`` iterations of :func:`correlation_map` from ``c0``, broadcast over the arguments.

    :math:`c^* = 1` in the ordered phase (:math:`\chi_1 < 1`), :math:`c^* < 1` in the chaotic one; near
    :math:`\chi_1 = 1` the approach is polynomial, and a finite ``n_iter`` stops short.
    """
    n_iter = _validate.integer("n_iter", n_iter, low=1)
    c = np.full(np.broadcast_shapes(np.shape(sigma_w2), np.shape(sigma_b2), np.shape(q)), _validate.real("c0", c0))
    for _ in range(n_iter):
        c = correlation_map(activation, sigma_w2, sigma_b2, q, c)
    return c


def correlation_slope(activation: str, sigma_w2: Any, q: Any, c: Any, *, negative_slope: float = 0.1) -> np.ndarray:
    r""":math:`\partial c^{l+1}/\partial c^l = \sigma_w^2\,\mathbb E_{q,c}[\phi'(u)\phi'(v)]` (Price), float64."""
    sigma_w2, q, c = _nonnegative("sigma_w2", sigma_w2, positive=True), _nonnegative("q", q), _correlations(c)
    d = kernels.dual(activation, q, c * q, q, negative_slope=_check_activation(activation, negative_slope))[1]
    return sigma_w2 * np.asarray(d, np.float64)


def depth_scale(activation: str, sigma_w2: Any, q: Any, c: Any, *, negative_slope: float = 0.1) -> np.ndarray:
    r"""Depth scale :math:`\xi_c = -1/\log(\text{slope at } c^*)` of :math:`|c^l - c^*| \propto e^{-l/\xi_c}`.

    ``q, c`` should be the fixed points :math:`q^*, c^*`. The slope is clipped to ``[1e-12, 1 - 1e-12]``: on the
    critical line (slope 1) the approach is not geometric and :math:`\xi_c` is reported as a large number.
    """
    slope = correlation_slope(activation, sigma_w2, q, c, negative_slope=negative_slope)
    return -1 / np.log(np.clip(slope, 1e-12, 1 - 1e-12))


def relu_correlation_map(c: Any) -> np.ndarray:
    r"""ReLU's normalised correlation map :math:`c\mapsto(\sqrt{1-c^2} + (\pi-\arccos c)\,c)/\pi`, in float64.

    Independent of :math:`\sigma_w` without biases; slope exactly 1 at :math:`c = 1`, and :math:`1 - c^l\simeq
    9\pi^2/(2l^2)`. Float64: :math:`1 - c` reaches 1e-5, below a float32 arccos's resolution.
    """
    c = np.asarray(_correlations(c), np.float64)
    return (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / np.pi


def iterate(fn: Callable[[Any], Any], start: Any, n_steps: int) -> np.ndarray:
    """``[start, fn(start), fn(fn(start)), ...]``: ``n_steps + 1`` iterates of a scalar map, ``(n_steps + 1,)``."""
    if not callable(fn):
        raise TypeError(f"fn must be a map of one argument, got {type(fn).__name__}")
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    out = [start]
    for _ in range(n_steps):
        out.append(fn(out[-1]))
    return np.array(out)


def correlation(cov: Any) -> np.ndarray:
    """Correlation of two inputs from covariances ``(..., 2, 2) -> (...)`` (in the dtype of ``cov``)."""
    cov = np.asarray(_validate.array("cov", cov, kinds="f"))  # a JAX kernel too: NumPy float arithmetic, same dtype
    if cov.shape[-2:] != (2, 2):
        raise ValueError(f"cov must have shape (..., 2, 2) (two inputs), got {tuple(cov.shape)}")
    return cov[..., 0, 1] / np.sqrt(cov[..., 0, 0] * cov[..., 1, 1])


def recursion_correlation(
    x: Any, *, activation: str, sigma_w2: float, sigma_b2: float, depth: int, negative_slope: float = 0.1
) -> float:
    r"""Output correlation of two inputs ``x (2, n0)`` after ``depth`` hidden layers, by the NNGP recursion.

    :math:`\Sigma^1 = \sigma_w^2 xx^\top/n_0 + \sigma_b^2`, then :math:`\Sigma^{l+1} = \sigma_w^2\,\mathbb
    E_{\Sigma^l}[\phi\phi] + \sigma_b^2`, the same recursion as :func:`~widthlimits.kernels.nngp_ntk` but kept in
    float64 between layers (the dual activations are float32), so that :math:`1 - c` stays resolved near 1.
    """
    x = _validate.array("x", x, shape=(2, None), kinds="fiu")
    negative_slope = _check_activation(activation, negative_slope)
    sw2, sb2, depth = _scalars(sigma_w2, sigma_b2, depth)
    s = sw2 * np.asarray(x, np.float64) @ np.asarray(x, np.float64).T / x.shape[1] + sb2
    for _ in range(depth):
        e11, e12, e22 = (
            float(kernels.dual(activation, s[a, a], s[a, b], s[b, b], negative_slope=negative_slope)[0])
            for a, b in [(0, 0), (0, 1), (1, 1)]
        )
        s = sw2 * np.array([[e11, e12], [e12, e22]]) + sb2
    return float(correlation(s))


# ----------------------------------------------------------------------------------------- finite nets
def sample_covariances(
    x: Any, *, activation: str, sigma_w2: Any, sigma_b2: Any, depth: int, width: int, n_samples: int,
    rng: np.random.Generator, every_layer: bool = False, negative_slope: float = 0.1
) -> np.ndarray:  # fmt: skip
    r"""Exact samples of a random deep net's covariances :math:`\hat\Sigma^l` on ``x (k, n0)`` (module docstring).

    Pre-activations :math:`Z\hat\Sigma^{1/2}` (standard Gaussian :math:`Z`, ``width x k``) pass through
    :meth:`models.MLP.phi <widthlimits.models.MLP.phi>` (float32; all else float64). Returns :math:`\hat K =
    \hat\Sigma^{L+1}` ``(*grid, S, k, k)``, or with ``every_layer`` :math:`\hat\Sigma^1..\hat\Sigma^L` ``(depth,
    *grid, S, k, k)``; ``grid`` is the broadcast shape of ``sigma_w2 > 0`` and ``sigma_b2 >= 0``. Draws come from
    the NumPy generator ``rng`` layer by layer, so a generator shared by several calls gives reproducible streams.
    """
    x = _validate.array("x", x, ndim=2, kinds="fiu", min_size=1)
    negative_slope = _check_activation(activation, negative_slope)
    _nonnegative("sigma_w2", sigma_w2, positive=True), _nonnegative("sigma_b2", sigma_b2)
    depth, width = _validate.integer("depth", depth, low=1), _validate.width("width", width)
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    every_layer = _validate.boolean("every_layer", every_layer)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a NumPy generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    phi = models.MLP(activation=activation, negative_slope=negative_slope, n_in=1).phi
    grid = np.broadcast_shapes(np.shape(sigma_w2), np.shape(sigma_b2))
    sw2, sb2 = (np.broadcast_to(np.asarray(s, np.float64), grid)[..., None, None, None] for s in (sigma_w2, sigma_b2))
    x = np.asarray(x, np.float64)
    cov = np.broadcast_to(sw2 * (x @ x.T) / x.shape[1] + sb2, (*grid, n_samples, len(x), len(x)))
    layers = []
    for _ in range(depth):
        layers.append(cov)
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0, None))[..., None, :]  # cov = root root^T, also when singular
        h = rng.standard_normal((*cov.shape[:-2], width, len(x))) @ np.swapaxes(root, -1, -2)
        u = np.asarray(phi(jnp.asarray(h)), np.float64)
        cov = sw2 * np.swapaxes(u, -1, -2) @ u / width + sb2
    return np.stack(layers) if every_layer else cov


def sample_outputs(x: Any, *, rng: np.random.Generator, **net: Any) -> np.ndarray:
    r"""Outputs of ``n_samples`` random nets on ``x (k, n0)``: ``(*grid, S, k)``, :math:`f = \hat K^{1/2} g`.

    Given the hidden layers the output is exactly :math:`\mathcal N(0,\hat K)`, so the law of :math:`f` is a
    Gaussian mixture over :math:`\hat K` (from :func:`sample_covariances`, which takes ``net``); :math:`g` is drawn
    from ``rng`` after the covariances.
    """
    k_hat = sample_covariances(x, rng=rng, **net)
    vals, vecs = np.linalg.eigh(k_hat)
    root = vecs * np.sqrt(np.clip(vals, 0, None))[..., None, :]
    return np.einsum("...ij,...j->...i", root, rng.standard_normal(k_hat.shape[:-1]))


class GPDistance(NamedTuple):
    """Per width: ``kernel_error (W, S)`` of each net and ``excess_kurtosis (W,)`` (see :func:`gp_distance`)."""

    kernel_error: np.ndarray
    excess_kurtosis: np.ndarray


def gp_distance(x: Any, widths: Any, kernel: Any, *, n_samples: int, rng: np.random.Generator, **net) -> GPDistance:
    r"""How far ``n_samples`` random nets of each width are from the Gaussian process with covariance ``kernel``.

    ``x (k, n0)``, ``kernel (k, k)`` the limit :math:`K = \Sigma^{L+1}` (:func:`~widthlimits.kernels.nngp_ntk`),
    ``net`` the settings of :func:`sample_covariances`. Returns :math:`\lVert\hat K - K\rVert_F/\lVert K\rVert_F`
    per net (expected :math:`O(d^{-1/2})`) and, as the output is Gaussian given :math:`\hat K`, its exact excess
    kurtosis :math:`3\,\mathrm{Var}\hat K(x,x)/(\mathbb E\hat K(x,x))^2` (:math:`O(d^{-1})`), averaged over ``x``.
    """
    widths = _validate.integers("widths", widths, low=1)
    kernel = np.asarray(_validate.array("kernel", kernel, shape=(len(np.asarray(x)), len(np.asarray(x)))), np.float64)
    errors, kurtosis = [], []
    for w in widths:
        k_hat = sample_covariances(x, width=w, n_samples=n_samples, rng=rng, **net)
        errors.append(np.linalg.norm(k_hat - kernel, axis=(1, 2)) / np.linalg.norm(kernel))
        diag = np.diagonal(k_hat, axis1=1, axis2=2)  # (S, k)
        kurtosis.append(np.mean(3 * diag.var(0, ddof=1) / diag.mean(0) ** 2))
    return GPDistance(np.array(errors), np.array(kurtosis))


def seed_mean(values: Any, *, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the last (seed) axis and its standard error, at least ``floor``: ``(..., S) -> (...), (...)``.

    The floor keeps a z-score finite where every seed agrees exactly (an ordered net has :math:`c = 1`).
    """
    values = np.asarray(_validate.array("values", values, kinds="fiu", min_size=2))
    floor = _validate.real("floor", floor, low=0)
    return values.mean(-1), np.maximum(values.std(-1, ddof=1) / np.sqrt(values.shape[-1]), floor)


def pair_with_cosine(x: Any, cosine: float) -> tuple[np.ndarray, float]:
    """The two distinct rows of ``x (n, n0)`` whose cosine is closest to ``cosine``: ``(2, n0)`` and that cosine."""
    x = _validate.array("x", x, ndim=2, kinds="f")
    cosine = _validate.real("cosine", cosine, low=-1, high=1)
    if len(x) < 2:
        raise ValueError(f"x must hold at least two rows to pick a pair from, got shape {x.shape}")
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    i, j = np.unravel_index(np.argmin(np.abs(unit @ unit.T - cosine) + 10 * np.eye(len(x))), (len(x), len(x)))
    return x[[i, j]], float(unit[i] @ unit[j])


# ----------------------------------------------------------------------------------------- depth scale, measured
def decay_length(deviations: Any, window: Any) -> float:
    r"""Decay length :math:`\xi` of :math:`|c^l - c^*| \propto e^{-l/\xi}`: least squares of the log on ``window``.

    ``deviations (L,)`` over layers ``0..L-1``, ``window (L,)`` boolean (at least two layers); deviations are
    floored at 1e-12 before the log.
    """
    dev = np.asarray(_validate.array("deviations", deviations, ndim=1))
    window = np.asarray(_validate.array("window", window, shape=dev.shape, kinds="b"))
    if window.sum() < 2:
        raise ValueError(f"window must select at least two layers to fit a slope, got {int(window.sum())}")
    layers = np.arange(len(dev))
    return -1 / np.polyfit(layers[window], np.log(np.maximum(dev[window], 1e-12)), 1)[0]


def _simulated_decay(c_seeds, cols, window, tail, threshold):
    """Decay length of the seed-mean ``c_seeds[:, cols] (L, S)`` about its mean over the last ``tail`` layers."""
    c_mean = c_seeds[:, cols].mean(-1)
    dev = np.abs(c_mean - c_mean[-tail:].mean())  # at finite width the fixed point is shifted by O(1/width)
    if window is None:  # the initial run of layers that deviate by more than the threshold
        layers = np.arange(len(dev))
        window = (dev > threshold) & (layers < np.argmax(dev <= threshold))
    return decay_length(dev, window), window


class DecayLengths(NamedTuple):
    """The depth scale of one point, three ways (see :func:`decay_lengths`)."""

    q_star: float
    c_star: float
    formula: float  # -1/log(slope at c*)
    recursion: float  # fitted on the recursion where it is linear
    simulated: float  # fitted on the simulated nets' early layers
    simulated_se: float  # seed-bootstrap standard error of `simulated`
    recursion_early: float  # fitted on the recursion over the same early layers


def decay_lengths(
    pair: Any, *, activation: str, sigma_w2: float, sigma_b2: float, depth: int, width: int, n_samples: int,
    rng: np.random.Generator, n_boot: int = 200, tail: int = 20, threshold: float = 0.05, n_iter: int = 400
) -> DecayLengths:  # fmt: skip
    r"""Depth scale :math:`\xi_c` by formula, on the recursion and on simulated nets, for two inputs ``pair (2, n0)``.

    The inputs are scaled to length :math:`q^*` at layer 1 and the recursion iterated ``depth`` layers from there.
    ``recursion`` fits :math:`\log|c^l - c^*|` where it is linear (:math:`10^{-5}` to :math:`10^{-2}`);
    ``simulated`` fits the mean of ``n_samples`` nets about its own fixed point (mean of the last ``tail``
    layers) over the initial layers deviating by more than ``threshold``, with an ``n_boot`` seed-bootstrap error
    (resamples from ``rng``, after the nets); ``recursion_early`` fits the recursion over those same layers.
    """
    pair = _validate.array("pair", pair, shape=(2, None))
    sigma_w2, sigma_b2, depth = _scalars(sigma_w2, sigma_b2, depth)
    n_boot, tail = _validate.integer("n_boot", n_boot, low=2), _validate.integer("tail", tail, low=1, high=depth)
    threshold = _validate.real("threshold", threshold, low=0, open_low=True)
    q_s = float(length_fixed_point(activation, sigma_w2, sigma_b2))
    c_s = float(correlation_fixed_point(activation, sigma_w2, sigma_b2, q_s, n_iter=n_iter))
    formula = float(-1 / np.log(correlation_slope(activation, sigma_w2, q_s, c_s)))
    x = pair * np.sqrt((q_s - sigma_b2) / sigma_w2 * pair.shape[1] / np.sum(pair**2, 1, keepdims=True))
    c1 = (sigma_w2 * x[0] @ x[1] / x.shape[1] + sigma_b2) / q_s  # layer-1 correlation
    cs = iterate(lambda c: float(correlation_map(activation, sigma_w2, sigma_b2, q_s, c)), c1, depth - 1)
    dev = np.abs(cs - c_s)
    recursion = decay_length(dev, (dev > 1e-5) & (dev < 1e-2))
    net = dict(activation=activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, depth=depth, width=width)
    c_seeds = correlation(sample_covariances(x, n_samples=n_samples, rng=rng, every_layer=True, **net))  # (L, S)
    simulated, window = _simulated_decay(c_seeds, np.arange(n_samples), None, tail, threshold)
    boot = [
        _simulated_decay(c_seeds, rng.integers(0, n_samples, n_samples), window, tail, threshold)[0]
        for _ in range(n_boot)
    ]
    return DecayLengths(
        q_s, c_s, formula, float(recursion), float(simulated), float(np.std(boot)), float(decay_length(dev, window))
    )
