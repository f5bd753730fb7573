"""Property: whatever lines a user adds or changes, `pocgen update` never loses one of them.

Hypothesis draws random edits (lines added, changed and removed) to README.md, params.yaml and a
source file of a project made at template v1; the update to v2 (which changes lines of its own in
the same files) must keep every line the user wrote, cleanly merged or between conflict markers.
Both engines are covered: Copier's update and pocgen's own three-way merge for Cookiecutter.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import commit_all, git_init
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

V1 = {
    "README.md": "# Demo\n\nWhat it does.\n\n## Usage\n\nRun it.\n\n## Results\n\nNone yet.\n",
    "params.yaml": "train:\n  epochs: 10\n  lr: 0.01\n  batch: 16\nseed: 0\n",
    "src/app.py": 'def main():\n    """Run."""\n    value = 1\n    return value\n\n\nmain()\n',
}
V2_CHANGES = {  # the template's own edits between v1 and v2
    "README.md": ("Run it.", "Run it with `make run`."),
    "params.yaml": ("  lr: 0.01", "  lr: 0.003"),
    "src/app.py": ("    value = 1", "    value = 2  # v2"),
}
FILES = sorted(V1)

line_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 _-:", min_size=1, max_size=24)
edit = st.tuples(st.sampled_from(["add", "change", "remove"]), st.integers(0, 12), line_text)
edits = st.fixed_dictionaries({name: st.lists(edit, max_size=4) for name in FILES})


def _write_template(root: Path, engine: str, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if engine == "copier":
        (root / "copier.yml").write_text("_subdirectory: template\nname:\n  default: demo\n")
        inner = root / "template"
        inner.mkdir(parents=True, exist_ok=True)
        (inner / "{{_copier_conf.answers_file}}.jinja").write_text(
            "{{ _copier_answers|to_nice_yaml -}}\n"
        )
    else:
        (root / "cookiecutter.json").write_text('{"project_slug": "demo"}')
        inner = root / "{{cookiecutter.project_slug}}"
    for name, text in files.items():
        (inner / name).parent.mkdir(parents=True, exist_ok=True)
        (inner / name).write_text(text)


@pytest.fixture(scope="module", params=["copier", "cookiecutter"])
def made_at_v1(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One template repository (v1, v2) and one project made at v1 per engine, shared by every
    drawn example: each example works on a copy."""
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.new import create_project

    engine = request.param
    root = tmp_path_factory.mktemp(f"property-{engine}")
    repo = root / "template"
    _write_template(repo, engine, V1)
    git_init(repo)
    commit_all(repo, "v1", tag="v1")
    v2 = {name: V1[name].replace(*V2_CHANGES[name]) for name in FILES}
    _write_template(repo, engine, v2)
    commit_all(repo, "v2", tag="v2")
    project = root / "project"
    options = RenderOptions(defaults=True, ref="v1")
    create_project(project, f"file://{repo}", options=options)
    git_init(project)
    commit_all(project, "made at v1")
    return engine, project


def _apply(lines: list[str], changes: list[tuple[str, int, str]]) -> list[str]:
    for kind, index, text in changes:
        at = index % (len(lines) + 1)
        if kind == "add":
            lines.insert(at, f"user {text}")
        elif lines and kind == "change":
            lines[at % len(lines)] = f"user changed {text}"
        elif lines:
            del lines[at % len(lines)]
    return lines


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=edits)
def test_update_never_loses_a_line_the_user_wrote(made_at_v1, changes):
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.update import update_project

    engine, original = made_at_v1
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(original, project, symlinks=True)
        written = {}
        for name in FILES:
            path = project / name
            lines = _apply(path.read_text().splitlines(), changes[name])
            path.write_text("".join(line + "\n" for line in lines))
            written[name] = [line for line in lines if line.startswith("user ")]
        commit_all(project, "the user's edits")

        update_project(project, options=RenderOptions(defaults=True, trust=engine != "copier"))
        for name, lines in written.items():
            after = (project / name).read_text().splitlines() if (project / name).exists() else []
            for line in lines:
                assert line in after, f"{engine}: {name} lost the user's line {line!r}"
