"""Pinning the built-in template: `--vcs-ref` and a course pack's `ref` render the version they
name (from the user's cache or pocgen's git history), or are refused in one line that names the
versions there are; and every check report records the version a project was made from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import yaml
from conftest import run_pocgen
from known_artifacts import REPO_ROOT

from pocgen.templating import snapshots, versions
from pocgen.templating.registry import builtin_root

SCHEMA = json.loads((REPO_ROOT / "src/pocgen/check/schemas/check.schema.json").read_text())
TEMPLATE = builtin_root() / "poc"
MARK = "A LINE ONLY THE PINNED VERSION HAS"
OWN = ["--data", "problem=Bakers guess when sourdough has proofed and bake flat loaves"]
OWN += ["--data", "business_objective=Bake every loaf at the right moment"]
OWN += ["--data", "success_metric=accuracy of at least 0.9 on held-out photos"]
OWN += ["--data", "classes=underproofed, proofed", "--data", "task=image-classification"]


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def cached_version(tmp_path: Path) -> str:
    """A version of the built-in template other than the shipped one, in the user's cache (as
    an earlier pocgen leaves it there)."""
    other = tmp_path / "older" / "poc"
    shutil.copytree(TEMPLATE, other)
    readme = other / "template" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{MARK}\n", encoding="utf-8")
    return snapshots.shipped_version(other, "poc")


def test_an_unknown_version_is_refused_naming_the_available_ones(tmp_path: Path) -> None:
    shipped = snapshots.shipped_version(TEMPLATE, "poc")
    for ref in ("does-not-exist", "v9.9-does-not-exist"):
        result = run_pocgen("new", tmp_path / "p", "--defaults", "--vcs-ref", ref)
        assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
        assert f"has no version '{ref}'" in result.stderr
        assert f"{shipped} (shipped with this pocgen)" in result.stderr
        assert not (tmp_path / "p").exists()

    pack = tmp_path / "pack.yaml"
    pack.write_text('name: pinned\ntemplate: poc\nref: "v9.9-does-not-exist"\n', encoding="utf-8")
    result = run_pocgen("new", tmp_path / "p", "--course", pack, "--defaults", *OWN)
    assert result.exit_code == 1 and "has no version 'v9.9-does-not-exist'" in result.stderr
    assert not (tmp_path / "p").exists()


def test_a_pinned_version_is_rendered_recorded_and_reported(tmp_path: Path) -> None:
    version = cached_version(tmp_path)
    assert version != snapshots.shipped_version(TEMPLATE, "poc")
    project = tmp_path / "proofing"
    created = run_pocgen("new", project, "--defaults", "--vcs-ref", version, *OWN)
    assert created.exit_code == 0, created.stderr
    assert MARK in (project / "README.md").read_text(encoding="utf-8")
    assert answers_of(project)["_commit"] == version

    # A course pack pins it the same way, by the version or its tree id alone.
    pack = tmp_path / "pack.yaml"
    tree = version.rpartition("+")[2]
    pack.write_text(
        f"name: pinned\ntemplate: poc\nref: '{tree}'\nrubric:\n"
        "  - {id: topic, title: Fresh topic, weight: 1, check: fresh_topic}\n",
        encoding="utf-8",
    )
    student = tmp_path / "student"
    assert run_pocgen("new", student, "--course", pack, "--defaults", *OWN).exit_code == 0
    assert MARK in (student / "README.md").read_text(encoding="utf-8")

    graded = run_pocgen("check", student, "--course", pack, "--json")
    report = json.loads(graded.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["template"] == {"source": "pocgen:poc", "version": version}
    assert report["pocgen"]["version"] and report["duration_seconds"] >= 0
    assert report["started_at"].endswith("+00:00") and len(report["rubric"]["sha256"]) == 64


def test_a_version_from_pocgens_history_is_rendered(tmp_path: Path) -> None:
    available = versions.available(TEMPLATE, "poc")
    older = next(v for v in available.history if v != available.shipped)
    project = tmp_path / "older"
    created = run_pocgen("new", project, "--defaults", "--vcs-ref", older)
    assert created.exit_code == 0, created.stderr
    assert answers_of(project)["_commit"] == older


def test_update_to_an_unknown_version_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "p"
    assert run_pocgen("new", project, "--defaults").exit_code == 0  # with its first commit
    result = run_pocgen("update", project, "--vcs-ref", "v9.9-does-not-exist")
    assert result.exit_code == 1 and "has no version 'v9.9-does-not-exist'" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
