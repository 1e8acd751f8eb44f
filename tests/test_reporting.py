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
