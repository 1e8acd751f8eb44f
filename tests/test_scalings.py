"""Scalings: the preset tables of the reference code, the hat coordinates, and input validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from widthlimits import abc_parametrizations as A
from widthlimits import scalings as S

# science.md section 1.4, typed from the tables as (weight factor exponent q_sigma + 1/2, lr_W, lr_V, lr_a).
GD_TABLE = {
    "sp": (0, 0, 0, 0),
    "mf": (-0.5, 1, 0, -1),
    "ntk": (0, 0, -1, -1),  # camera-ready hidden exponent
    "intermediate": (0.5 - 0.75, 2 * 0.75 - 1, 2 * 0.75 - 2, -1),
    "sym_default": (0, 0.5, -0.5, -0.5),
}
RMSPROP_TABLE = {
    "mf": (-0.5, 0, -1, -1),
    "ntk": (0, -0.5, -1.5, -1),
    "intermediate": (0.5 - 0.75, 0.75 - 1, 0.75 - 2, -1),
}
HAT = {  # (q_sigma, q_tilde_a, q_tilde_w), science.md section 1.4
    "mf": (-1, 1, 1),
    "ntk": (-0.5, 0, 0),
    "intermediate": (-0.75, 0.5, 0.5),
    "sym_default": (-0.5, 0.5, 0.5),
    "sp": (-0.5, 1, 0),
}


def raw_factors(s: S.Scaling):
    return (s.q_sigma + 0.5, s.q_w, s.q_v, s.q_a)


@pytest.mark.parametrize("name", GD_TABLE)
def test_gd_presets_match_reference_table(name):
    assert raw_factors(S.preset(name)) == pytest.approx(GD_TABLE[name])


@pytest.mark.parametrize("name", RMSPROP_TABLE)
def test_rmsprop_presets_match_reference_table(name):
    assert raw_factors(S.preset(name, optimizer="rmsprop")) == pytest.approx(RMSPROP_TABLE[name])


def test_rmsprop_sp_is_unscaled():
    assert raw_factors(S.preset("sp", optimizer="rmsprop")) == (0, 0, 0, 0)


@pytest.mark.parametrize("name", HAT)
def test_hat_coordinates_of_gd_presets(name):
    assert S.to_hat(S.preset(name)) == pytest.approx(HAT[name])


@pytest.mark.parametrize("name", ["mf", "ntk", "intermediate"])
def test_rmsprop_hat_coordinates_agree_with_gd(name):
    # The derived RMSProp rule puts each family at the same hat point as under GD.
    assert S.to_hat(S.preset(name, optimizer="rmsprop")) == pytest.approx(HAT[name])


@pytest.mark.parametrize("name", ["mf", "intermediate", "sym_default"])
def test_gd_presets_equal_dev_tuple_mode_in_one_hidden_layer_exponents(name):
    q_sigma, q_tilde, _ = HAT[name]
    s, t = S.preset(name), S.from_hat(q_sigma, q_tilde)
    assert (s.q_sigma, s.q_w, s.q_a) == pytest.approx((t.q_sigma, t.q_w, t.q_a))


def test_ntk_hidden_exponent_camera_ready_vs_dev():
    assert S.preset("ntk").q_v == -1.0 and S.from_hat(-0.5, 0.0).q_v == -0.5


@pytest.mark.parametrize("name", ["mf", "ntk", "intermediate"])
def test_rmsprop_presets_equal_from_hat(name):
    q_sigma, q_tilde, _ = HAT[name]
    assert raw_factors(S.preset(name, optimizer="rmsprop")) == pytest.approx(
        raw_factors(S.from_hat(q_sigma, q_tilde, optimizer="rmsprop"))
    )


finite = st.floats(-5, 5, allow_nan=False)


@given(finite, finite, finite, st.sampled_from(S.OPTIMIZERS))
def test_hat_roundtrip(q_sigma, q_tilde_a, q_tilde_w, optimizer):
    s = S.from_hat(q_sigma, q_tilde_a, q_tilde_w=q_tilde_w, optimizer=optimizer)
    assert S.to_hat(s) == pytest.approx((q_sigma, q_tilde_a, q_tilde_w), abs=1e-9)


def test_hyperparams_at_and_away_from_reference_width():
    for name in GD_TABLE:
        hp = S.hyperparams(S.preset(name), 128)
        assert float(hp.init_factor) == pytest.approx(1.0)
        assert float(hp.sigma) == pytest.approx(1 / math.sqrt(3 * 128), rel=1e-6)
        assert [float(hp.lr_w), float(hp.lr_v), float(hp.lr_a)] == pytest.approx([0.02] * 3)
    s = S.preset("mf")
    hp = S.hyperparams(s, 512)  # rho = 4
    assert float(hp.init_factor) == pytest.approx(4**-0.5)
    assert float(hp.sigma) == pytest.approx(4**-1 / math.sqrt(384), rel=1e-6)
    assert [float(hp.lr_w), float(hp.lr_v), float(hp.lr_a)] == pytest.approx([0.02 * 4, 0.02, 0.02 / 4])
    assert float(S.hyperparams(S.preset("mf", optimizer="rmsprop"), 128).lr_a) == pytest.approx(0.0002)


def test_hyperparams_trace_exponents_without_recompiling():
    f = jax.jit(lambda s: S.hyperparams(s, 1024).lr_w)
    for name in ["mf", "ntk", "sym_default"]:
        f(S.preset(name))
    assert f._cache_size() == 1
    batch = S.stack([S.preset("mf"), S.preset("ntk")])
    lrs = jax.vmap(lambda s: S.hyperparams(s, 1024).lr_w)(batch)
    np.testing.assert_allclose(lrs, [0.02 * 8, 0.02], rtol=1e-6)


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: S.Scaling(float("nan"), 0, 0, 0), "q_sigma"),
        (lambda: S.from_hat(0.0, float("inf")), "q_tilde"),
        (lambda: S.preset("lazy"), "name"),
        (lambda: S.preset("mf", optimizer="adam"), "optimizer"),
        (lambda: S.preset("intermediate", q=2.0), "q must lie in"),
        (lambda: S.hyperparams(S.preset("mf"), 0), "width"),
        (lambda: S.hyperparams(S.preset("mf"), 64.5), "width"),
        (lambda: S.hyperparams(S.preset("mf"), 64, ref_width=0), "ref_width"),
        (lambda: S.hyperparams(S.preset("mf"), 64, ref_lr=-1.0), "ref_lr"),
        (lambda: S.stack([S.preset("mf"), S.preset("mf", optimizer="rmsprop")]), "optimizer"),
        (lambda: S.stack([]), "scalings"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call()


def test_stacked_scaling_has_leading_axis():
    s = S.stack([S.preset("mf"), S.preset("ntk"), S.preset("sp")])
    assert s.q_sigma.shape == (3,) and s.optimizer == "gd"
    assert jnp.allclose(s.q_a, jnp.array([-1.0, -1.0, 0.0]))


# --- The general framework: exponents, regimes, the 13 limit models, abc-parametrisations ---

# science.md section 2.3, typed from its table: (q_sigma, q_tilde) -> (cell number, sign q_0, sign q_K, q_h).
EXAMPLE_POINTS = {
    (-1, 1): (1, -1, 0, 0),
    (-0.5, 0): (2, 0, 0, -0.5),
    (-0.5, 0.5): (3, 0, 1, 0),
    (-0.75, 0.5): (4, -1, 0, -0.25),
    (-0.5, 0.25): (5, 0, 1, -0.25),
    (-0.75, 0.75): (6, -1, 1, 0),
    (-1.5, 1.5): (7, -1, -1, 0),
    (-10, 10): (7, -1, -1, 0),
    (0, 0): (8, 1, 1, 0),
    (10, -10): (8, 1, 1, 0),
    (-1, 0.5): (9, -1, -1, -0.5),
    (-10, 9.5): (9, -1, -1, -0.5),
    (0, -0.5): (10, 1, 1, -0.5),
    (10, -10.5): (10, 1, 1, -0.5),
    (-0.66, 0.5): (11, -1, 1, -0.16),
    (-1, 0.75): (12, -1, -1, -0.25),
    (-10, 9.75): (12, -1, -1, -0.25),
    (0, -0.25): (13, 1, 1, -0.25),
    (10, -10.25): (13, 1, 1, -0.25),
}


def sign(x):
    return 0 if x == 0 else int(math.copysign(1, x))


@pytest.mark.parametrize("optimizer", S.OPTIMIZERS)
@pytest.mark.parametrize("point", EXAMPLE_POINTS, ids=str)
def test_example_points_fall_in_their_cells(point, optimizer):
    number, s0, sk, qh = EXAMPLE_POINTS[point]
    c = S.classify(S.from_hat(*point, optimizer=optimizer))
    assert c.regime == "stable" and c.symmetric
    assert c.model.number == number and point in c.model.examples
    assert (sign(c.exponents.q_0), sign(c.exponents.q_K)) == (s0, sk)
    assert c.exponents.q_h == pytest.approx(qh)


def test_thirteen_cells_with_distinct_signatures():
    assert [m.number for m in S.LIMIT_MODELS] == list(range(1, 14))
    assert len({m.signature for m in S.LIMIT_MODELS}) == 13
    assert {p for m in S.LIMIT_MODELS for p in m.examples} == set(EXAMPLE_POINTS)


@pytest.mark.parametrize(
    "point, regime",
    [
        ((1, 1), "diverges"),  # the code's "diverge" example, q_h = 2
        ((-1, -1), "stagnates"),  # the code's "stagnate" example, q_h = -2
        ((10, 9.5), "diverges"),  # listed as "pre-NTK, far" in the code: q_h = 19.5, a typo for (10, -10.5)
        ((-1, 1.01), "diverges"),  # just above the top edge
        ((-0.5, -0.01), "stagnates"),  # just below the bottom edge
        ((-1, 1), "stable"),  # on the top edge
        ((-0.5, 0), "stable"),  # on the bottom edge
    ],
)
def test_regimes_at_and_beyond_the_band_edges(point, regime):
    c = S.classify(S.from_hat(*point))
    assert c.regime == regime
    assert (c.model is None) == (regime != "stable")


def test_presets_are_classified_as_the_papers_say():
    for optimizer in S.OPTIMIZERS:
        names = {n: S.classify(S.preset(n, optimizer=optimizer)) for n in S.PRESETS}
        assert names["mf"].model.name == "MF" and names["ntk"].model.name == "NTK"
        assert names["intermediate"].model.name == "intermediate"
        assert names["sym_default"].model.name == "sym-default"
        sp = names["sp"]  # constant learning rates: the output layer alone moves by d^(1/2) per step
        assert sp.regime == "diverges" and not sp.symmetric and sp.model is None
        # Under RMSProp the input layer's step is set by its constant learning rate: O(1), not d^(-1/2).
        expected = (-0.5, 0.5) if optimizer == "gd" else (0.0, 0.5)
        assert (sp.exponents.q_h_w, sp.exponents.q_h_a) == pytest.approx(expected)


def test_property_table_of_the_named_limits():
    props = {n: S.classify(S.preset(n)).properties for n in ("mf", "ntk", "sym_default", "intermediate")}
    assert props["mf"] == (False, True, True)
    assert props["ntk"] == (True, True, False)
    assert props["sym_default"] == (True, False, True)
    assert props["intermediate"] == (False, True, False)
    # No cell of the plane keeps all three properties (the point of the initialisation-corrected model):
    assert not any(all(S.classify(S.from_hat(*m.examples[0])).properties) for m in S.LIMIT_MODELS)


dyadic = st.integers(-40, 40).map(lambda k: k / 8)  # hits every edge and line of the diagram exactly


@given(dyadic, dyadic, st.sampled_from(S.OPTIMIZERS))
def test_classification_is_total_and_consistent_on_the_symmetric_plane(q_sigma, q_tilde, optimizer):
    c = S.classify(S.from_hat(q_sigma, q_tilde, optimizer=optimizer))
    e = c.exponents
    assert (e.q_0, e.q_K, e.q_h) == (q_sigma + 0.5, 1 + 2 * q_sigma + q_tilde, q_sigma + q_tilde)
    assert e.q_K == e.q_h + e.q_0 + 0.5
    assert c.regime == ("diverges" if e.q_h > 0 else "stagnates" if e.q_h < -0.5 else "stable")
    assert c.symmetric and (c.model is not None) == (c.regime == "stable")
    if c.model is not None:
        edge = "top" if e.q_h == 0 else "bottom" if e.q_h == -0.5 else "inside"
        assert c.model.signature == (sign(e.q_0), sign(e.q_K), edge)
        assert c.properties == (e.q_0 == 0, e.q_K == 0, e.q_h == 0)


@given(finite, finite, finite)
def test_classification_is_total_off_the_symmetric_plane(q_sigma, q_tilde_a, q_tilde_w):
    # Exactly at the tolerance the verdict depends on how the difference is rounded (q_h_a - q_h_w is computed
    # from sums with q_sigma): not a property of the classification.
    assume(abs(abs(q_tilde_a - q_tilde_w) - 1e-9) > 1e-12 * (1 + abs(q_sigma)))
    c = S.classify(S.from_hat(q_sigma, q_tilde_a, q_tilde_w=q_tilde_w))
    e = c.exponents
    assert c.regime in S.REGIMES
    assert e.q_h == max(e.q_h_w, e.q_h_a) and e.q_K == max(e.q_K_w, e.q_K_a)
    assert e.q_K == pytest.approx(e.q_h + e.q_0 + 0.5, abs=1e-9)
    assert c.symmetric == (abs(q_tilde_a - q_tilde_w) <= 1e-9)
    assert (c.model is None) == (not c.symmetric or c.regime != "stable")


def test_exponents_of_stacked_and_traced_scalings():
    points = [(-1, 1), (-0.5, 0), (0, 0)]
    stacked = S.stack([S.from_hat(*p) for p in points])
    e = S.exponents(stacked)
    np.testing.assert_allclose(e.q_K, [1 + 2 * a + b for a, b in points])
    traced = jax.jit(lambda s: S.exponents(s).q_h)(stacked)
    np.testing.assert_allclose(traced, [a + b for a, b in points])
    with pytest.raises(ValueError, match="one concrete scaling"):
        S.classify(stacked)


def flat(p: A.ABC) -> list[float]:
    return [*p.a, *p.b, p.c]


def test_abc_of_the_presets_is_yang_and_hus_table():
    assert flat(A.to_abc(S.preset("ntk"))) == pytest.approx(flat(A.ABC_PRESETS["NTP"]))
    assert flat(A.to_abc(S.preset("mf"))) == pytest.approx(flat(A.ABC_PRESETS["MFP"]))
    # muP coincides with MF for one hidden layer: the same scaling, another representative.
    assert flat(A.to_abc(S.preset("mf"), theta=-0.5)) == pytest.approx(flat(A.ABC_PRESETS["muP"]))
    assert flat(A.to_abc(S.preset("sp"))) == pytest.approx(flat(A.ABC_PRESETS["SP"]))
    assert S.to_hat(A.from_abc(A.ABC_PRESETS["SP (lr 1/n)"])) == pytest.approx((-0.5, 0, -1))
    assert not A.tp4_stable(A.ABC_PRESETS["SP"]) and A.tp4_stable(A.ABC_PRESETS["SP (lr 1/n)"])
    assert A.tp4_r(A.ABC_PRESETS["MFP"]) == 0 and A.tp4_r(A.ABC_PRESETS["NTP"]) == 0.5


@given(finite, finite, finite, st.floats(-3, 3))
def test_abc_roundtrip_and_symmetry(q_sigma, q_tilde_a, q_tilde_w, theta):
    s = S.from_hat(q_sigma, q_tilde_a, q_tilde_w=q_tilde_w)
    p, p0 = A.to_abc(s, theta=theta), A.to_abc(s)
    back = A.from_abc(p)
    assert (back.q_sigma, back.q_w, back.q_a) == pytest.approx((s.q_sigma, s.q_w, s.q_a), abs=1e-9)
    assert A.tp4_r(p) == pytest.approx(A.tp4_r(p0), abs=1e-9)  # the abc symmetry leaves r unchanged


@given(dyadic, dyadic)
def test_tp4_stable_and_nontrivial_is_the_closed_mf_ntk_segment(q_sigma, q_tilde):
    s = S.from_hat(q_sigma, q_tilde)
    p, e = A.to_abc(s), S.exponents(s)
    on_segment = e.q_K == 0 and -1 <= q_sigma <= -0.5
    assert (A.tp4_stable(p) and A.tp4_nontrivial(p)) == on_segment
    if S.classify(s).regime == "stable":
        assert A.tp4_r(p) == -e.q_h  # r = -q_h inside the band; feature learning (r = 0) is the top edge


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: S.classify(S.preset("mf"), atol=-1), "atol"),
        (lambda: A.to_abc(S.preset("mf", optimizer="rmsprop")), "optimizer"),
        (lambda: A.to_abc(S.preset("mf"), theta=float("nan")), "theta"),
        (lambda: A.from_abc(A.ABC((0.5, 0.5), (0.0, 0.0), 0.0)), "a_1 \\+ b_1"),
    ],
)
def test_framework_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call()
