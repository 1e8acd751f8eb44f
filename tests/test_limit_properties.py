"""Measured properties P1-P3: width exponents read off synthetic results with known power laws, verdicts, table."""

import numpy as np
import pytest

from widthlimits import limit_properties as properties
from widthlimits import training
from widthlimits.experiments import InitStats
from widthlimits.results_files import Sweep

WIDTHS = (128, 256, 512)
SEEDS = (0, 1, 2, 3)
T = 4


def synthetic(logit_exp: float, kernel_exp: float, change_exp: float) -> tuple[InitStats, Sweep]:
    """One family "A" (and "SP" at init) whose RMS logit, initial kernel and kernel change scale exactly as
    ``d**exponent``, with a seed factor shared across widths (so the bootstrap error is ~ 0)."""
    d = np.array(WIDTHS, float)[:, None, None]  # (W, S, 1)
    seed_factor = 1 + 0.01 * np.arange(len(SEEDS))[None, :, None]
    signs = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])  # six probe points, RMS 1
    logits = d**logit_exp * seed_factor * signs  # (W, S, n)
    kernel0 = (
        np.broadcast_to(d**kernel_exp * seed_factor, logits.shape)[:, :, None, :]
        * np.array([0.25, 0.75])[None, None, :, None]
    )  # (W, S, L+1, n), layers summing to d**kernel_exp
    init = InitStats(np.stack([logits, logits], 1), np.stack([kernel0, kernel0], 1), WIDTHS, ("A", "SP"), SEEDS)
    # Kernel over the run: total(k) = total(0) * (1 + 0.3 d**change_exp k / T), so the change after k steps is
    # 0.3 d**change_exp k / T.
    growth = 1 + 0.3 * (d / 128) ** change_exp * np.arange(T + 1) / T  # (W, 1, T+1)
    kernel = kernel0[:, :, None] * growth[..., None, None]  # (W, S, T+1, L+1, n)
    lead = (len(WIDTHS), 1, 1, len(SEEDS))
    zeros = np.zeros((*lead, T + 1))
    history = training.History(
        zeros,
        zeros,
        zeros,
        zeros,
        np.zeros((*lead, T + 1, 6)),
        kernel[:, None, None],
        np.zeros((*lead, T + 1, 1)),
        np.zeros((*lead, T + 1, 2)),
        np.full(lead, -1),
    )
    return init, Sweep(WIDTHS, ("A",), (None,), SEEDS, T, history)


def test_exponents_and_verdicts_are_read_off_the_results():
    init, sweep = synthetic(-0.5, 0.0, 0.0)
    m = properties.measure_family(init, sweep, "A", draws=("A", "A"), keep=0.15, lose=0.25, n_boot=50)
    slopes = [f.slope for f in m.fits]
    np.testing.assert_allclose(slopes, [-0.5, 0.0, 0.0, 0.0], atol=1e-9)
    assert m.kept == (False, True, True)
    names = properties.quantity_names(T)
    assert tuple(m.at_ref) == names
    assert m.at_ref[names[2]] == pytest.approx(0.3) and m.at_ref[names[3]] == pytest.approx(0.3 / T)
    assert m.at_ref[names[1]] == pytest.approx(np.mean(1 + 0.01 * np.arange(4)))


def test_samples_at_one_width_are_per_seed():
    init, sweep = synthetic(0.0, 0.5, -0.75)
    s = properties.samples(init, sweep, "A", draws=("SP", "A"), width=256)
    assert all(v.shape == (len(SEEDS),) for v in s.values())
    m = properties.measure_family(init, sweep, "A", draws=("SP", "A"), keep=0.15, lose=0.25, n_boot=50)
    np.testing.assert_allclose([f.slope for f in m.fits], [0.0, 0.5, -0.75, -0.75], atol=1e-9)
    assert m.kept == (True, False, False)


def test_table_and_marks():
    init, sweep = synthetic(0.0, 0.0, 0.2)
    m = properties.measure_family(init, sweep, "A", draws=("A", "A"), keep=0.15, lose=0.25, n_boot=50)
    assert m.kept == (True, True, None)
    assert properties.marks(m.kept) == "✓ ✓ ?"
    ref = properties.at_reference(init, sweep, "A", draws=("SP", "A"))
    header, rows = properties.table({"A": m}, {"A": (True, True, True)}, ref)
    assert len(header) == 7 and len(rows) == 2 and rows[1][-2:] == ["✓ ✓ ?", "✓ ✓ ✓"]
    with pytest.raises(ValueError, match="derived must hold"):
        properties.table({"A": m}, {}, ref)


def test_bad_arguments_are_named():
    init, sweep = synthetic(0.0, 0.0, 0.0)
    with pytest.raises(TypeError, match="init must be"):
        properties.samples(None, sweep, "A", draws=("A", "A"))
    with pytest.raises(TypeError, match="sweep must be"):
        properties.samples(init, None, "A", draws=("A", "A"))
    with pytest.raises(ValueError, match="family must be one of"):
        properties.samples(init, sweep, "B", draws=("A", "A"))
    with pytest.raises(ValueError, match="draws must be"):
        properties.samples(init, sweep, "A", draws=("A", "B"))
    with pytest.raises(ValueError, match="lose"):
        properties.measure_family(init, sweep, "A", draws=("A", "A"), keep=0.3, lose=0.2)
    with pytest.raises(TypeError, match="verdicts must be"):
        properties.marks([True])
    with pytest.raises(ValueError, match="n_steps"):
        properties.quantity_names(0)


def test_readings_of_the_13_cells():
    by_cell = properties.readings()
    assert len(by_cell) == 13 and all(set(p) == set(properties.READINGS) for p in by_cell.values())
    assert by_cell["MF"] == {"Θ(1)": (False, True, True), "O(1)": (True, True, True)}
    assert by_cell["NTK"]["Θ(1)"] == by_cell["NTK"]["O(1)"] == (True, True, False)
    assert by_cell["sym-default"]["Θ(1)"] == (True, False, True)
    for p in by_cell.values():  # bounded is weaker than of order one; P3 reads the same
        assert all(o or not t for t, o in zip(p["Θ(1)"], p["O(1)"])) and p["Θ(1)"][2] == p["O(1)"][2]
    header, rows = properties.readings_table(by_cell)
    assert len(header) == 5 and len(rows) == 14 and rows[0][:3] == ["MF", "✗ ✓ ✓", "✓ ✓ ✓"]
    with pytest.raises(TypeError, match="by_cell"):
        properties.readings_table({"MF": {"Θ(1)": (True, True, True)}})
    with pytest.raises(ValueError, match="atol"):
        properties.readings(atol=1.0)
