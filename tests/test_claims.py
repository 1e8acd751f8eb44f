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
    assert table.endswith("2 claims: 1 passed, 1 not tested under this run (reasons above).")


def test_kinds_are_tabulated_apart_and_consistency_cannot_rule_out():
    claims.reset()
    claims.close("exponent", -0.49, -0.5, 0.05, rules_out="an exponent of 0")
    claims.close("identity at d*", 0.0, 0.0, 1e-6, kind="consistency")
    claims.skip("not run", "too few widths", kind="consistency")
    table = claims.summary()
    evidence, consistency = table.split("**Consistency checks")
    assert "exponent" in evidence and "rules out an exponent of 0" in evidence and "identity" not in evidence
    assert "identity at d*" in consistency and "1 not tested" in consistency
    assert "consistency check" in claims.checked()[1]._repr_html_()
    with pytest.raises(ValueError, match="kind"):
        claims.close("x", 1.0, 1.0, 0.1, kind="proof")
    with pytest.raises(ValueError, match="rules_out"):
        claims.holds("x", True, kind="consistency", rules_out="anything")
    with pytest.raises(TypeError, match="rules_out"):
        claims.holds("x", True, rules_out=3)


def test_chapter_records_are_saved_only_where_asked(tmp_path, monkeypatch):
    claims.reset()
    claims.close("a", 1.0, 1.0, 0.1)
    monkeypatch.delenv(claims.RECORDS_ENV, raising=False)
    assert claims.save_record("ch") is None
    monkeypatch.setenv(claims.RECORDS_ENV, str(tmp_path / "records"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ch.ipynb").write_text('{"cells": [{"cell_type": "code", "source": ["x = 1"]}]}')
    claims.summary(chapter="ch")
    import json

    rec = json.loads((tmp_path / "records" / "ch.json").read_text())
    assert rec["chapter"] == "ch" and rec["claims"][0]["name"] == "a" and rec["claims"][0]["kind"] == "evidence"
    assert rec["code_hash"] == claims.code_hash(tmp_path / "ch.ipynb") and rec["profile"] == "quick"
    with pytest.raises(ValueError, match="chapter"):
        claims.record("../ch")
