"""Which graded projects are copies: of each other, of the flagship, or of the template.

Only what students wrote is compared, never the template's text: each project is set against a
fresh render of its template at the version and with the answers it records (the render
`writeup.contribution.pristine` makes for the contribution figures), with the course's exercise
functions stubbed as the student received them. The lines left over (added or changed in the
files a person writes; data, models, reports and the writeup's generated sections excluded) are
fingerprinted by winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003; the method behind
Stanford's MOSS):

1. normalise every written line: the project's own names (package, slug, title, author) become
   placeholders, so renaming a copy changes nothing; whitespace collapses, case folds, and blank
   lines and lines of brackets alone drop out;
2. hash every run of `K` consecutive normalised lines of a file;
3. of every window of `W` consecutive hashes keep the smallest: a passage of `K + W - 1` lines
   two projects share always leaves a fingerprint they share, and the set stays small.

The similarity of two projects is the Jaccard index of their fingerprint sets (shared / all),
leaving out the template's own solutions to the exercises (the base code, as MOSS's `-b`: two
students who both wrote them copied the template, not each other); pairs at or above the
threshold are flagged. A project is also flagged when at least that share
of its fingerprints is the flagship's (examples/surgical-tool-detector, fingerprinted the same
way), when it holds that share of the template's own solution to the exercises, when nothing is
written on top of the template, or when its problem is the template's example.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen.check.exercises import Exercise, as_handed_out
from pocgen.contract import ANSWERS_FILES, answers_file, recorded_answers
from pocgen.records import Answers
from pocgen.writeup.contribution import _authored_files, _text_lines, pristine

K = 3  # lines per hashed run
W = 4  # hashes per window
SIMILAR = 0.5  # default threshold: at least half the fingerprints shared
MIN_FINGERPRINTS = 3  # fewer written passages than this are too little to call a copy
# Answers that name the project and its author: replaced by placeholders before comparing.
IDENTITY_ANSWERS = (
    "project_name",
    "project_slug",
    "package_name",
    "space_name",
    "hf_username",
    "author_name",
    "author_email",
)
# Answers a student writes in their own words: compared as the lines of one more file.
OWN_WORDS_ANSWERS = ("problem", "business_objective", "success_metric", "classes")
_GENERATED_SECTION = re.compile(r"<!-- (?P<close>/)?pocgen:[a-z][a-z0-9_-]*[^>]*-->")
_ONLY_BRACKETS = re.compile(r"^[\s()\[\]{}.,:;]*$")


@dataclass(frozen=True)
class Fingerprint:
    """What one project's authors wrote, as winnowed hashes, and what it was compared with."""

    project: str
    hashes: frozenset[int] = frozenset()
    written_lines: int = 0  # in files; the answers in the student's own words are hashed too
    baseline: str | None = None  # the render the project was compared with
    not_compared: str | None = None  # why it could not be, when it could not
    solution_hashes: frozenset[int] = frozenset()  # the template's own exercise solutions
    example: str | None = None  # the template's example problem this project restates


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    similarity: float
    shared: int
    flagged: bool


@dataclass(frozen=True)
class Match:
    project: str
    reference: str  # flagship, template-solution, template or template-example
    similarity: float
    detail: str


@dataclass
class CohortReport:
    threshold: float
    fingerprints: list[Fingerprint]
    pairs: list[Pair] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    flagship: str | None = None  # why the flagship was not compared, when it was not

    @property
    def flagged(self) -> list[Pair]:
        return [pair for pair in self.pairs if pair.flagged]

    def to_json(self) -> dict[str, Any]:
        return {
            "method": f"winnowing (k={K} lines, window {W}) over normalised lines written on top "
            "of a fresh render of each project's template; Jaccard similarity",
            "threshold": self.threshold,
            "projects": [
                {
                    "project": f.project,
                    "written_lines": f.written_lines,
                    "fingerprints": len(f.hashes),
                    "baseline": f.baseline,
                    "not_compared": f.not_compared,
                }
                for f in self.fingerprints
            ],
            "pairs": [vars(pair) for pair in self.pairs],
            "flagged_pairs": [vars(pair) for pair in self.flagged],
            "matches": [vars(match) for match in self.matches],
            "flagship_not_compared": self.flagship,
        }


def normalise(line: str, names: dict[str, str]) -> str:
    """A line as compared: the project's names as placeholders, spacing and case folded."""
    text = " ".join(line.split()).casefold()
    for value, placeholder in names.items():
        text = text.replace(value, placeholder)
    return "" if _ONLY_BRACKETS.match(text) else text


def winnow(lines: Sequence[str]) -> set[int]:
    """The winnowed hashes of one file's normalised lines (see the module's docstring)."""
    kept = [line for line in lines if line]
    if not kept:
        return set()
    runs = ["\n".join(kept[i : i + K]) for i in range(max(len(kept) - K + 1, 1))]
    hashes = [int.from_bytes(hashlib.blake2b(r.encode(), digest_size=8).digest()) for r in runs]
    if len(hashes) <= W:
        return {min(hashes)}
    return {min(hashes[i : i + W]) for i in range(len(hashes) - W + 1)}


def jaccard(one: frozenset[int], other: frozenset[int]) -> float:
    union = one | other
    return len(one & other) / len(union) if union else 0.0


def _identity(answers: Mapping[str, Any]) -> dict[str, str]:
    """The project's own names, longest first (a slug inside a name is replaced after it)."""
    values = {
        str(answers[key]).casefold(): f"<{key}>"
        for key in IDENTITY_ANSWERS
        if isinstance(answers.get(key), str) and len(str(answers[key]).strip()) > 2
    }
    return dict(sorted(values.items(), key=lambda item: -len(item[0])))


def _without_generated_sections(lines: list[str]) -> list[str]:
    """A README's lines without the sections `pocgen writeup` fills in from the artifacts."""
    kept, inside = [], False
    for line in lines:
        marker = _GENERATED_SECTION.search(line)
        if marker:
            inside = not marker.group("close")
            continue
        if not inside:
            kept.append(line)
    return kept


def _lines(path: Path) -> list[str] | None:
    lines = _text_lines(path)
    if lines is not None and path.suffix == ".md":
        return _without_generated_sections(lines)
    return lines


def written_lines(project: Path, baseline: Path) -> dict[str, list[str]]:
    """Per authored file, the lines the project has and the baseline render has not."""
    written = {}
    theirs = _authored_files(baseline)
    for relative in sorted(_authored_files(project) - set(ANSWERS_FILES)):
        mine = _lines(project / relative)
        if mine is None:
            continue
        before = (_lines(baseline / relative) or []) if relative in theirs else []
        matcher = difflib.SequenceMatcher(None, before, mine, autojunk=False)
        new = [
            line
            for tag, _, _, j1, j2 in matcher.get_opcodes()
            if tag in ("replace", "insert")
            for line in mine[j1:j2]
        ]
        if new:
            written[relative] = new
    return written


def _hashes(files: dict[str, list[str]], names: dict[str, str]) -> tuple[frozenset[int], int]:
    hashes: set[int] = set()
    count = 0
    for lines in files.values():
        normal = [normalise(line, names) for line in lines]
        count += sum(1 for line in normal if line)
        hashes |= winnow(normal)
    return frozenset(hashes), count


def fingerprint(root: Path, exercises: Sequence[Exercise] = ()) -> Fingerprint:
    """Fingerprint what the authors of the project at `root` wrote on top of its template."""
    from pocgen.check.items import template_example

    root = root.resolve()
    # The answers only: what the authors wrote is compared whatever state their reports are in.
    answers = Answers(recorded_answers(root) or {})
    example = template_example(answers.text("problem")) if answers.text("problem") else None
    if answers.demo:
        example = "a demo project (`demo: true`)"
    render, label, why_not = pristine(root)
    if render is None:
        return Fingerprint(str(root), not_compared=why_not, example=example)
    names = _identity(answers)
    with as_handed_out(render, exercises) as baseline:
        files = written_lines(root, baseline)
        solutions = written_lines(render, baseline) if exercises else {}
    hashes, count = _hashes(files, names)
    own_words = [str(answers[key]) for key in OWN_WORDS_ANSWERS if answers.get(key)]
    hashes |= _hashes({"answers": own_words}, names)[0]
    solution_hashes, _ = _hashes(solutions, names)
    stubbed = ", exercises stubbed" if exercises else ""
    return Fingerprint(
        str(root), hashes, count, f"{label}{stubbed}", None, solution_hashes, example
    )


def flagship_root() -> Path | None:
    """The shipped flagship project, in a source checkout of pocgen (a wheel does not ship it)."""
    folder = Path(__file__).resolve().parents[3] / "examples" / "surgical-tool-detector"
    return folder if answers_file(folder) is not None else None


def _matches(one: Fingerprint, flagship: Fingerprint | None, threshold: float) -> list[Match]:
    """What the project at `one` copies of the references: the flagship, the template's own
    exercise solutions, the template untouched, the template's example problem.

    Containment, not Jaccard: the share of the project's written passages found in the
    reference (or of the reference's solution found in the project), since a reference is
    usually far larger or smaller than one student's work.
    """
    found = []
    if one.not_compared is None and one.written_lines == 0:
        found.append(Match(one.project, "template", 1.0, "nothing written on top of the template"))
    if flagship is not None and len(one.hashes) >= MIN_FINGERPRINTS:
        share = len(one.hashes & flagship.hashes) / len(one.hashes)
        if share >= threshold:
            detail = "the shipped flagship (examples/surgical-tool-detector)"
            found.append(Match(one.project, "flagship", round(share, 3), detail))
    solution = one.solution_hashes
    if len(solution) >= MIN_FINGERPRINTS:
        share = len(one.hashes & solution) / len(solution)
        if share >= threshold:
            detail = "the template's own solution to the exercises"
            found.append(Match(one.project, "template-solution", round(share, 3), detail))
    if one.example:
        found.append(Match(one.project, "template-example", 1.0, one.example))
    return found


def compare(
    prints: Iterable[Fingerprint], flagship: Fingerprint | None, threshold: float = SIMILAR
) -> CohortReport:
    """Pairwise similarity of the projects, and each one's matches with the references."""
    prints = list(prints)
    report = CohortReport(threshold, prints)
    if flagship is None:
        report.flagship = "the flagship ships only in a source checkout of pocgen"
    elif flagship.not_compared:
        report.flagship = flagship.not_compared
        flagship = None
    # The template's own exercise solutions are the base code (MOSS's `-b`): students who both
    # wrote them are flagged as copying the template, not each other.
    base = frozenset().union(*(one.solution_hashes for one in prints))
    own = [one.hashes - base for one in prints]
    for index, one in enumerate(prints):
        for other_index in range(index + 1, len(prints)):
            mine, theirs = own[index], own[other_index]
            similarity = round(jaccard(mine, theirs), 3)
            big_enough = min(len(mine), len(theirs)) >= MIN_FINGERPRINTS
            flagged = big_enough and similarity >= threshold
            report.pairs.append(
                Pair(
                    one.project,
                    prints[other_index].project,
                    similarity,
                    len(mine & theirs),
                    flagged,
                )
            )
        report.matches += _matches(one, flagship, threshold)
    report.pairs.sort(key=lambda pair: -pair.similarity)
    return report
