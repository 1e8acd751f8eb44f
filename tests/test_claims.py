import math

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
