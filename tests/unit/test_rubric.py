"""Rubrics and course packs are parsed with one clear line per mistake, wherever they come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from known_artifacts import REPO_ROOT

from pocgen.check import select_grading
from pocgen.check.course import LOCK_ITEM, CoursePack, load_pack, merge_answers, pack_from_data
from pocgen.check.items import CHECKS
from pocgen.check.rubric import (
    DEFAULT_RUBRIC,
    builtin_rubrics,
    load_rubric,
    parse_items,
    read_yaml,
    rubric_from_data,
)
from pocgen.errors import PocgenError

pytestmark = pytest.mark.unit

EXAMPLE_PACK = REPO_ROOT / "examples" / "course-packs" / "four-week-bootcamp.yaml"
ITEM = {"id": "a", "title": "A", "weight": 1, "check": "eda"}


@pytest.mark.parametrize("name", ["path", "ml-course"])
def test_builtin_rubrics_load_and_name_real_checks(name: str) -> None:
    rubric = load_rubric(name)
    assert rubric.name == name and rubric.items
    assert all(item.check in CHECKS for item in rubric.items if item.check)
    assert len({item.id for item in rubric.items}) == len(rubric.items)


def test_the_default_rubric() -> None:
    assert load_rubric(None).name == DEFAULT_RUBRIC and "path" in builtin_rubrics()
    assert load_rubric(None).source == "built-in rubric path"


def test_every_check_is_documented_in_its_docstring() -> None:
    assert all(check.__doc__ and check.__doc__.strip() for check in CHECKS.values())


def test_items_parse_with_their_defaults() -> None:
    items = parse_items(
        [ITEM, {"id": "b-2", "title": " B ", "weight": 0.5, "command": "true", "required": False}],
        "mine.yaml",
    )
    assert items[0].required and items[0].threshold is None and items[0].check == "eda"
    assert (items[1].title, items[1].weight, items[1].command, items[1].required) == (
        "B",
        0.5,
        "true",
        False,
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a non-empty list"),
        ("items", "must be a non-empty list"),
        (["a"], "rubric item 1 must be a mapping"),
        ([{**ITEM, "colour": "red"}], "rubric item 1 (`a`): unknown key(s) colour"),
        ([{**ITEM, "id": ""}], "`id` must be a non-empty string"),
        ([{**ITEM, "title": 3}], "`title` must be a non-empty string"),
        ([{**ITEM, "id": "Bad Id"}], "`id` must be lowercase letters"),
        ([ITEM, ITEM], "rubric item 2 (`a`): the id `a` is used twice"),
        ([{k: v for k, v in ITEM.items() if k != "weight"}], "`weight` is missing"),
        ([{**ITEM, "weight": "heavy"}], "`weight` must be a number (got 'heavy')"),
        ([{**ITEM, "weight": True}], "`weight` must be a number"),
        ([{**ITEM, "weight": -1}], "`weight` must not be negative (got -1)"),
        ([{**ITEM, "command": "true"}], "give exactly one of `check`"),
        ([{k: v for k, v in ITEM.items() if k != "check"}], "give exactly one of `check`"),
        ([{**ITEM, "check": "nope"}], "unknown check 'nope'"),
        ([{"id": "a", "title": "A", "weight": 1, "command": " "}], "`command` must be a non-empty"),
        ([{**ITEM, "threshold": "high"}], "`threshold` must be a number"),
        ([{**ITEM, "required": "yes"}], "`required` must be true or false (got 'yes')"),
    ],
)
def test_a_malformed_item_is_one_line(raw: object, message: str) -> None:
    with pytest.raises(PocgenError) as raised:
        parse_items(raw, "mine.yaml")
    assert message in str(raised.value) and str(raised.value).startswith("mine.yaml")
    assert "\n" not in str(raised.value)


def test_a_rubric_document() -> None:
    rubric = rubric_from_data({"name": "mini", "description": "d", "items": [ITEM]}, "x.yaml")
    assert (rubric.name, rubric.description, rubric.source) == ("mini", "d", "x.yaml")
    assert rubric_from_data([ITEM], "dir/bare.yaml").name == "bare"
    with pytest.raises(PocgenError, match="unknown key"):
        rubric_from_data({"items": [ITEM], "owner": "me"}, "x.yaml")
    with pytest.raises(PocgenError, match="a rubric is a mapping"):
        rubric_from_data("text", "x.yaml")


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(PocgenError, match="x.yaml is not valid YAML at line 3"):
        read_yaml("items:\n  - [a\n", "x.yaml")


def test_a_missing_rubric_lists_the_built_in_ones(tmp_path: Path) -> None:
    with pytest.raises(PocgenError, match=r"rubric 'nope' not found: .*ml-course, path"):
        load_rubric("nope")
    path = tmp_path / "mine.yaml"
    path.write_text("items:\n  - {id: a, title: A, weight: 1, check: eda}\n")
    assert load_rubric(path).items[0].check == "eda"


def test_rubric_and_course_are_exclusive() -> None:
    with pytest.raises(PocgenError, match="give --rubric or --course, not both"):
        select_grading("path", "pack.yaml")
    grading = select_grading(None, None)
    assert grading.rubric.name == "path" and grading.locked == {} and not grading.exercises


PACK = {
    "name": "bootcamp",
    "template": "poc",
    "ref": "v1",
    "answers": {"task": "image-classification", "target_value": 0.9},
    "locked": ["task"],
}


def test_a_pack_parses_and_puts_its_lock_check_first() -> None:
    pack = pack_from_data(PACK, "pack.yaml")
    assert isinstance(pack, CoursePack) and pack.locked_answers == {"task": "image-classification"}
    grading = pack.grading_rubric()
    assert grading.items[0] == LOCK_ITEM and grading.items[1:] == pack.rubric.items
    assert pack.rubric.name == "path"  # no rubric given: the default


def test_a_pack_with_its_own_rubric_and_no_locks() -> None:
    pack = pack_from_data({**PACK, "locked": [], "rubric": [ITEM]}, "pack.yaml", remote=True)
    assert pack.grading_rubric() == pack.rubric and pack.rubric.remote
    assert pack.rubric.items[0].check == "eda"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"owner": "me"}, "unknown key(s) owner"),
        ({"name": None}, "`name` must be a non-empty string"),
        ({"template": 3}, "`template` must be a non-empty string (quote it in YAML)"),
        ({"answers": ["task"]}, "`answers` must be a mapping"),
        ({"locked": "task"}, "`locked` must be a list"),
        ({"locked": ["seed"]}, "locked answer(s) seed have no value in `answers`"),
        ({"rubric": [{"id": "a"}]}, "rubric item 1 (`a`)"),
    ],
)
def test_a_malformed_pack_is_one_line(changes: dict, message: str) -> None:
    data = {**PACK, **changes}
    with pytest.raises(PocgenError) as raised:
        pack_from_data({k: v for k, v in data.items() if v is not None}, "pack.yaml")
    assert message in str(raised.value) and "pack.yaml" in str(raised.value)


def test_a_pack_that_is_not_a_mapping() -> None:
    with pytest.raises(PocgenError, match="a course pack is a YAML mapping"):
        pack_from_data(["name"], "pack.yaml")


def test_students_answers_go_over_the_packs_but_never_over_a_lock() -> None:
    pack = pack_from_data(PACK, "pack.yaml")
    merged = merge_answers(pack, {"target_value": "0.95", "task": "image-classification"})
    assert merged == {"task": "image-classification", "target_value": "0.95"}
    with pytest.raises(PocgenError, match="locks task='image-classification'; drop --data task"):
        merge_answers(pack, {"task": "text-classification"})


def test_a_template_path_is_read_relative_to_the_pack(tmp_path: Path) -> None:
    pack = pack_from_data({**PACK, "template": "./tpl"}, "p.yaml", base=str(tmp_path))
    assert pack.template == str(tmp_path / "tpl")
    assert pack_from_data(PACK, "p.yaml", base=str(tmp_path)).template == "poc"


def test_the_shipped_example_pack_loads() -> None:
    pack = load_pack(str(EXAMPLE_PACK))
    assert pack.name and pack.rubric.items


def test_a_missing_pack_file_is_one_line() -> None:
    with pytest.raises(PocgenError, match="course pack nowhere/pack.yaml not found"):
        load_pack("nowhere/pack.yaml")
