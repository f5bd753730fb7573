"""`pocgen update`: template changes arrive, the user's edits stay, conflicts are marked."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, commit_all, git, git_init, run_pocgen

# Each engine's fixture keeps README.md and main.py in a different place.
ENGINES = {
    "copier": ("copier-mini", "template", []),
    "cookiecutter": ("cookiecutter-mini", "{{cookiecutter.project_slug}}", ["--trust"]),
}


def _template_change(engine: str):
    """v2 of the template: a new file, and a changed last line of README.md."""
    _, inner, _ = ENGINES[engine]

    def change(repo: Path) -> None:
        folder = repo / inner
        (folder / "CHANGELOG.md").write_text("Added in v2.\n")
        readme = next(folder.glob("README.md*"))
        readme.write_text(readme.read_text().replace("Line three", "Line three, improved in v2,"))

    return change


def _new_at_v1(tmp_path: Path, repo: Path, engine: str) -> Path:
    project = tmp_path / "project"
    trust = ENGINES[engine][2]
    result = run_pocgen("new", project, "-t", f"file://{repo}", "-r", "v1", "--defaults", *trust)
    assert result.exit_code == 0, result.stderr
    git_init(project)
    commit_all(project, "generated at v1")
    return project


@pytest.mark.parametrize("engine", ENGINES)
def test_update_keeps_user_edit_and_brings_template_change(tmp_path, versioned_template, engine):
    repo = versioned_template(ENGINES[engine][0], _template_change(engine))
    project = _new_at_v1(tmp_path, repo, engine)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("Line one", "Line one, edited by me,"))
    (project / "my_notes.md").write_text("mine\n")
    commit_all(project, "my edits")

    result = run_pocgen("update", project, *ENGINES[engine][2])
    assert result.exit_code == 0, result.stderr
    text = readme.read_text()
    assert "Line one, edited by me," in text  # the user's edit
    assert "Line three, improved in v2," in text  # the template's change
    assert "<<<<<<<" not in text
    assert (project / "CHANGELOG.md").read_text() == "Added in v2.\n"
    assert (project / "my_notes.md").read_text() == "mine\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_conflicting_edits_are_marked_and_nothing_dropped(tmp_path, versioned_template, engine):
    repo = versioned_template(ENGINES[engine][0], _template_change(engine))
    project = _new_at_v1(tmp_path, repo, engine)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("Line three", "Line three, my version,"))
    commit_all(project, "my conflicting edit")

    result = run_pocgen("update", project, *ENGINES[engine][2])
    assert result.exit_code == 1, result.stderr  # conflicts left: not a success for scripts
    text = readme.read_text()
    assert "<<<<<<<" in text and ">>>>>>>" in text
    assert "Line three, my version," in text
    assert "Line three, improved in v2," in text
    assert "Conflicts left" in result.stderr and "README.md" in result.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_conflicted_files_are_unmerged_as_git_knows_them(tmp_path, versioned_template, engine):
    """As after `copier update` or `git merge`: the index holds the template's old version, the
    user's and the template's new one; git lists the file as unmerged and refuses a commit
    until it is resolved, then accepts it."""
    repo = versioned_template(ENGINES[engine][0], _template_change(engine))
    project = _new_at_v1(tmp_path, repo, engine)
    readme = project / "README.md"
    mine = readme.read_text().replace("Line three", "Line three, my version,")
    readme.write_text(mine)
    commit_all(project, "my conflicting edit")

    assert run_pocgen("update", project, *ENGINES[engine][2]).exit_code == 1
    assert git(project, "status", "--porcelain", "--", "README.md").startswith("UU README.md")
    stages = {
        line.split()[2]: git(project, "cat-file", "blob", line.split()[1])
        for line in git(project, "ls-files", "--unmerged", "--", "README.md").splitlines()
    }
    assert set(stages) == {"1", "2", "3"}
    assert stages["2"] == mine  # the user's version
    assert "Line three, improved in v2," in stages["3"]  # the template's new version
    assert "my version" not in stages["1"] and "improved" not in stages["1"]
    refused = subprocess.run(
        ["git", "-C", str(project), "commit", "-qm", "too early"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "unmerged files" in refused.stderr

    readme.write_text(mine.replace("my version,", "my version, improved in v2,"))
    git(project, "add", "README.md")
    git(project, "commit", "-qm", "resolved")
    assert git(project, "status", "--porcelain", "--", "README.md") == ""


@pytest.mark.parametrize("engine", ENGINES)
def test_uncommitted_changes_stop_the_update(tmp_path, versioned_template, engine):
    repo = versioned_template(ENGINES[engine][0], _template_change(engine))
    project = _new_at_v1(tmp_path, repo, engine)
    (project / "README.md").write_text("work in progress\n")

    result = run_pocgen("update", project, *ENGINES[engine][2])
    assert result.exit_code == 1
    assert "uncommitted changes" in result.stderr and "commit or stash" in result.stderr
    assert (project / "README.md").read_text() == "work in progress\n"
    assert not (project / "CHANGELOG.md").exists()


def test_cookiecutter_project_records_source_commit_and_context(tmp_path, versioned_template):
    repo = versioned_template("cookiecutter-mini", _template_change("cookiecutter"))
    project = _new_at_v1(tmp_path, repo, "cookiecutter")
    record = yaml.safe_load((project / ".pocgen.yml").read_text())
    assert record["template"] == f"file://{repo}"
    assert record["commit"] == git(repo, "rev-parse", "v1").strip()
    assert record["context"]["project_slug"] == "mini-project"
    assert (project / "HOOK_RAN").exists()  # the trusted hook ran
    assert run_pocgen("update", project, "--trust").exit_code == 0
    updated = yaml.safe_load((project / ".pocgen.yml").read_text())
    assert updated["commit"] == git(repo, "rev-parse", "v2").strip()


def test_cookiecutter_hooks_need_trust(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p", "-t", FIXTURES / "cookiecutter-mini", "--defaults")
    assert result.exit_code == 1
    assert "it has hooks" in result.stderr and "--trust" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_not_a_git_repository(tmp_path: Path):
    project = tmp_path / "p"
    made = run_pocgen("new", project, "-t", FIXTURES / "copier-mini", "--defaults", "--no-git")
    assert made.exit_code == 0
    result = run_pocgen("update", project)
    assert result.exit_code == 1
    assert "not a git repository" in result.stderr and "git init" in result.stderr


def test_not_a_generated_project(tmp_path: Path):
    result = run_pocgen("update", tmp_path)
    assert result.exit_code == 1
    assert "no .copier-answers.yml or .pocgen.yml" in result.stderr


@pytest.fixture
def builtin_mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stand-in for pocgen's source checkout: built-in template `mini` in a git repository,
    with the shipped template in templates/mini and its history in git."""
    from pocgen.templating import registry

    checkout = tmp_path / "pocgen-checkout"
    shutil.copytree(FIXTURES / "copier-mini", checkout / "templates" / "mini")
    git_init(checkout)
    commit_all(checkout, "template v1")
    monkeypatch.setattr(registry, "builtin_root", lambda: checkout / "templates")
    return checkout


def _project_from_builtin(tmp_path: Path) -> Path:
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.new import create_project

    project = tmp_path / "project"
    create_project(project, "mini", options=RenderOptions(defaults=True))
    git_init(project)
    commit_all(project, "generated")
    (project / "main.py").write_text((project / "main.py").read_text() + "\n# my comment\n")
    commit_all(project, "my edit")
    return project


def _ship_new_release(checkout: Path) -> None:
    """A new pocgen release changes the shipped template."""
    (checkout / "templates" / "mini" / "template" / "NEW.md").write_text("new in this release\n")
    commit_all(checkout, "template v2")


def test_builtin_template_update_on_this_machine(tmp_path, builtin_mini, monkeypatch):
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.update import update_project

    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path / "cache"))
    project = _project_from_builtin(tmp_path)
    before = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert before["_src_path"] == "pocgen:mini"
    _ship_new_release(builtin_mini)
    updated = update_project(project, options=RenderOptions(defaults=True))
    assert "NEW.md" in updated.changed
    assert "# my comment" in (project / "main.py").read_text()
    after = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert after["_src_path"] == "pocgen:mini"
    assert after["_commit"] != before["_commit"]
    tree = git(builtin_mini, "rev-parse", "HEAD:templates/mini").strip()
    assert after["_commit"] == f"0.1.0+{tree[:12]}"  # the version is the template's content


def test_builtin_template_update_on_a_fresh_machine(tmp_path, builtin_mini, monkeypatch):
    """A teammate's clone, CI: no cache from `new`; the old version comes from pocgen's history."""
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.update import update_project

    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path / "cache-of-the-author"))
    project = _project_from_builtin(tmp_path)
    _ship_new_release(builtin_mini)
    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path / "cache-of-a-teammate"))
    updated = update_project(project, options=RenderOptions(defaults=True))
    assert "NEW.md" in updated.changed and ".copier-answers.yml" in updated.changed
    assert "# my comment" in (project / "main.py").read_text()
    # updating again changes nothing: no "Updated 1 files" for a rewritten answers file
    commit_all(project, "updated")
    assert update_project(project, options=RenderOptions(defaults=True)).changed == []


def test_project_from_an_earlier_pocgen_still_updates(tmp_path, builtin_mini, monkeypatch):
    """Earlier releases recorded a cache path and a cache-numbered version (`0.1.0.post3`); the
    version is found through the answers file in pocgen's history that first recorded it."""
    from pocgen.templating.engines import RenderOptions
    from pocgen.templating.update import update_project

    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path / "cache"))
    project = _project_from_builtin(tmp_path)
    answers = project / ".copier-answers.yml"
    legacy = {"_commit": "0.1.0.post3", "_src_path": "/home/someone/.cache/pocgen/templates/mini"}
    answers.write_text(yaml.safe_dump(yaml.safe_load(answers.read_text()) | legacy))
    commit_all(project, "made by an earlier pocgen")
    example = builtin_mini / "examples" / "demo"
    example.mkdir(parents=True)
    shutil.copy(answers, example / ".copier-answers.yml")
    commit_all(builtin_mini, "example at template 0.1.0.post3")
    _ship_new_release(builtin_mini)
    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path / "fresh-cache"))

    update_project(project, options=RenderOptions(defaults=True))
    assert (project / "NEW.md").is_file() and "# my comment" in (project / "main.py").read_text()
    assert yaml.safe_load(answers.read_text())["_src_path"] == "pocgen:mini"


def test_cookiecutter_hooks_run_once_per_update(tmp_path, versioned_template):
    repo = versioned_template("cookiecutter-mini", _template_change("cookiecutter"))
    project = _new_at_v1(tmp_path, repo, "cookiecutter")
    log = tmp_path / "hook.log"
    result = run_pocgen("update", project, "--trust", env={"HOOK_LOG": str(log)})
    assert result.exit_code == 0, result.stderr
    assert log.read_text() == "ran\n"


def test_no_template_change_is_already_up_to_date(tmp_path, versioned_template):
    """Even when the answers file was laid out differently: formatting is not a change."""
    repo = versioned_template("copier-mini", _template_change("copier"))
    project = _new_at_v1(tmp_path, repo, "copier")
    answers = project / ".copier-answers.yml"
    answers.write_text(json.dumps(yaml.safe_load(answers.read_text())))  # JSON is YAML too
    commit_all(project, "answers laid out differently")
    before = answers.read_text()
    result = run_pocgen("update", project, "--vcs-ref", "v1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "Already up to date."
    assert answers.read_text() == before
    assert git(project, "status", "--short") == ""


def test_the_flagship_example_updates_on_a_fresh_machine(tmp_path: Path):
    """examples/surgical-tool-detector names its template version as its answers file says; an
    empty cache must still find that version (in pocgen's history) and update a copy of it."""
    from conftest import REPO_ROOT

    example = REPO_ROOT / "examples" / "surgical-tool-detector"
    tracked = git(example, "ls-files", "-z", "--", ".").split("\0")
    copy = tmp_path / example.name
    for name in filter(None, tracked):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(example / name, copy / name)
    git_init(copy)
    commit_all(copy, "the example as committed")

    result = run_pocgen("update", copy, env={"POCGEN_CACHE_DIR": str(tmp_path / "fresh-cache")})
    # conflicts with the example's own edits are a legitimate outcome of a template change
    assert result.exit_code == 0 or result.stderr.startswith("Conflicts left"), result.stderr
    answers = yaml.safe_load((copy / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "pocgen:poc"
