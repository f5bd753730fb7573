"""Pure logic of course grading, in process: exercise stubs, pack validation, winnowing, template
versions, reason codes and stable evidence. The end-to-end behaviour is in
tests/test_exercises.py, tests/test_grading.py and tests/test_pinning.py."""

from __future__ import annotations

import ast
import io
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from pocgen.check import cohort, items, probes
from pocgen.check.course import pack_from_data
from pocgen.check.exercises import functions_in, stub_source
from pocgen.errors import PocgenError
from pocgen.templating.versions import Versions

pytestmark = pytest.mark.unit

MODULE = textwrap.dedent(
    '''\
    """A module."""

    from __future__ import annotations

    import functools
    from collections import Counter, OrderedDict

    import numpy as np


    @functools.cache
    def tally(
        words: list[str],
        top: int = 3,
    ) -> list[tuple[str, int]]:
        """The `top` most common words.

        Ties keep their first order.
        """
        # counted once
        counts = Counter(words)
        return counts.most_common(top)


    def plain(x: np.ndarray) -> OrderedDict:
        # no docstring here
        return OrderedDict(enumerate(x))


    class Box:
        def area(self) -> int:
            """Width times height."""
            return self.w * self.h
    '''
)


def test_a_stub_keeps_decorators_signature_and_docstring_and_drops_the_body_only() -> None:
    stubbed = stub_source(MODULE, "tally", "Count the words, then take the top ones.")
    assert "@functools.cache\ndef tally(\n    words: list[str],\n    top: int = 3,\n)" in stubbed
    assert '    Ties keep their first order.\n    """\n    raise NotImplementedError(' in stubbed
    assert "Counter(words)" not in stubbed and "# counted once" not in stubbed
    # Counter was used only by the body: its import goes, OrderedDict's stays.
    assert "from collections import OrderedDict\n" in stubbed
    assert stubbed.count("OrderedDict") == 3 and "return OrderedDict(enumerate(x))" in stubbed
    ast.parse(stubbed)


def test_a_stub_without_docstring_and_a_method() -> None:
    stubbed = stub_source(MODULE, "plain", "Number the items.")
    assert (
        'def plain(x: np.ndarray) -> OrderedDict:\n    raise NotImplementedError("Number' in stubbed
    )
    assert "# no docstring here" not in stubbed
    method = stub_source(MODULE, "Box.area", "w * h")
    assert '        """Width times height."""\n        raise NotImplementedError("w * h")' in method
    assert functions_in(MODULE) == ["tally", "plain", "Box.area"]
    with pytest.raises(LookupError):
        stub_source(MODULE, "Box.volume", "x")


def test_a_long_hint_is_wrapped_as_ruff_formats_it() -> None:
    hint = "word " * 60 + 'and a "quoted" end'
    stubbed = stub_source(MODULE, "tally", hint.strip())
    lines = stubbed.splitlines()
    start = lines.index("    raise NotImplementedError(")
    pieces = lines[start + 1 : lines.index("    )", start)]
    assert len(pieces) > 1 and all(len(line) <= 100 for line in lines)
    assert ast.literal_eval("(" + " ".join(pieces) + ")") == hint.strip()


def test_the_last_import_of_a_from_import_goes_whole() -> None:
    source = "import json\n\n\ndef load(text):\n    return json.loads(text)\n"
    assert stub_source(source, "load", "parse").startswith("def load(text):")


def write_pack(tmp_path: Path, exercises: str) -> Path:
    (tmp_path / "hidden").mkdir(exist_ok=True)
    (tmp_path / "hidden" / "test_ok.py").write_text("def test_ok():\n    pass\n")
    pack = tmp_path / "pack.yaml"
    pack.write_text(f"name: c\ntemplate: poc\nexercises:\n{textwrap.indent(exercises, '  ')}")
    return pack


@pytest.mark.parametrize(
    ("exercise", "message"),
    [
        ("- {id: a, function: train.py, hint: h, tests: hidden/test_ok.py}", "FILE.py:NAME"),
        ("- {id: a, function: 'train.py:x', tests: hidden/test_ok.py}", "`hint` must be"),
        ("- {id: a, function: 'train.py:x', hint: h, tests: hidden/nope.py}", "nope.py not found"),
        ("- {id: a, function: 'train.py:x', hint: h, tests: hidden}", "is a folder; list"),
        ("- {id: a, function: 'train.py:x', hint: h, tests: [1]}", "`tests` must be"),
        ("- {id: a, function: 'a.py:x', hint: h, tests: hidden/test_ok.py, colour: red}", "colour"),
        (
            "- {id: a, function: 'a.py:x', hint: h, tests: hidden/test_ok.py}\n"
            "- {id: a, function: 'a.py:y', hint: h, tests: hidden/test_ok.py}",
            "used twice",
        ),
    ],
)
def test_malformed_exercises_name_the_fix(tmp_path: Path, exercise: str, message: str) -> None:
    from pocgen.check.course import load_pack

    with pytest.raises(PocgenError, match=message.replace("(", r"\(")):
        load_pack(str(write_pack(tmp_path, exercise)))


def test_a_pack_from_a_url_cannot_bring_hidden_tests() -> None:
    data = {"name": "c", "template": "poc", "exercises": [{"id": "a"}]}
    with pytest.raises(PocgenError, match="cannot bring hidden tests"):
        pack_from_data(data, "https://example.edu/c.yaml", remote=True)


def test_exercises_become_rubric_items_after_the_packs(tmp_path: Path) -> None:
    from pocgen.check.course import load_pack

    pack = load_pack(
        str(
            write_pack(
                tmp_path,
                "- {id: ex, function: 'train.py:x', hint: h, tests: hidden/test_ok.py,"
                " weight: 2, tasks: [text-classification]}",
            )
        )
    )
    items_ = pack.grading_rubric().items
    assert items_[-1].exercise == "ex" and items_[-1].weight == 2 and items_[-1].check is None
    assert pack.exercises[0].applies_to("text-classification")
    assert not pack.exercises[0].applies_to("object-detection")


def test_winnowing_ignores_renames_spacing_and_case() -> None:
    names = cohort._identity({"package_name": "weld_seams", "project_name": "Weld Seams"})
    other = cohort._identity({"package_name": "pipe_leaks", "project_name": "Pipe Leaks"})
    code = [f"from weld_seams.train import step_{i}  # Weld Seams" for i in range(12)]
    renamed = [
        line.replace("weld_seams", "pipe_leaks").replace("Weld Seams", "PIPE   leaks")
        for line in code
    ]
    mine = cohort.winnow([cohort.normalise(line, names) for line in code])
    theirs = cohort.winnow([cohort.normalise(line, other) for line in renamed])
    assert mine == theirs and len(mine) >= 2
    assert cohort.normalise("    ),", names) == ""  # brackets alone say nothing
    unrelated = cohort.winnow([f"total += weight_{i}" for i in range(12)])
    assert cohort.jaccard(frozenset(mine), frozenset(unrelated)) == 0.0


def test_a_shared_passage_of_k_plus_w_minus_1_lines_always_leaves_a_shared_fingerprint() -> None:
    passage = [f"shared line {i}" for i in range(cohort.K + cohort.W - 1)]
    for pad in range(6):
        one = [f"alpha {i}" for i in range(pad)] + passage + ["alpha end"]
        two = ["beta start"] + passage + [f"beta {i}" for i in range(5 - pad)]
        assert cohort.winnow(one) & cohort.winnow(two), pad


def test_versions_match_by_name_or_tree_and_refuse_naming_them() -> None:
    versions = Versions(
        "0.2.0+aaaaaaaaaaaa",
        ("0.1.0+bbbbbbbbbbbb",),
        tuple(f"0.1.0+{i:012x}" for i in range(1, 12)),
    )
    assert versions.match("0.2.0+aaaaaaaaaaaa") == "0.2.0+aaaaaaaaaaaa"
    assert versions.match("bbbbbbb") == "0.1.0+bbbbbbbbbbbb"  # a tree id's start is enough
    assert versions.match("9.9.9+bbbbbbbbbbbb") == "0.1.0+bbbbbbbbbbbb"
    assert versions.match("v9.9-does-not-exist") is None and versions.match("abc") is None
    message = versions.refusal("poc", "v9.9")
    assert "no version 'v9.9'" in message and "0.2.0+aaaaaaaaaaaa (shipped" in message
    assert "0.1.0+bbbbbbbbbbbb" in message and "and 3 older ones" in message
    assert "\n" not in message


def test_every_built_in_verdict_has_a_reason_code() -> None:
    tree = ast.parse(Path(items.__file__).read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Verdict"
    ]
    assert len(calls) > 80
    for call in calls:
        assert len(call.args) >= 3 or any(k.arg == "reason" for k in call.keywords), call.lineno


def test_stable_text_drops_timings_ports_and_scratch_folders() -> None:
    scratch = f"{probes.tempfile.gettempdir()}/pocgen-notebooks-x1y2/p/notebooks/a.ipynb"
    text = f"3 passed in 2.31s (0:00:02); served on 127.0.0.1:53121; {scratch}: ValueError"
    assert probes.stable_text(text) == (
        "3 passed; served on 127.0.0.1; <scratch>/p/notebooks/a.ipynb: ValueError"
    )


def test_the_table_shows_a_students_output_as_text() -> None:
    """Evidence, a failing command's output and the folder name come from the project: markup
    in them stays text, and a control character never reaches the terminal."""
    from pocgen.check.rubric import Rubric
    from pocgen.check.run import CheckReport, ItemResult, report_table

    item = ItemResult(
        id="a",
        title="A",
        status="fail",
        reason="command-failed",
        evidence="exit code 2: [/tmp] boom",
        output_tail="[red]x\n\x1b[2Jy",
        required=True,
        weight=1.0,
        score=0.0,
        check=None,
        command="make",
        exercise=None,
        threshold=None,
    )
    report = CheckReport(
        "/s/[bold]p", Rubric("r", "", [], "r.yaml", False), [item], {}, "0" * 64, "", 1.0
    )
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(report_table(report))
    shown = console.file.getvalue()
    assert "[bold]p: rubric r" in shown and "exit code 2: [/tmp] boom" in shown
    assert "[red]x" in shown and "\\x1b[2Jy" in shown and "\x1b" not in shown
