import jax
import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import numerics


@pytest.mark.skipif(jax.config.jax_enable_x64, reason="float64 is already the default in this run")
def test_x64_context_computes_in_float64_and_restores():
    assert numerics.float_dtype() == np.float32
    with numerics.x64():
        assert numerics.float_dtype() == np.float64
        assert numerics.as_float(0.02).dtype == jnp.float64
        assert float(numerics.as_float(0.02)) == 0.02  # not rounded through float32
    assert numerics.as_float(0.02).dtype == jnp.float32


def test_unit_roundoff_matches_numpy():
    for name, u in numerics.UNIT_ROUNDOFF.items():
        assert u == np.finfo(name).eps / 2


def test_near_kink_fraction_matches_the_gaussian_density_at_zero():
    # For z ~ N(0, 1), P(|z| <= e) = 2 e phi(0) = e * sqrt(2/pi) for small e.
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (400_000,)), np.float64)
    e = 1e-6
    expected = e * np.sqrt(2 / np.pi)
    got = numerics.near_kink_fraction(z, e)
    # Monte-Carlo error of the window count: about 1/sqrt(N * 0.04) = 0.8% relative; allow 5 s.e.
    assert got == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        (dict(z=np.zeros(0), rel_error=1e-6), "z"),
        (dict(z=np.ones(3), rel_error=-1.0), "rel_error"),
        (dict(z=np.ones(3), rel_error=0.5), "rel_error"),  # wider than the density window
        (dict(z=np.ones(3), rel_error=1e-6, window=0.0), "window"),
        (dict(z=np.array([1.0, np.nan]), rel_error=1e-6), "z"),
    ],
)
def test_near_kink_fraction_rejects_bad_input(kwargs, param):
    with pytest.raises((TypeError, ValueError), match=param):
        numerics.near_kink_fraction(**kwargs)
