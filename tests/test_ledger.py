import dataclasses
import json
from pathlib import Path

import pytest

from widthlimits import claims, ledger, ledger_sentences

BOOK = Path(__file__).resolve().parents[1] / "book"


def _book(tmp_path, chapter="ch"):
    nb = tmp_path / f"{chapter}.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1"]}]}))
    return tmp_path


def _record(book, statuses, *, chapter="ch", profile="quick", kind="evidence"):
    made = []
    for i, status in enumerate(statuses):
        c = claims.Claim(f"claim {i}", 1.0, "1 ± 0.1", status == "pass", status=status, kind=kind)
        made.append(dataclasses.asdict(c))
    return {chapter: {"chapter": chapter, "profile": profile, "claims": made,
                      "code_hash": claims.code_hash(book / f"{chapter}.ipynb")}}


SENT = ledger.Sentence("stable", 1, "a summary", ("ch:claim *",), derived=True)


def test_a_row_is_supported_only_when_every_matched_claim_passed(tmp_path):
    book = _book(tmp_path)
    (row,) = ledger.assess_all((SENT,), _record(book, ["pass", "pass"]), book, "quick")
    assert row.supported and row.grade == "derived + measured" and len(row.matched) == 2
    for bad in (["pass", "skip"], ["fail", "pass"]):
        (row,) = ledger.assess_all((SENT,), _record(book, bad), book, "quick")
        assert not row.supported and row.grade is None and row.problems
        assert "not supported in this build" in ledger.table([row])


def test_consistency_alone_and_measured_only_grades(tmp_path):
    book = _book(tmp_path)
    (row,) = ledger.assess_all((SENT,), _record(book, ["pass"], kind="consistency"), book, "quick")
    assert row.grade == "consistency only"
    plain = dataclasses.replace(SENT, derived=False)
    (row,) = ledger.assess_all((plain,), _record(book, ["pass"]), book, "quick")
    assert row.grade == "measured only"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda recs, book: {}, "no record"),
        (lambda recs, book: {"ch": {**recs["ch"], "profile": "book"}}, "profile"),
        (lambda recs, book: (book / "ch.ipynb").write_text('{"cells": []}') and recs, "code changed"),
        (lambda recs, book: {"ch": {**recs["ch"], "claims": []}}, "matches"),
    ],
)
def test_missing_stale_or_unmatched_records_withhold_support(tmp_path, change, problem):
    book = _book(tmp_path)
    recs = change(_record(book, ["pass"]), book)
    (row,) = ledger.assess_all((SENT,), recs, book, "quick")
    assert not row.supported and any(problem in p for p in row.problems)
    assert ledger.counts([row])["unsupported"] == 1


def test_stated_rows_need_a_note_and_specs_are_checked():
    with pytest.raises(ValueError, match="note"):
        ledger.Sentence("stable", 1, "s")
    with pytest.raises(ValueError, match="source"):
        ledger.Sentence("elsewhere", 1, "s", note="n")
    with pytest.raises(ValueError, match="chapter:pattern"):
        ledger.Sentence("stable", 1, "s", ("no pattern",))
    row = ledger.Row(ledger.Sentence("stable", 1, "s", note="why"), (), ())
    assert row.grade == "stated" and not row.supported and "why" in ledger.table([row])


def test_records_round_trip_through_save_and_load(tmp_path, monkeypatch):
    monkeypatch.setenv(claims.RECORDS_ENV, str(tmp_path / "rec"))
    monkeypatch.chdir(_book(tmp_path))
    claims.reset()
    claims.close("claim 0", 1.0, 1.0, 0.1)
    claims.save_record("ch")
    recs = ledger.load_records()
    (row,) = ledger.assess_all((SENT,), recs, tmp_path, "quick")
    assert row.supported
    (tmp_path / "rec" / "other.json").write_text('{"chapter": "wrong"}')
    with pytest.raises(ValueError, match="not a claims record"):
        ledger.load_records()
    assert ledger.load_records(tmp_path / "absent") == {}


def test_every_source_sentence_is_listed_once_and_names_real_chapters():
    by_source = {}
    for s in ledger_sentences.SENTENCES:
        by_source.setdefault(s.source, []).append(s.number)
        for chapter in s.chapters:
            assert (BOOK / f"{chapter}.ipynb").is_file(), chapter
    # the abstracts have 8 sentences each (+ the Figure 1 caption), the overview 15
    assert by_source == {"stable": list(range(1, 9)), "theory": list(range(1, 10)), "overview": list(range(1, 16))}
