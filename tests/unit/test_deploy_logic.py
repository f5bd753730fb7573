"""The deploy's pure decisions: which demo an account gets, and the Space card it carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from known_artifacts import DEPLOY

from pocgen.contract import schema_problem
from pocgen.deploy import frontmatter
from pocgen.deploy.build import SpaceBuild
from pocgen.deploy.choice import choose, is_paid, owner, python_apps
from pocgen.deploy.run import record
from pocgen.errors import PocgenError
from pocgen.project import load_project

pytestmark = pytest.mark.unit

ANSWERS = {
    "task": "image-classification",
    "project_name": "Defect Spotter",
    "classes": "ok, defect",
    "python_version": "3.11",
    "license": "MIT",
    "ui": "gradio",
}
FREE = {"name": "jane", "orgs": [{"name": "lab", "canPay": True}]}


@pytest.mark.parametrize(
    ("ui", "apps"),
    [("gradio", ["gradio"]), ("streamlit", ["streamlit"]), ("both", ["gradio", "streamlit"])],
)
def test_the_projects_python_apps(ui: str, apps: list) -> None:
    assert python_apps({"ui": ui}) == apps


def test_owner_and_plan() -> None:
    assert owner(FREE, "jane") is FREE and owner(FREE, "lab")["canPay"]
    assert owner(FREE, "someone") == {}
    assert not is_paid(FREE) and is_paid({"isPro": True}) and is_paid({"isEnterprise": True})


def test_a_free_account_gets_the_web_demo() -> None:
    choice = choose(ANSWERS, None, None, FREE, "jane")
    assert (choice.ui, choice.sdk) == ("web", "static")
    assert "jane is on the free plan" in choice.reason and "--ui gradio --hardware" in choice.reason


def test_a_paid_namespace_gets_the_python_app() -> None:
    choice = choose(ANSWERS, None, None, FREE, "lab")
    assert (choice.ui, choice.sdk) == (
        "gradio",
        "gradio",
    ) and "lab has a paid plan" in choice.reason


def test_streamlit_runs_as_a_docker_space() -> None:
    choice = choose(
        {**ANSWERS, "ui": "streamlit"}, None, None, {"isPro": True, "name": "jane"}, "jane"
    )
    assert (choice.ui, choice.sdk) == ("streamlit", "docker")


def test_without_asking_the_hub_the_web_demo_and_why() -> None:
    choice = choose(ANSWERS, None, None, None, None, unasked="no token")
    assert choice.ui == "web" and "the account's plan is unknown (no token)" in choice.reason


def test_hardware_means_the_python_app() -> None:
    assert choose(ANSWERS, None, "zero-a10g", FREE, "jane").ui == "gradio"


@pytest.mark.parametrize(
    ("ui", "hardware", "message"),
    [
        ("flask", None, "--ui flask is not a demo pocgen deploys"),
        ("web", "t4-small", "drop --hardware t4-small"),
        ("streamlit", None, "this project has no streamlit app (its ui answer is 'gradio')"),
    ],
)
def test_a_demo_asked_for_that_cannot_be_is_one_line(
    ui: str, hardware: str | None, message: str
) -> None:
    with pytest.raises(PocgenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose(ANSWERS, ui, hardware, FREE, "jane")


def test_a_demo_asked_for_is_taken() -> None:
    assert choose(ANSWERS, "web", None, FREE, "lab").reason.startswith("--ui web")
    assert choose(ANSWERS, "gradio", None, FREE, "jane").ui == "gradio"


@pytest.mark.parametrize(
    ("sdk", "app_file", "extra"),
    [
        ("gradio", "app.py", {"sdk_version": "6.31.0"}),
        ("static", "index.html", {}),
        ("docker", "app.py", {}),
    ],
)
def test_the_space_card_is_valid_for_every_sdk(sdk: str, app_file: str, extra: dict) -> None:
    meta = frontmatter.build(ANSWERS, sdk, extra.get("sdk_version"), app_file)
    assert frontmatter.problems(meta) == []
    assert meta["license"] == "mit" and meta["tags"] == ["image-classification", "onnx", "pocgen"]
    assert ("python_version" in meta) == (sdk != "static")
    assert ("app_port" in meta) == (sdk == "docker")
    text = frontmatter.render(meta, "# Body\n")
    assert frontmatter.parse(text) == meta and text.endswith("---\n\n# Body\n")


def test_the_card_licence_uses_the_one_licence_table() -> None:
    meta = frontmatter.build({**ANSWERS, "license": "proprietary"}, "static", None, "index.html")
    assert meta["license"] == "other"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"title": " "}, "title is empty"),
        ({"emoji": "X"}, "emoji must be a single emoji"),
        ({"colorFrom": "orange"}, "colorFrom must be one of"),
        ({"sdk": "flask"}, "sdk must be one of"),
        ({"sdk_version": "6.31"}, "sdk_version must be X.Y.Z"),
        ({"app_file": "app.js"}, "app_file must name a .py file"),
        ({"python_version": "2.7"}, "python_version must be 3.x"),
        ({"short_description": "x" * 61}, "short_description is 61 characters"),
        ({"tags": ["a", 1]}, "tags must be a list of strings"),
    ],
)
def test_each_rule_of_the_card_is_checked(changes: dict, problem: str) -> None:
    meta = {**frontmatter.build(ANSWERS, "gradio", "6.31.0", "app.py"), **changes}
    assert any(problem in found for found in frontmatter.problems(meta))
    with pytest.raises(PocgenError, match="the Space's README front matter is invalid"):
        frontmatter.render(meta, "")


def test_short_descriptions_fit_60_characters() -> None:
    many = [f"class-number-{i}" for i in range(10)]
    text = frontmatter.short_description("object-detection", many)
    assert len(text) <= 60 and text.startswith("Object detection: class-number-0")
    assert (
        frontmatter.short_description("text-classification", ["x" * 80])
        == "Text classification demo"
    )


def test_a_readme_without_front_matter() -> None:
    with pytest.raises(PocgenError, match="no front matter"):
        frontmatter.parse("# Title\n")


def test_the_deploy_record_keeps_the_contract_and_names_the_demo(tmp_path: Path) -> None:
    """What `pocgen deploy` writes validates against deploy.schema.json and reads back typed."""
    (tmp_path / ".copier-answers.yml").write_text("task: image-classification\n")
    build = SpaceBuild(tmp_path / "dist" / "space", "web", "static", {})
    path = record(tmp_path, "jane/defect-spotter", DEPLOY["url"], build)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert schema_problem(data, "deploy") is None
    deployed = load_project(tmp_path).deploy
    assert deployed is not None and (deployed.ui, deployed.sdk) == ("web", "static")
    assert not list(tmp_path.rglob("*.pocgen-*"))


def test_a_readme_that_is_not_utf8_stops_the_space_build_in_one_line(tmp_path: Path) -> None:
    """The Space card carries the README; a Latin-1 one is named, and no half-built folder stays."""
    from pocgen.deploy.build import build_space
    from pocgen.deploy.choice import UiChoice

    for name in ("app/gradio_app.py", "app/demo_support.py", "src/parts/inference.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# placeholder\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models/model.onnx").write_bytes(b"onnx")
    (tmp_path / "models/labels.json").write_text('{"classes": ["ok", "defect"]}')
    (tmp_path / "README.md").write_bytes(b"# Caf\xe9\n")
    answers = {**ANSWERS, "package_name": "parts", "task": "text-classification"}
    with pytest.raises(PocgenError) as raised:
        build_space(tmp_path, answers, UiChoice("gradio", "--ui gradio"))
    assert str(raised.value) == (
        "README.md is not UTF-8 text (byte 5); save it as UTF-8 and rerun `pocgen deploy`."
    )
    assert not (tmp_path / "dist" / "space").exists()
