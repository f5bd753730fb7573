"""`pocgen new`: the built-in template, other templates, and every kind of bad input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, commit_all, git_init, run_pocgen

# Given a problem, a project is the user's own (not the demo): the rest of its identity is due.
REST_OF_IDENTITY = [
    "--data", "business_objective=Fewer missed items",
    "--data", "success_metric=mAP@0.5 of at least 0.9",
    "--data", "classes=item",
]


def test_default_template_without_questions(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "tool-check", "--defaults")
    assert result.exit_code == 0, result.stderr
    project = tmp_path / "tool-check"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "Tool Check"
    assert answers["package_name"] == "tool_check"
    assert answers["task"] == "object-detection"
    # the answers name the built-in template by name and content-derived version, which any
    # machine resolves, so `pocgen update` works later anywhere (not a path in one user's cache)
    assert answers["_src_path"] == "pocgen:poc"
    assert re.fullmatch(r"0\.1\.0\+[0-9a-f]{12}", answers["_commit"])
    # next steps are the commands of the generated README's quickstart
    assert "pip install -e '.[dev]'" in result.stdout
    assert "make pipeline" in result.stdout


def test_data_and_data_file(tmp_path: Path):
    data_file = tmp_path / "answers.yml"
    data_file.write_text("task: text-classification\nclasses: urgent, routine\nui: streamlit\n")
    result = run_pocgen(
        "new", tmp_path / "p", "--defaults", "--data-file", data_file, "--data", "ui=both"
    )
    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert (answers["task"], answers["classes"], answers["ui"]) == (
        "text-classification",
        "urgent, routine",
        "both",
    )


def test_pretend_writes_nothing(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--pretend")
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "p").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_force_writes_into_a_non_empty_folder(tmp_path: Path):
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    assert run_pocgen("new", dest, "--defaults", "--force").exit_code == 0
    assert (dest / "notes.txt").read_text() == "mine"
    assert (dest / ".copier-answers.yml").is_file()


def test_worn_topic_warns_but_creates(tmp_path: Path):
    result = run_pocgen(
        "new", tmp_path / "p", "--defaults", "--data", "problem=Predict who survived the Titanic",
        *REST_OF_IDENTITY,
    )
    assert result.exit_code == 0
    assert "Titanic" in result.stderr and "well-worn" in result.stderr


def test_other_copier_template_from_a_folder(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p", "-t", FIXTURES / "copier-mini", "--defaults")
    assert result.exit_code == 0, result.stderr
    assert "Hello" in (tmp_path / "p" / "main.py").read_text()


def test_git_url_at_a_ref(tmp_path: Path, versioned_template):
    def change(repo: Path) -> None:
        (repo / "template" / "NEW_IN_V2.md").write_text("v2\n")

    repo = versioned_template("copier-mini", change)
    url = f"file://{repo}"
    assert run_pocgen("new", tmp_path / "a", "-t", url, "-r", "v1", "--defaults").exit_code == 0
    assert not (tmp_path / "a" / "NEW_IN_V2.md").exists()
    answers = yaml.safe_load((tmp_path / "a" / ".copier-answers.yml").read_text())
    assert (answers["_src_path"], answers["_commit"]) == (f"git+{url}", "v1")
    assert run_pocgen("new", tmp_path / "b", "-t", url, "--defaults").exit_code == 0
    assert (tmp_path / "b" / "NEW_IN_V2.md").exists()


def test_copier_template_without_answers_file_still_records_answers(tmp_path: Path):
    template = tmp_path / "forgetful"
    template.mkdir()
    (template / "copier.yml").write_text("name:\n  type: str\n  default: x\n")
    (template / "hello.txt.jinja").write_text("hi {{ name }}\n")
    assert run_pocgen("new", tmp_path / "p", "-t", template, "--defaults").exit_code == 0
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["name"] == "x"


def test_registered_template_from_an_installed_package(tmp_path: Path):
    """A package registers a template under the `pocgen.templates` entry-point group."""
    site = tmp_path / "site"
    dist_info = site / "course_templates-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: course-templates\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[pocgen.templates]\nmini = course_templates:TEMPLATE\n"
    )
    (site / "course_templates.py").write_text(
        f"TEMPLATE = {{'source': {str(FIXTURES / 'copier-mini')!r}, "
        "'description': 'The course starter'}\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listing = run_pocgen("templates", env=env)
    assert "mini" in listing.stdout and "The course starter" in listing.stdout
    assert "poc" in listing.stdout
    result = run_pocgen("new", tmp_path / "p", "-t", "mini", "--defaults", env=env)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "p" / "main.py").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "no-such-template"], "unknown template 'no-such-template'"),
        (["-t", str(FIXTURES / "not-a-template")], "neither copier.yml nor cookiecutter.json"),
        (["-t", "file:///nonexistent/repo.git"], "could not fetch template"),
        (["--data", "task=segmentation"], "Invalid choice for 'task'"),
        (["--data", "project_slug=Not A Slug"], "project_slug must be lowercase"),
        (["--data", 'project_name=The "Counter"'], "can't contain double quotes or backslashes"),
        (["--data", "project_name=" + "x" * 61], "project_name must be at most 60 characters"),
        (["--data", "package_name=" + "p" * 26], "package_name must be at most 25 characters"),
        (["--data", "task=image-classification", "--data", "classes=cat"], "at least 2 classes"),
        (["--data", "classes=a, a"], "classes must be unique"),
        (["--data", "classes=a/b, c"], "safe as a folder name"),
        (["--data", "author_email=nobody"], "author_email must look like"),
        (["--data", "target_value=1.5"], "target_value must be between 0 and 1"),
        (["--data", "colour=blue"], "has no question named colour"),
        (["--data", "task"], "--data expects KEY=VALUE"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path: Path, args, message):
    result = run_pocgen("new", tmp_path / "p", "--defaults", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_malformed_data_file(tmp_path: Path):
    bad = tmp_path / "answers.yml"
    bad.write_text("task: [unclosed\n")
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--data-file", bad)
    assert result.exit_code == 1
    assert "is not valid YAML at line" in result.stderr
    assert not (tmp_path / "p").exists()


def test_existing_non_empty_destination_is_untouched(tmp_path: Path):
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "mine.txt").write_text("precious")
    result = run_pocgen("new", dest, "--defaults")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.stderr and "--force" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["mine.txt"]


def test_no_terminal_without_defaults_says_how(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p")
    assert result.exit_code == 1
    assert "--defaults" in result.stderr
    assert not (tmp_path / "p").exists()


def test_interrupted_render_leaves_no_half_written_project(tmp_path: Path):
    """Ctrl-C while the template's task runs: the files already rendered must not appear."""
    template = tmp_path / "slow"
    (template / "template").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: template\n_tasks:\n  - sleep 30\n")
    (template / "template" / "big.txt").write_text("rendered before the interrupt\n")
    dest = tmp_path / "out" / "p"
    (tmp_path / "out").mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pocgen",
            "new",
            str(dest),
            "-t",
            str(template),
            "--defaults",
            "--trust",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not list((tmp_path / "out").rglob("big.txt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((tmp_path / "out").rglob("big.txt")), "the render never started"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted: nothing was written" in stderr
    assert "Traceback" not in stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_untrusted_template_that_runs_code_is_refused(tmp_path: Path):
    template = tmp_path / "tasky"
    template.mkdir()
    (template / "copier.yml").write_text("_tasks:\n  - touch PWNED\n")
    (template / "file.txt").write_text("x\n")
    result = run_pocgen("new", tmp_path / "p", "-t", template, "--defaults")
    assert result.exit_code == 1
    assert "--trust" in result.stderr
    assert not (tmp_path / "p").exists()
    assert run_pocgen("new", tmp_path / "p", "-t", template, "--defaults", "--trust").exit_code == 0


def test_builtin_template_is_trusted_and_in_a_git_snapshot(tmp_path: Path):
    """Two projects from the same pocgen share one snapshot tag."""
    run_pocgen("new", tmp_path / "a", "--defaults")
    run_pocgen("new", tmp_path / "b", "--defaults")
    tags = [
        yaml.safe_load((tmp_path / name / ".copier-answers.yml").read_text())["_commit"]
        for name in ("a", "b")
    ]
    assert tags[0] == tags[1]


def test_help_is_fast_to_import():
    """`pocgen --help` must not import the engines or the Hub client."""
    code = (
        "import sys; from typer.testing import CliRunner; from pocgen.cli import app; "
        "CliRunner().invoke(app, ['--help']); "
        "heavy = [m for m in ('copier', 'cookiecutter', 'huggingface_hub', 'torch') "
        "if m in sys.modules]; print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert output.strip() == "[]"


def test_git_fixture_helpers_are_reusable(tmp_path: Path):
    """A sanity check of the fixtures the update tests rely on."""
    git_init(tmp_path)
    (tmp_path / "f").write_text("x")
    commit_all(tmp_path, "first", tag="t1")
    assert subprocess.run(
        ["git", "-C", str(tmp_path), "tag"], capture_output=True, text=True
    ).stdout.split() == ["t1"]


def test_interactive_prompts_in_a_terminal(tmp_path: Path):
    """Without --defaults the engine's own prompts ask each question in a real terminal."""
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "pocgen", "new", str(tmp_path / "p"), "-t", str(FIXTURES / "copier-mini")],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )
    child.expect("project_name")
    child.sendline("")  # keep the default
    child.expect("greeting")
    child.send("\x15")  # clear the default, as a user would with Ctrl-U
    child.sendline("Howdy")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert 'return "Howdy"' in (tmp_path / "p" / "main.py").read_text()


def test_answers_with_quotes_and_backslashes_stay_valid_toml(tmp_path: Path):
    import tomllib

    problem = 'Nurses re-type "urgent" notes from C:\\scans <by hand> & lose time'
    result = run_pocgen(
        "new",
        tmp_path / "p",
        "--defaults",
        "--data",
        f"problem={problem}",
        "--data",
        'author_name=Ana "the builder" Díaz',
        *REST_OF_IDENTITY,
    )
    assert result.exit_code == 0, result.stderr
    project = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())["project"]
    assert project["description"] == problem
    assert project["authors"][0]["name"] == 'Ana "the builder" Díaz'


def test_long_project_name_gets_a_package_name_cut_at_a_whole_word(tmp_path: Path):
    # The default package name comes from the slug; past copier.yml's 25 characters it is cut
    # back to the last whole word instead of failing its own validator.
    result = run_pocgen(
        "new",
        tmp_path / "p",
        "--defaults",
        "--data",
        "project_name=Retained Surgical Instrument Detector",
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "p" / "src" / "retained_surgical" / "__main__.py").is_file()


def test_validation_message_is_wrapped_not_cut(tmp_path: Path):
    """A 60-column terminal: the whole explanation of a rejected answer is shown, wrapped."""
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "pocgen", "new", str(tmp_path / "p")],
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 60),
    )
    child.expect("Project name")
    child.sendline("")
    child.expect("Repository and folder name")
    child.send("\x15")  # an empty slug is invalid: its message is over 100 characters
    child.expect("letter.*got")
    shown = child.before + child.after
    child.sendcontrol("c")
    child.close()
    # strip the terminal's escape sequences and the wrapping; what is left must be whole
    flat = re.sub(r"\s+", "", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown))
    assert "digitsandsingledashes,startingwithaletter" in flat


@pytest.mark.parametrize(
    ("folder", "name", "slug", "package"),
    [
        ("2024-poc", "2024 Poc", "project-2024-poc", "project_2024_poc"),
        ("My Cool POC", "My Cool POC", "my-cool-poc", "my_cool_poc"),
        ("defect-AI_check", "Defect AI Check", "defect-ai-check", "defect_ai_check"),
    ],
)
def test_default_names_are_valid_and_keep_acronyms(tmp_path: Path, folder, name, slug, package):
    result = run_pocgen("new", tmp_path / folder, "--defaults")
    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((tmp_path / folder / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["project_slug"], answers["package_name"]) == (
        name,
        slug,
        package,
    )


def test_version_short_help_and_examples():
    from pocgen import __version__

    version = run_pocgen("--version")
    assert version.exit_code == 0 and version.stdout.strip() == f"pocgen {__version__}"
    top = run_pocgen("-h")
    assert top.exit_code == 0 and "Examples" in top.stdout and "pocgen new my-poc" in top.stdout
    for command in ("new", "update", "templates", "deploy", "writeup", "check"):
        shown = run_pocgen(command, "-h")
        assert shown.exit_code == 0, shown.stderr
        assert "Examples" in shown.stdout and f"pocgen {command}" in shown.stdout, command


def test_boolean_options_are_shown_as_flags():
    """`--defaults` takes no value, and its help must not suggest `--defaults <bool>`."""
    shown = run_pocgen("new", "--help")
    assert "<bool>" not in shown.stdout
    assert re.search(r"--defaults\s+Ask nothing", shown.stdout)
