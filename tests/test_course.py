"""Course packs end to end: a pack served over HTTP names a git template pinned to a tag, preset
and locked answers, and a rubric; a student's project is created from it and graded with it.

The pack is served by a real http.server on 127.0.0.1, the template is a real git repository
cloned at the pinned tag, and the entry-point source is a real installed distribution
(a dist-info folder on PYTHONPATH), so every way a course can ship a pack is exercised.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import commit_all, git_init, run_pocgen
from known_artifacts import REPO_ROOT, TEMPLATE

from pocgen.check.course import load_pack, merge_answers
from pocgen.check.rubric import builtin_rubrics, load_rubric
from pocgen.errors import PocgenError
from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project

pytestmark = pytest.mark.server

SCHEMA_FILE = REPO_ROOT / "src" / "pocgen" / "check" / "schemas" / "check.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())
EXAMPLE = REPO_ROOT / "examples" / "course-packs" / "four-week-bootcamp.yaml"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib's name)
        """Keep the test output clean."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """The poc template in its own git repository, tagged v1; later commits must not leak in."""
    repo = tmp_path / "template-repo"
    shutil.copytree(TEMPLATE, repo)
    git_init(repo)
    commit_all(repo, "course template v1", tag="v1")
    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nUNRELEASED CHANGE\n")
    commit_all(repo, "work in progress after v1")
    return repo


def pack_text(template: str) -> str:
    return f"""
name: ticket-course
description: Route support tickets
template: {template}
ref: v1
answers:
  task: text-classification
  classes: billing, technical, account
  labeling: none
  notebooks: false
  deploy: none
locked: [task, classes]
rubric:
  - {{id: topic, title: Fresh topic, weight: 1, check: fresh_topic}}
  - {{id: params, title: Settings in params.yaml, weight: 2, command: test -f params.yaml}}
  - {{id: model, title: Beats the baseline, weight: 3, check: model_beats_baseline,
      required: false}}
"""


def test_pack_from_url_end_to_end(
    served: tuple[Path, str], template_repo: Path, tmp_path: Path
) -> None:
    folder, base = served
    (folder / "course.yaml").write_text(pack_text(template_repo.as_uri()), encoding="utf-8")
    pack = load_pack(f"{base}/course.yaml")
    assert (pack.name, pack.ref, pack.locked) == ("ticket-course", "v1", ["task", "classes"])

    # new --course: the student's own answers merged over the pack's presets, locked ones kept.
    with pytest.raises(PocgenError, match=r"locks task='text-classification'; drop --data task="):
        merge_answers(pack, {"task": "object-detection"})
    own = {"project_name": "Ticket Router", "task": "text-classification"}
    own["problem"] = "A travel agency's inbox mixes refund and visa mail; visa deadlines slip."
    own["business_objective"] = "Visa mail answered before its deadline"
    own["success_metric"] = "accuracy of at least 0.9 on held-out tickets"
    data = merge_answers(pack, own)
    project = tmp_path / "ticket-router"
    create_project(
        project, pack.template, data=data, options=RenderOptions(defaults=True, ref=pack.ref)
    )
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["task"] == "text-classification"
    assert answers["classes"] == "billing, technical, account"
    assert answers["project_name"] == "Ticket Router"
    assert "UNRELEASED CHANGE" not in (project / "README.md").read_text(encoding="utf-8")

    # check --course: the pack came over the network and runs a command, so it needs --trust.
    refused = run_pocgen("check", project, "--course", f"{base}/course.yaml")
    assert refused.exit_code == 1 and "--trust" in refused.stderr and "params" in refused.stderr
    graded = run_pocgen("check", project, "--course", f"{base}/course.yaml", "--trust", "--json")
    report = json.loads(graded.stdout)
    jsonschema.validate(report, SCHEMA)
    assert graded.exit_code == 0, report
    assert report["rubric"]["name"] == "ticket-course"
    found = {item["id"]: item["status"] for item in report["items"]}
    assert found == {"course-answers": "pass", "topic": "pass", "params": "pass", "model": "fail"}
    assert (report["score"], report["max_score"]) == (3, 6)

    # A student who edits a locked answer afterwards fails the course check.
    answers["task"] = "image-classification"
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers), encoding="utf-8")
    graded = run_pocgen("check", project, "--course", f"{base}/course.yaml", "--trust", "--json")
    assert graded.exit_code == 1
    evidence = json.loads(graded.stdout)["items"][0]["evidence"]
    assert "task='image-classification' (course: 'text-classification')" in evidence


def test_pack_from_an_installed_entry_point(tmp_path: Path) -> None:
    """A package registers the pack under `pocgen.courses`; students name it, not a path."""
    site = tmp_path / "site"
    dist = site / "bootcamp_courses-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bootcamp-courses\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[pocgen.courses]\nbootcamp = bootcamp_courses:PACK\n", encoding="utf-8"
    )
    (site / "bootcamp_courses.py").write_text(f"PACK = {str(EXAMPLE)!r}\n", encoding="utf-8")
    project = tmp_path / "defects"
    create_project(
        project, "poc", data={"task": "image-classification"}, options=RenderOptions(defaults=True)
    )
    # The package's folder before whatever pocgen itself runs from.
    path = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    result = run_pocgen("check", project, "--course", "bootcamp", "--json", env=path)
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert result.exit_code == 1 and report["rubric"]["name"] == "four-week-bootcamp"
    items = {item["id"]: item for item in report["items"]}
    assert (
        items["course-answers"]["status"] == "fail"
    )  # labeling/target_metric differ from the pack
    assert items["data"]["threshold"] == 100 and items["data"]["status"] == "fail"
    assert report["max_score"] == 29  # 24, and the two exercises, solved by the plain render
    exercises = {item["id"]: item["status"] for item in report["items"] if item["exercise"]}
    assert exercises == {"run-epoch": "pass", "classification-metrics": "pass"}

    unknown = run_pocgen("check", project, "--course", "nope", env=path)
    assert unknown.exit_code == 1 and "(bootcamp)" in unknown.stderr


def test_example_pack_and_builtin_rubrics_load() -> None:
    pack = load_pack(str(EXAMPLE))
    assert pack.template == "poc" and set(pack.locked) <= set(pack.answers)
    assert sum(item.weight for item in pack.rubric.items) == 24
    assert (
        merge_answers(pack, {"target_metric": "macro_f1", "target_value": "0.9"})["target_value"]
        == "0.9"
    )
    assert {"path", "ml-course"} <= set(builtin_rubrics())
    for name in builtin_rubrics():
        assert load_rubric(name).items
    course = load_rubric("ml-course")
    assert [item.id for item in course.items][:3] == ["problem", "eda", "training"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- just a list\n", "is a YAML mapping"),
        ("template: poc\n", "`name` must be a non-empty string"),
        ("name: x\n", "`template` must be a non-empty string"),
        ("name: x\ntemplate: poc\nref: 1.10\n", "`ref` must be a non-empty string (quote it"),
        ("name: x\ntemplate: poc\nteacher: me\n", "unknown key(s) teacher"),
        ("name: x\ntemplate: poc\nlocked: [task]\n", "locked answer(s) task have no value"),
        ("name: x\ntemplate: poc\nanswers: [task]\n", "`answers` must be a mapping"),
        (
            "name: x\ntemplate: poc\nrubric: [{id: a, title: A, weight: 1}]\n",
            "rubric item 1 (`a`): give exactly one of `check`",
        ),
        ("name: x\ntemplate: poc\nrubric: nonexistent-rubric\n", "rubric 'nonexistent-rubric'"),
        ("name: x\n  template: [poc\n", "is not valid YAML at line"),
    ],
)
def test_malformed_packs_get_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(content, encoding="utf-8")
    result = run_pocgen("check", tmp_path, "--course", pack)
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_unreachable_pack_urls(served: tuple[Path, str], tmp_path: Path) -> None:
    _, base = served
    missing = run_pocgen("check", tmp_path, "--course", f"{base}/missing.yaml")
    assert missing.exit_code == 1 and "HTTP 404" in missing.stderr
    with pytest.raises(PocgenError, match="not found: check the path"):
        load_pack(str(tmp_path / "no-such-pack.yaml"))
