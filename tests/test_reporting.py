"""Markdown tables and number formats of ``reporting``."""

import numpy as np
import pytest

from widthlimits import reporting as R


def test_fmt_numbers_and_specials():
    assert R.fmt(0.123456) == "0.1235" and R.fmt(np.float32(2.0)) == "2" and R.fmt(3) == "3"
    assert R.fmt(float("nan")) == "nan" and R.fmt(-np.inf) == "-∞" and R.fmt(True) == "yes"
    assert R.fmt("MF") == "MF" and R.fmt(1234567.0, digits=2) == "1.2e+06"


def test_pm_rounds_to_the_error():
    assert R.pm(-0.50312, 0.0123) == "-0.503 ± 0.012"
    assert R.pm(12.3456, 1.5) == "12.3 ± 1.5"
    with pytest.raises(ValueError, match="error"):
        R.pm(1.0, -0.1)


def test_fraction_and_its_range():
    assert R.fraction(3, 12) == "3 of 12 (25%)"
    with pytest.raises(ValueError, match="k"):
        R.fraction(13, 12)


def test_table_layout_escaping_and_checks():
    text = R.table(["name", "value"], [["a|b", 0.5], ["c", np.nan]])
    assert text.splitlines() == ["| name | value |", "|---|---|", "| a\\|b | 0.5 |", "| c | nan |"]
    with pytest.raises(ValueError, match=r"rows\[0\]"):
        R.table(["a", "b"], [[1]])
    with pytest.raises(TypeError, match="header"):
        R.table("ab", [])


def test_show_prints_outside_a_notebook(capsys):
    R.show("| a |")
    assert capsys.readouterr().out == "| a |\n"


# --- provenance_table ---


def _meta(**changes):
    """A results file's record as the scripts write it (values made up), with ``changes`` merged in."""
    meta = dict(
        command="python scripts/run_figure1.py --seeds 2",
        date="2026-01-01T00:00:00+00:00",
        device=dict(
            backend="cpu", kind="cpu", cpu_count=2, load_average_at_start=[1.0, 1, 1], load_average_at_end=[2.04, 1, 1]
        ),
        versions=dict(widthlimits="0.1.0", jax="0.0"),
        settings=dict(
            widths=[128, 256, 512], seeds=[0, 1], n_steps=50, n_train=1000, n_test=2000, ref_lr=0.02,
            data="abc", data_source="bundled", precision="highest",
        ),
        timing=dict(total_seconds=90.0, cached_widths=[False, True, False]),
        paper_profile=False,
        note="a test",
    )
    return meta | changes


def test_provenance_table_reads_the_record():
    out = R.provenance_table(_meta(), origin="`x.json`", paper_widths=[128, 65536])
    rows = out.split("\n\n")[0].splitlines()
    assert rows[0] == "|  |  |" and "| file | `x.json` |" in rows and "| note | a test |" in rows
    assert "| machine load (1-min average, start / end) | 1.0 / 2.0 |" in rows
    assert "| widths | $2^{7} \\dots 2^{9}$ (3 widths; the paper: $2^{7} \\dots 2^{16}$) |" in rows
    assert "| seeds, steps | 2 seeds, 50 full-batch steps, $\\eta^* = 0.02$ |" in rows
    assert "| compute time | 1.5 min (read from the cache of earlier runs: see the note) |" in rows
    assert "```{warning}" in out and "*a test*" in out  # reduced settings are said so


def test_provenance_table_of_a_panels_file_and_of_the_paper_profile():
    settings = _meta()["settings"] | dict(widths={"gd_2": [128, 256], "gd_3": [128]})
    del settings["ref_lr"]
    out = R.provenance_table(
        _meta(settings=settings, paper_profile=True, timing=dict(total_seconds=60.0)),
        origin="o", paper_widths={"gd_2": [128, 1024]},
    )
    assert "| widths of `gd_2` | $2^{7} \\dots 2^{8}$ (2 widths; the paper: $2^{7} \\dots 2^{10}$) |" in out
    assert "| widths of `gd_3` | $2^{7} \\dots 2^{7}$ (1 widths) |" in out
    assert "| seeds, steps | 2 seeds, 50 full-batch steps |" in out and "| compute time | 1.0 min |" in out
    assert "warning" not in out and "**yes**" in out


def test_provenance_table_checks_the_record():
    with pytest.raises(TypeError, match="meta must be a mapping"):
        R.provenance_table([], origin="o")
    with pytest.raises(TypeError, match="origin must be a string"):
        R.provenance_table(_meta(), origin=None)
    meta = _meta()
    del meta["date"]
    with pytest.raises(ValueError, match=r"meta must hold .* missing \['date'\]"):
        R.provenance_table(meta, origin="o")
    meta = _meta()
    del meta["settings"]["precision"]
    with pytest.raises(ValueError, match=r"meta\['settings'\] must hold .* missing \['precision'\]"):
        R.provenance_table(meta, origin="o")
