"""The book's claims ledger: each sentence of the source abstracts, and the checked claims that stand behind it.

Each chapter ends with ``claims.summary(chapter=...)``, which saves its claims as a *record* (see
:func:`widthlimits.claims.record`). This module reads those records and grades every sentence of the three
sources the book sets out to demonstrate (the two Golikov abstracts and the overview of large-width limits):

* ``derived + measured``: the book derives the statement and at least one *evidence* claim measures it;
* ``measured only``: evidence claims measure it, but the book does not derive it;
* ``consistency only``: only consistency checks (true by construction unless the code is wrong) touch it;
* ``stated``: nothing in the book checks it; the sentence's ``note`` must say why (definitions, motivation).

A sentence names its claims by ``"chapter:pattern"`` (``fnmatch`` patterns on claim names). It is
*supported* only if every pattern matches at least one claim in a current record of its chapter and every
matched claim passed; a skipped or failed claim, a pattern matching nothing, or a missing or stale record
(another profile, or code cells changed since the record was written) makes the row unsupported and says
why. So the ledger cannot show support that the build did not check.

The sentences are summarised in the book's own words (the sources are cited, not copied).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from pathlib import Path
from typing import Literal

from widthlimits import claims, profiles

Grade = Literal["derived + measured", "measured only", "consistency only", "stated"]

#: The three sources: key -> (citation key in references.bib, how the ledger names it).
SOURCES: dict[str, tuple[str, str]] = {
    "stable": ("golikov2020dynamically", "Dynamically stable infinite-width limits (abstract)"),
    "theory": ("golikov2020towards", "Towards a general theory of infinite-width limits (abstract, Fig. 1)"),
    "overview": ("wiki_large_width", "Large width limits of neural networks (overview)"),
}


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One sentence of a source, in the book's words, and where the book checks it.

    ``claims`` holds ``"chapter:pattern"`` strings; ``derived`` says the book also derives the statement;
    ``note`` is required when ``claims`` is empty (why the sentence is only stated) and may qualify any row.
    """

    source: str
    number: int
    summary: str
    claims: tuple[str, ...] = ()
    derived: bool = False
    note: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}, got {self.source!r}")
        if not self.claims and not self.note.strip():
            raise ValueError(f"sentence {self.source} {self.number} has no claims: its note must say why")
        for spec in self.claims:
            if spec.count(":") < 1 or not spec.split(":", 1)[0] or not spec.split(":", 1)[1]:
                raise ValueError(f"claims must be 'chapter:pattern' strings, got {spec!r}")

    @property
    def chapters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(spec.split(":", 1)[0] for spec in self.claims))


@dataclasses.dataclass(frozen=True)
class Row:
    """A graded sentence: the claims that matched (with their chapter), and why it is unsupported, if it is."""

    sentence: Sentence
    matched: tuple[tuple[str, claims.Claim], ...]
    problems: tuple[str, ...]

    @property
    def supported(self) -> bool:
        return bool(self.sentence.claims) and not self.problems

    @property
    def grade(self) -> Grade | None:
        """The strength of a supported or stated row; ``None`` when the build did not support it."""
        if not self.sentence.claims:
            return "stated"
        if self.problems:
            return None
        if any(c.kind == "evidence" for _, c in self.matched):
            return "derived + measured" if self.sentence.derived else "measured only"
        return "consistency only"


def load_records(folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every chapter record in ``folder`` (default ``$WIDTHLIMITS_CLAIMS_DIR``), by chapter; ``{}`` if none."""
    folder = folder if folder is not None else os.environ.get(claims.RECORDS_ENV)
    if not folder or not Path(folder).is_dir():
        return {}
    out = {}
    for path in sorted(Path(folder).glob("*.json")):
        rec = json.loads(path.read_text())
        if not isinstance(rec, dict) or rec.get("chapter") != path.stem or not isinstance(rec.get("claims"), list):
            raise ValueError(f"{path} is not a claims record (written by claims.save_record)")
        out[path.stem] = rec
    return out


def staleness(record: dict | None, chapter: str, book: str | os.PathLike, profile: str) -> str:
    """Why ``record`` cannot vouch for the current ``chapter`` under ``profile``; ``""`` when it can."""
    if record is None:
        return f"no record of {chapter} in this build"
    if record["profile"] != profile:
        return f"{chapter} was recorded under the {record['profile']} profile, not {profile}"
    nb = Path(book) / f"{chapter}.ipynb"
    if not nb.is_file():
        return f"{chapter}.ipynb is not in {book}"
    if record["code_hash"] != claims.code_hash(nb):
        return f"{chapter}'s code changed since its record was written"
    return ""


def _claim(entry: dict) -> claims.Claim:
    fields = {f.name for f in dataclasses.fields(claims.Claim)}
    return claims.Claim(**{k: v for k, v in entry.items() if k in fields})


def assess(sentence: Sentence, records: dict[str, dict], book: str | os.PathLike, profile: str) -> Row:
    """Match ``sentence``'s patterns against the records and collect everything that withholds support."""
    matched, problems = [], []
    for spec in sentence.claims:
        chapter, pattern = spec.split(":", 1)
        stale = staleness(records.get(chapter), chapter, book, profile)
        if stale:
            problems.append(stale)
            continue
        hits = [_claim(e) for e in records[chapter]["claims"] if fnmatch.fnmatchcase(e["name"], pattern)]
        if not hits:
            problems.append(f"no claim of {chapter} matches {pattern!r}")
        problems += [f"{c.name}: {c.status}" for c in hits if c.status != "pass"]
        matched += [(chapter, c) for c in hits]
    return Row(sentence, tuple(matched), tuple(dict.fromkeys(problems)))


def assess_all(
    sentences: tuple[Sentence, ...], records: dict[str, dict], book: str | os.PathLike, profile: str | None = None
) -> list[Row]:
    """Grade every sentence (e.g. :data:`widthlimits.ledger_sentences.SENTENCES`) against the records, under
    ``profile`` (default: the current one)."""
    profile = profile if profile is not None else profiles.current().name
    return [assess(s, records, book, profile) for s in sentences]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _claim_text(chapter: str, c: claims.Claim) -> str:
    got = "" if c.measured != c.measured else f"{c.measured:.4g}, "  # NaN: no measured value
    mark = {"pass": "✓", "fail": "✗", "skip": "not tested"}[c.status]
    tag = " (consistency)" if c.kind == "consistency" else ""
    return f"{mark} [{chapter}] {c.name}: {got}expected {c.expected}{tag}"


def table(rows: list[Row], *, max_claims: int = 4) -> str:
    """The ledger as one Markdown table: a row per sentence, its chapters, claims and grade.

    At most ``max_claims`` claims are written out per row (evidence first); the rest are counted.
    """
    out = ["| source | sentence (our summary) | chapters | supporting claims | grade |", "|---|---|---|---|---|"]
    for row in rows:
        s = row.sentence
        cite = f"{{cite:t}}`{SOURCES[s.source][0]}`, {s.number}"
        chapters = ", ".join(f"{{doc}}`{ch}`" for ch in s.chapters) or "—"
        ranked = sorted(row.matched, key=lambda m: m[1].kind != "evidence")
        texts = [_claim_text(ch, c) for ch, c in ranked[:max_claims]]
        if len(ranked) > max_claims:
            texts.append(f"and {len(ranked) - max_claims} more")
        if row.grade is None:
            grade = "**not supported in this build**: " + "; ".join(row.problems)
        else:
            grade = f"**{row.grade}**" + (f": {s.note}" if s.note else "")
        body = "<br>".join(_cell(t) for t in texts) or "—"
        out.append(f"| {cite} | {_cell(s.summary)} | {chapters} | {body} | {_cell(grade)} |")
    return "\n".join(out)


def counts(rows: list[Row]) -> dict[str, int]:
    """How many rows have each grade, and how many the build did not support (key ``"unsupported"``)."""
    keys = ["derived + measured", "measured only", "consistency only", "stated", "unsupported"]
    tally = dict.fromkeys(keys, 0)
    for row in rows:
        tally[row.grade or "unsupported"] += 1
    return tally
