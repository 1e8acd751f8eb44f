"""Bad input is reported, never computed with: the probe's case table, and property tests over the public API.

The per-case test covers the modules whose validation is complete (the probe, ``scripts/probe_bad_inputs.py``,
classifies every other module too; its whole-table test is expected to fail until every module is fixed).
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from widthlimits import _validate, limit_models, measure, models, scalings

ROOT = Path(__file__).resolve().parents[1]


def _load_probe():
    """The probe script as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location("probe_bad_inputs", ROOT / "scripts" / "probe_bad_inputs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


probe = _load_probe()
#: Modules whose every probe case must already be clear.
CHECKED = ("scalings", "models", "measure", "widgets", "profiles")
CASES, BASES = probe.build_cases(CHECKED)


def test_the_table_is_large_and_derived_from_valid_calls():
    assert len(CASES) >= 250 and len({c.function for c in CASES}) >= 30
    assert probe.run_baseline(BASES) == []  # every case differs from a valid call in one argument only


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_reported_by_name(case):
    result = probe.classify(case)
    assert result.outcome == "clear", f"{result.outcome}: {result.error}: {result.message}"


def test_names_are_matched_as_whole_words():
    assert probe.names_parameter("x must have shape (3,)", ["x"])
    assert not probe.names_parameter("x_train must have shape (3,)", ["x"])
    assert probe.names_parameter("widths[1] must be an integer", ["widths"])


def test_the_whole_probe_finds_no_silent_and_few_opaque_cases():
    cases, _ = probe.build_cases()
    results = probe.run(cases)
    totals = probe.totals(results)
    assert totals["tried"] >= 300 and len({c.function for c in cases}) >= 36
    assert totals["silent"] == 0 and totals["opaque"] <= 5, probe.report(results)


# --- property tests: arbitrary arguments either give a valid result or a clear error, never a wrong number ---

SETTINGS = settings(max_examples=30, deadline=None)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=10),
    st.lists(st.integers(0, 3), max_size=2),
)


def _raises_naming(call, *names: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert probe.names_parameter(str(info.value), names), str(info.value)


@SETTINGS
@given(st.one_of(st.integers(-5, 2**21), st.integers(2**20, 2**300), junk))
def test_hyperparams_over_arbitrary_widths(width):
    s = scalings.preset("mf")
    valid = isinstance(width, int) and not isinstance(width, bool) and 1 <= width <= _validate.MAX_WIDTH
    if valid:
        hp = scalings.hyperparams(s, width)
        assert all(np.isfinite(float(v)) and float(v) > 0 for v in hp)
    else:
        _raises_naming(lambda: scalings.hyperparams(s, width), "width")


@SETTINGS
@given(st.one_of(st.floats(-3, 3), junk, st.sampled_from([np.float32(np.nan), jnp.array(np.inf), jnp.array(0.5)])))
def test_exponents_over_arbitrary_values(q):
    """A finite real (Python, NumPy or 0-d JAX) makes a scaling; anything else is named, before any arithmetic."""
    try:
        valid = not isinstance(q, bool | str | list | complex | type(None)) and math.isfinite(float(q))
    except TypeError:
        valid = False
    makers = [
        (lambda: scalings.from_hat(q, 0.5), "q_sigma"),
        (lambda: scalings.from_hat(-1.0, q), "q_tilde"),
        (lambda: scalings.from_raw(q_sigma=-1.0, q_a=-1.0, q_w=q), "q_w"),
    ]
    # The constructor itself lets None and containers through: jax.tree_util rebuilds a Scaling with such
    # placeholder leaves (tree.map, in_axes specs), so only number-like leaves can be checked there.
    if not isinstance(q, list | type(None)):
        makers.append((lambda: scalings.Scaling(-1.0, 1.0, 0.0, q), "q_a"))
    for make, name in makers:
        if valid:
            assert limit_models.classify(make()).regime in limit_models.REGIMES
        else:
            _raises_naming(make, name)


positive = st.floats(0.5, 1e4)
entries = st.one_of(positive, st.sampled_from([64.0, 128.0, 256.0, 0.0, -1.0, math.nan, math.inf, -math.inf]))


@SETTINGS
@given(st.lists(entries, max_size=6), st.lists(entries, max_size=6))
def test_fit_power_law_over_arbitrary_arrays(widths, values):
    w, v = np.asarray(widths), np.asarray(values)
    valid = (
        len(w) == len(v)
        and len(set(widths)) >= 2
        and np.all(np.isfinite(w) & (w > 0))
        and np.all(np.isfinite(v) & (v > 0))
    )
    if valid:
        fit = measure.fit_power_law(widths, values)
        assert math.isfinite(fit.slope) and math.isfinite(fit.intercept)
    else:
        _raises_naming(lambda: measure.fit_power_law(widths, values), "widths", "values")


@SETTINGS
@given(st.integers(2, 4), st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_bootstrap_slope_needs_two_seeds_and_one_row_per_width(n_widths, n_rows, n_seeds, with_nan):
    samples = np.exp(np.random.default_rng(0).normal(size=(n_rows, n_seeds)))
    if with_nan:
        samples[0, 0] = np.nan
    widths = [2.0**k for k in range(6, 6 + n_widths)]
    if n_rows == n_widths and n_seeds >= 2 and not with_nan:
        fit = measure.bootstrap_slope(widths, samples, n_boot=5)
        assert math.isfinite(fit.slope) and math.isfinite(fit.stderr)
    else:
        _raises_naming(lambda: measure.bootstrap_slope(widths, samples, n_boot=5), "samples")


@SETTINGS
@given(
    depth=st.one_of(st.integers(-2, 4), junk),
    n_in=st.one_of(st.integers(-2, 4), junk),
    activation=st.one_of(st.sampled_from(models.ACTIVATIONS), junk),
    negative_slope=st.one_of(st.floats(-0.5, 1.5), junk),
    init_law=st.one_of(st.sampled_from(models.INIT_LAWS), junk),
)
def test_mlp_over_arbitrary_fields(depth, n_in, activation, negative_slope, init_law):
    def is_int(v, low):
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    slope_ok = isinstance(negative_slope, float) and 0 <= negative_slope <= 1  # NaN fails the comparison
    ok = {
        "depth": is_int(depth, 1),
        "n_in": is_int(n_in, 1),
        "activation": isinstance(activation, str) and activation in models.ACTIVATIONS,
        "negative_slope": slope_ok,
        "init_law": isinstance(init_law, str) and init_law in models.INIT_LAWS,
    }
    kwargs = dict(depth=depth, n_in=n_in, activation=activation, negative_slope=negative_slope, init_law=init_law)
    if all(ok.values()):
        assert dataclasses_asdict(models.MLP(**kwargs)) == kwargs
    else:
        _raises_naming(lambda: models.MLP(**kwargs), *(k for k, good in ok.items() if not good))


def dataclasses_asdict(mlp: models.MLP) -> dict:
    return {f: getattr(mlp, f) for f in ("depth", "n_in", "activation", "negative_slope", "init_law")}


MLP3 = models.MLP(n_in=3)
PARAMS = models.init(MLP3, 8, scalings.preset("mf"), key=jax.random.PRNGKey(0))


@SETTINGS
@given(st.integers(0, 5), st.integers(1, 6), st.sampled_from([np.float32, np.float64, np.int32, np.uint8]))
def test_apply_batch_over_arbitrary_shapes_and_dtypes(n, n_in, dtype):
    xs = np.ones((n, n_in), dtype)
    if n_in == 3 and np.dtype(dtype).kind == "f":
        assert models.apply_batch(MLP3, PARAMS, xs).shape == (n,)
    else:
        _raises_naming(lambda: models.apply_batch(MLP3, PARAMS, xs), "xs")


@SETTINGS
@given(st.one_of(st.integers(-2, 64), st.integers(_validate.MAX_WIDTH + 1, 2**300), junk))
def test_init_over_arbitrary_widths(width):
    key = jax.random.PRNGKey(0)
    if isinstance(width, int) and not isinstance(width, bool) and 1 <= width <= 64:
        assert models.init(MLP3, width, scalings.preset("ntk"), key=key)["a"].shape == (width,)
    else:  # above the cap nothing is allocated: the check comes first
        _raises_naming(lambda: models.init(MLP3, width, scalings.preset("ntk"), key=key), "width")


# --- traced values pass through: validation happens before tracing, never on a tracer ---


def test_traced_exponents_and_rates_pass_through_jit_and_vmap():
    batch = scalings.stack([scalings.preset("mf"), scalings.preset("ntk")])
    lrs = jax.vmap(lambda s, lr: scalings.hyperparams(s, 256, ref_lr=lr).lr_a)(batch, jnp.array([0.02, 0.01]))
    np.testing.assert_allclose(lrs, [0.02 / 2, 0.01 / 2], rtol=1e-6)
    f = jax.jit(lambda q: scalings.from_hat(q, 1.0).q_a)
    assert float(f(-1.0)) == -1.0
    logits = jax.jit(lambda p, xs: models.apply_batch(MLP3, p, xs))(PARAMS, jnp.ones((4, 3)))
    assert logits.shape == (4,)


def test_pytree_placeholders_do_not_trip_scaling_checks():
    s = scalings.preset("mf")
    assert jax.eval_shape(lambda s: s, s).optimizer == "gd"  # ShapeDtypeStruct leaves
    assert jax.tree.map(lambda _: None, s).q_a is None
    assert bool(jax.tree.map(lambda x: jnp.asarray(x) > 0, s).q_w)  # boolean array masks (e.g. optax.masked)
    assert jax.tree.map(lambda x: object(), s) is not None
    stacked = scalings.stack([s, s])
    with pytest.raises(ValueError, match="q_sigma"):  # a concrete stacked array is still checked for NaN
        scalings.Scaling(jnp.array([0.0, np.nan]), stacked.q_w, stacked.q_v, stacked.q_a)


def test_known_silent_acceptances_are_now_errors():
    with pytest.raises(ValueError, match="q_sigma"):
        limit_models.classify(scalings.from_hat(jnp.array(np.nan), 1.0))
    with pytest.raises(ValueError, match=re.escape("width")):
        scalings.hyperparams(scalings.preset("mf"), 2**200)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        measure.bootstrap_slope([64, 128], np.ones((2, 1)))
    with pytest.raises(ValueError, match="two distinct widths"):
        measure.fit_power_law([128, 128], [1, 4])
