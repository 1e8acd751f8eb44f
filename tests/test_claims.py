import math

import jax.numpy as jnp
import numpy as np
import pytest

from widthlimits import claims


def test_passing_claims_are_recorded_and_render():
    claims.reset()
    claims.close("slope", -0.48, -0.5, 0.05)
    (c,) = claims.checked()
    assert c.passed and "slope" in c._repr_html_() and "&#10003;" in c._repr_html_()
    claims.less("ordering", 1.0, 2.0)
    claims.within("range", 0.3, 0.0, 1.0)
    claims.holds("identical", True)
    table = claims.summary()
    assert table.count("✓") == 4 and "| identical |  | true |" in table


@pytest.mark.parametrize(
    "call",
    [
        lambda: claims.close("slope", -0.3, -0.5, 0.05),
        lambda: claims.close("relative", 1.2, 1.0, 0.1, relative=True),
        lambda: claims.close("diverged", math.nan, 0.0, 1.0),
        lambda: claims.less("ordering", 2.0, 1.0),
        lambda: claims.less("diverged", math.inf, 1.0),
        lambda: claims.within("range", 2.0, 0.0, 1.0),
        lambda: claims.holds("identical", False),
    ],
)
def test_failing_claims_raise_a_readable_error(call):
    with pytest.raises(claims.ClaimError, match=r"\[FAIL\]"):
        call()


def test_bad_tolerance():
    with pytest.raises(ValueError, match="tol"):
        claims.close("x", 1.0, 1.0, -1.0)


def test_summary_escapes_table_separators():
    claims.reset()
    claims.close("max |f - g|", 0.0, 0.0, 1.0)
    assert "| max \\|f - g\\| |" in claims.summary()


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: claims.holds("c", np.nan), "condition"),  # NaN is truthy: must not pass as a condition
        (lambda: claims.holds("c", "False"), "condition"),  # a non-empty string is truthy
        (lambda: claims.holds("c", 1), "condition"),
        (lambda: claims.less("c", 5, 1, margin=-10), "margin"),  # would let 5 < 1 pass
        (lambda: claims.less("c", 1, 5, margin=math.nan), "margin"),
        (lambda: claims.close("c", 1.0, 1.0, math.inf), "tol"),  # an infinite tolerance cannot fail
        (lambda: claims.close("c", 1.0, math.nan, 1.0), "expected"),
        (lambda: claims.close("c", "1.0", 1.0, 0.1), "measured"),
        (lambda: claims.close("c", 0.0, 0.0, 0.1, relative=True), "expected"),
        (lambda: claims.within("c", 0.5, 1.0, 0.0), "low"),
        (lambda: claims.within("c", 0.5, -math.inf, math.inf), "low"),
        (lambda: claims.close("", 1.0, 1.0, 0.1), "name"),
        (lambda: claims.close(None, 1.0, 1.0, 0.1), "name"),
        (lambda: claims.skip("c", ""), "reason"),
    ],
)
def test_unfalsifiable_or_malformed_claims_are_errors_not_passes(call, param):
    claims.reset()
    with pytest.raises((TypeError, ValueError), match=param):
        call()
    assert not [c for c in claims.checked() if c.passed]


def test_numpy_and_jax_scalars_are_accepted():
    claims.reset()
    claims.close("np", np.float32(0.5), 0.5, 1e-6)
    claims.holds("np bool", np.bool_(True), measured=np.int64(3))
    claims.close("jax", jnp.asarray(0.5), 0.5, 1e-6)
    claims.holds("jax bool", jnp.asarray(True))
    assert all(c.passed for c in claims.checked())


def test_skipped_claims_are_listed_never_count_as_support():
    claims.reset()
    claims.close("tested", 1.0, 1.0, 0.1)
    claims.skip("needs 6 widths", "the quick profile has 4")
    (tested, skipped) = claims.checked()
    assert tested.status == "pass" and skipped.status == "skip" and not skipped.passed
    assert "SKIP" in str(skipped) and "not tested" in skipped._repr_html_()
    table = claims.summary()
    assert "| needs 6 widths |  | not tested: the quick profile has 4 | not tested |" in table
    assert table.endswith("1 claims passed, 1 not tested under this run (reasons above).")
