"""The framework's classification: three exponents, the band, the 13 limit models (science.md section 2.3)."""

import math

import jax
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from widthlimits import limit_models as L
from widthlimits import scalings as S

finite = st.floats(-5, 5, allow_nan=False)

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
    c = L.classify(S.from_hat(*point, optimizer=optimizer))
    assert c.regime == "stable" and c.symmetric
    assert c.model.number == number and point in c.model.examples
    assert (sign(c.exponents.q_0), sign(c.exponents.q_K)) == (s0, sk)
    assert c.exponents.q_h == pytest.approx(qh)


def test_thirteen_cells_with_distinct_signatures():
    assert [m.number for m in L.LIMIT_MODELS] == list(range(1, 14))
    assert len({m.signature for m in L.LIMIT_MODELS}) == 13
    assert {p for m in L.LIMIT_MODELS for p in m.examples} == set(EXAMPLE_POINTS)


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
    c = L.classify(S.from_hat(*point))
    assert c.regime == regime
    assert (c.model is None) == (regime != "stable")


def test_presets_are_classified_as_the_papers_say():
    for optimizer in S.OPTIMIZERS:
        names = {n: L.classify(S.preset(n, optimizer=optimizer)) for n in S.PRESETS}
        assert names["mf"].model.name == "MF" and names["ntk"].model.name == "NTK"
        assert names["intermediate"].model.name == "intermediate"
        assert names["sym_default"].model.name == "sym-default"
        sp = names["sp"]  # constant learning rates: the output layer alone moves by d^(1/2) per step
        assert sp.regime == "diverges" and not sp.symmetric and sp.model is None
        # Under RMSProp the input layer's step is set by its constant learning rate: O(1), not d^(-1/2).
        expected = (-0.5, 0.5) if optimizer == "gd" else (0.0, 0.5)
        assert (sp.exponents.q_h_w, sp.exponents.q_h_a) == pytest.approx(expected)


def test_property_table_of_the_named_limits():
    props = {n: L.classify(S.preset(n)).properties for n in ("mf", "ntk", "sym_default", "intermediate")}
    assert props["mf"] == (False, True, True)
    assert props["ntk"] == (True, True, False)
    assert props["sym_default"] == (True, False, True)
    assert props["intermediate"] == (False, True, False)
    # No cell of the plane keeps all three properties (the point of the initialisation-corrected model):
    assert not any(all(L.classify(S.from_hat(*m.examples[0])).properties) for m in L.LIMIT_MODELS)


dyadic = st.integers(-40, 40).map(lambda k: k / 8)  # hits every edge and line of the diagram exactly


@given(dyadic, dyadic, st.sampled_from(S.OPTIMIZERS))
def test_classification_is_total_and_consistent_on_the_symmetric_plane(q_sigma, q_tilde, optimizer):
    c = L.classify(S.from_hat(q_sigma, q_tilde, optimizer=optimizer))
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
    c = L.classify(S.from_hat(q_sigma, q_tilde_a, q_tilde_w=q_tilde_w))
    e = c.exponents
    assert c.regime in L.REGIMES
    assert e.q_h == max(e.q_h_w, e.q_h_a) and e.q_K == max(e.q_K_w, e.q_K_a)
    assert e.q_K == pytest.approx(e.q_h + e.q_0 + 0.5, abs=1e-9)
    assert c.symmetric == (abs(q_tilde_a - q_tilde_w) <= 1e-9)
    assert (c.model is None) == (not c.symmetric or c.regime != "stable")


def test_exponents_of_stacked_and_traced_scalings():
    points = [(-1, 1), (-0.5, 0), (0, 0)]
    stacked = S.stack([S.from_hat(*p) for p in points])
    e = L.exponents(stacked)
    np.testing.assert_allclose(e.q_K, [1 + 2 * a + b for a, b in points])
    traced = jax.jit(lambda s: L.exponents(s).q_h)(stacked)
    np.testing.assert_allclose(traced, [a + b for a, b in points])
    with pytest.raises(ValueError, match="one concrete scaling"):
        L.classify(stacked)


def test_example_points_name_every_example_once():
    points = L.example_points()
    assert set(points.values()) == set(EXAMPLE_POINTS) and len(points) == len(EXAMPLE_POINTS)
    assert points["7"] == (-1.5, 1.5) and points["7 far"] == (-10.0, 10.0)
    for name, p in points.items():
        assert L.classify(S.from_hat(*p)).model.number == int(name.split()[0])
    for name, p in L.FAILURE_POINTS.items():
        assert L.classify(S.from_hat(*p)).regime == name


@pytest.mark.parametrize("optimizer", S.OPTIMIZERS)
def test_plane_exponents_equal_exponents_point_by_point(optimizer):
    # Dyadic points: the affine combination is exact, so the comparison is exact too.
    qs, qt = np.meshgrid(np.arange(-12, 13) / 8, np.arange(-10, 17) / 8)
    e = L.plane_exponents(qs, qt, optimizer=optimizer)
    for i, j in [(0, 0), (3, 7), (13, 12), (26, 24), (20, 5)]:
        assert tuple(float(v[i, j]) for v in e) == tuple(
            L.exponents(S.from_hat(qs[i, j], qt[i, j], optimizer=optimizer))
        )
    assert e.q_0.shape == qs.shape
    np.testing.assert_array_equal(L.plane_exponents(0.25, np.array([0.0, 0.5])).q_h, [0.25, 0.75])


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: L.classify(S.preset("mf"), atol=-1), "atol"),
        (lambda: L.classify("mf"), "s"),
        (lambda: L.plane_exponents(np.zeros(3), np.zeros(4)), "broadcast"),
        (lambda: L.plane_exponents(np.array([np.nan]), 0.0), "q_sigma"),
        (lambda: L.plane_exponents(0.0, 0.0, optimizer="adam"), "optimizer"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises((TypeError, ValueError), match=parameter):
        call()
