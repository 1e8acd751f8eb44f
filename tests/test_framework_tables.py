"""The framework chapter's tables: fractions, the 13 cells, measured against derived slopes."""

import pytest

from widthlimits import framework_tables as T
from widthlimits import limit_models, measure, scalings


def test_frac_prints_dyadic_exponents_as_fractions():
    assert T.frac(-0.75) == "−3/4" and T.frac(2.0) == "2" and T.frac(0) == "0"
    with pytest.raises(ValueError, match="x"):
        T.frac(float("nan"))


def test_vs_and_ok():
    assert T.vs(measure.PowerLaw(0.4912, 0.0, 0.01), 0.5) == "+0.49 (1/2)"
    assert T.ok(True) == "✓" and T.ok(False) == "✗"
    with pytest.raises(TypeError, match="fit"):
        T.vs(0.5, 0.5)


def test_cells_table_has_one_row_per_limit_model():
    lines = T.cells_table().splitlines()
    assert len(lines) == 2 + len(limit_models.LIMIT_MODELS) and "| 1 | MF |" in lines[2]


def test_named_tables():
    named = {"MF": scalings.preset("mf"), "SP": scalings.preset("sp")}
    assert "| MF | −1 | 1 | 1 | −1 | 1 |" in T.hat_table(named)
    regimes = T.regime_table(named)
    assert "| MF |" in regimes and "none (off the symmetric plane)" in regimes
    assert "(as μP)" in T.abc_table(named)
    with pytest.raises(TypeError, match="named"):
        T.hat_table({})


def test_measured_tables():
    fams = {"1": scalings.from_hat(-1.0, 1.0), "SP": scalings.preset("sp")}
    fits = {
        n: {k: measure.PowerLaw(0.0, 0.0, 0.0) for k in ("q_0", "q_K_w", "q_K_a", "q_K", "q_h_w", "q_h_a", "ratio")}
        for n in fams
    }
    text = T.exponent_table(fams, fits, {"1": (-1.0, 1.0)}, pre_asymptotic=("1",))
    assert "(pre-asymptotic)" in text and "off-plane" in text
    rms = {"-1,1": scalings.from_hat(-1.0, 1.0, optimizer="rmsprop")}
    text = T.rmsprop_table(rms, {"-1,1": fits["1"]}, {"-1,1": ("q_h_w",)})
    assert "(−1, 1)" in text and text.count("†") == 3  # q_K and q_h_a, and the footnote


def test_signature_table_maps_cells_to_properties():
    from widthlimits import framework_tables as ft

    groups = ft.property_groups()
    assert sum(map(len, groups.values())) == 13 and len(groups) < 8  # three booleans cannot label 13 cells
    text = ft.signature_table()
    assert text.startswith(f"13 cells, {len(groups)} distinct") and "edge: bottom" in text
