"""Scalings: the preset tables of the reference code, the hat coordinates, the abc dictionary, input validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from widthlimits import abc_parametrizations as A
from widthlimits import limit_models as L
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


dyadic = st.integers(-40, 40).map(lambda k: k / 8)  # hits every edge and line of the diagram exactly


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
    p, e = A.to_abc(s), L.exponents(s)
    on_segment = e.q_K == 0 and -1 <= q_sigma <= -0.5
    assert (A.tp4_stable(p) and A.tp4_nontrivial(p)) == on_segment
    if L.classify(s).regime == "stable":
        assert A.tp4_r(p) == -e.q_h  # r = -q_h inside the band; feature learning (r = 0) is the top edge


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: A.to_abc(S.preset("mf", optimizer="rmsprop")), "optimizer"),
        (lambda: A.to_abc(S.preset("mf"), theta=float("nan")), "theta"),
        (lambda: A.from_abc(A.ABC((0.5, 0.5), (0.0, 0.0), 0.0)), "a_1 \\+ b_1"),
    ],
)
def test_framework_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call()


def test_abc_same():
    from widthlimits import abc_parametrizations as abc

    p = abc.ABC_PRESETS["muP"]
    assert abc.same(p, p) and not abc.same(p, abc.ABC_PRESETS["NTP"])
    with pytest.raises(TypeError, match="p must"):
        abc.same(None, p)
