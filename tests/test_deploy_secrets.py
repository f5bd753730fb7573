"""Nothing secret and nothing outside its folder reaches the Space (issue 12).

Secrets: each kind of credential is planted in each kind of file a Space gets (the app, the
package's inference.py, the README, the test split CSV, a JSON report); the scan must name the
file, the line and the kind, the fake Hub must receive nothing, and no message may echo the value.
Paths: README image links and CSV rows that lead out of their folders, symlinks out of the
project, a symlinked dist/space, and files over their size caps are refused with one line.
The planted values are assembled at run time so this file holds no credential-shaped literal.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from deploy_helpers import (
    IMAGE_ANSWERS,
    assert_one_line_error,
    deploy,
    image_project,
    nothing_uploaded,
    use_web_standin,
)
from fake_hub import FakeHub

from pocgen.deploy import secrets
from pocgen.deploy.build import build_space
from pocgen.deploy.choice import UiChoice
from pocgen.deploy.paths import EXAMPLE_MAX_BYTES, SPACE_DIR
from pocgen.deploy.secrets import SHOWN_FINDINGS, find_secrets
from pocgen.errors import PocgenError

pytestmark = [pytest.mark.server, pytest.mark.training]

pytest_plugins = ["deploy_fixtures"]

RANDOM = "Q7vX2mK9pL4sR8tW1yB6nD3fH5jZ0cG"  # 31 mixed characters, high entropy
# (name, planted text, the kind the scan must report); text is `NAME=value`-free where the
# kind is a token shape, and an assignment where the kind is "a secret-named value".
PLANTS = [
    ("aws-access-key", "AKIA" + "Q3EGRFKE7ZRYUW4N", "AWS Access Key"),
    ("aws-secret-key", "aws_secret_access_key=" + RANDOM + "abcdefghi", None),
    ("openai", "sk-" + "proj-" + RANDOM + RANDOM, "OpenAI API Key"),
    ("anthropic", "sk-" + "ant-api03-" + RANDOM * 3, "Anthropic API Key"),
    ("hugging-face", "hf" + "_" + RANDOM + "abc", "Hugging Face Token"),
    ("github", "gh" + "p_" + RANDOM + "abcde", "GitHub Token"),
    ("slack", "xo" + "xb-123456789012-1234567890123-" + RANDOM[:24], "Slack Token"),
    ("stripe", "sk" + "_live_" + RANDOM[:24], "Stripe Access Key"),
    ("google", "AI" + "za" + RANDOM + "abcd", "Google API Key"),
    ("private-key", "-----BEGIN RSA " + "PRIVATE KEY-----", "Private Key"),
    (
        "jwt",
        "ey" + "JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + RANDOM,
        "JSON Web Token",
    ),
    ("url-password", "postgres://admin:" + RANDOM[:12] + "@db.example.com/prod", None),
    ("token-name", "MY_SERVICE_TOKEN=" + RANDOM, None),
    ("password-name", "DB_PASSWORD=" + RANDOM, None),
    ("key-name", "PAYMENTS_KEY: " + RANDOM, None),
]
GENERIC = {"url-password": "Basic Auth Credentials"}


def planted_lines(kind: str) -> list[str]:
    """Each plant as one line of a file of `kind`, written the way that kind holds text."""
    if kind == "py":
        return [f"VALUE = {text!r}" if "=" not in text else text for _, text, _ in PLANTS]
    if kind == "json":
        return [json.dumps({name: text}) for name, text, _ in PLANTS]
    return [text for _, text, _ in PLANTS]  # README text, CSV cells


def write_planted(path: Path, kind: str) -> dict[int, str]:
    """Write every plant into `path`, one per line; returns line number -> plant name."""
    lines = planted_lines(kind)
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["id", "text", "label", "group"])
            writer.writerows([[index, line, "billing", index] for index, line in enumerate(lines)])
        return {index + 2: name for index, (name, _, _) in enumerate(PLANTS)}
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {index + 1: name for index, (name, _, _) in enumerate(PLANTS)}


@pytest.mark.parametrize("kind", ["py", "md", "csv", "json"])
def test_every_kind_of_secret_is_found_in_every_kind_of_file(tmp_path: Path, kind: str):
    space = tmp_path / "space"
    space.mkdir()
    expected = write_planted(space / f"planted.{kind}", kind)

    origins = {f"planted.{kind}": f"planted.{kind}"}  # a copy of the project's file
    found = {finding.line: finding for finding in find_secrets(space, origins, space)}

    for line, name in expected.items():
        assert line in found, f"{name} not found in a .{kind} file"
        assert found[line].file == f"planted.{kind}"
        wanted = next(want for plant, _, want in PLANTS if plant == name) or GENERIC.get(name)
        if wanted:
            assert wanted in found[line].kinds, (name, found[line])
    assert set(found) == set(expected)  # nothing else in the file is flagged


def plant_into(path: Path) -> int:
    """Add the plants to a project file, keeping it valid for its kind; returns the line of
    the first one (the first finding the error names)."""
    if path.suffix == ".csv":  # the first row's text: the Space's examples start with it
        rows = list(csv.reader(path.open(encoding="utf-8")))
        rows[1][rows[0].index("text")] = "call me, my token is " + PLANTS[0][1]
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    elif path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        data["notes"] = {name: text for name, text, _ in PLANTS}
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    else:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(planted_lines(path.suffix.lstrip("."))) + "\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if PLANTS[0][1] in line)


@pytest.mark.parametrize(
    "planted",
    [
        "app/gradio_app.py",
        "src/ticket_router/inference.py",
        "README.md",
        "data/splits/test.csv",
        "reports/metrics.json",
    ],
)
def test_a_planted_secret_never_reaches_the_hub(project: Path, hub: FakeHub, planted: str):
    line = plant_into(project / planted)

    result = deploy(project, hub)

    assert_one_line_error(result, "looks like a secret", f"{planted} line {line} (AWS Access Key")
    if not planted.endswith(".csv"):  # every plant is its own finding (5 shown, the rest counted)
        assert f"; and {len(PLANTS) - SHOWN_FINDINGS} more." in result.stderr
    assert nothing_uploaded(hub)
    assert not (project / SPACE_DIR).exists()  # no copy of the secret is left in dist/
    for _, text, _ in PLANTS:
        assert text not in result.stdout + result.stderr


def test_a_false_positive_is_allowed_by_the_inline_marker(project: Path, hub: FakeHub):
    line = f'EXAMPLE_TOKEN = "{RANDOM}"  # pragma: allowlist secret\n'
    with (project / "app/gradio_app.py").open("a", encoding="utf-8") as handle:
        handle.write(line)

    result = deploy(project, hub)

    assert result.exit_code == 0, result.stderr
    assert hub.spaces["alice/ticket-router"].files["app.py"].decode().endswith(line)


def test_a_json_false_positive_is_allowed_by_the_allowlist_file(project: Path, hub: FakeHub):
    metrics = project / "reports/metrics.json"
    data = json.loads(metrics.read_text(encoding="utf-8"))
    metrics.write_text(json.dumps({**data, "dataset_token": RANDOM}, indent=2), encoding="utf-8")
    assert deploy(project, hub).exit_code == 1  # flagged ...

    (project / ".secrets-allowlist").write_text(
        '# a dataset version, not a secret\nreports/metrics.json: "dataset_token":\n'
    )
    result = deploy(project, hub)

    assert result.exit_code == 0, result.stderr  # ... until the allow-list says it is not a secret
    assert RANDOM.encode() in hub.spaces["alice/ticket-router"].files["reports/metrics.json"]


def test_a_broken_allowlist_is_named(project: Path, hub: FakeHub):
    (project / ".secrets-allowlist").write_text("app.py: ok\napp.py: (unclosed\n")

    assert_one_line_error(deploy(project, hub), ".secrets-allowlist line 2", "regular expression")
    assert nothing_uploaded(hub)


@pytest.mark.parametrize(
    "link",
    [
        "reports/figures/../../configs/aws.yaml",
        "../outside.png",
        "/etc/hostname",
        "configs/aws.yaml",
    ],
)
def test_a_readme_image_outside_the_figure_folders_is_refused(
    project: Path, hub: FakeHub, link: str
):
    (project / "configs").mkdir(exist_ok=True)
    (project / "configs/aws.yaml").write_text("region: eu-west-1\n")
    (project.parent / "outside.png").write_bytes(b"png")
    with (project / "README.md").open("a", encoding="utf-8") as handle:
        handle.write(f"\n![a figure]({link})\n")

    result = deploy(project, hub)

    assert_one_line_error(result, f"refusing to copy {link}", "reports/figures/ or docs/")
    assert nothing_uploaded(hub)


def test_a_symlink_out_of_the_project_is_not_followed(project: Path, hub: FakeHub):
    outside = project.parent / "private.png"
    outside.write_bytes(b"not for the Space")
    figures = project / "reports/figures"
    figures.mkdir(parents=True, exist_ok=True)
    (figures / "leak.png").symlink_to(outside)
    with (project / "README.md").open("a", encoding="utf-8") as handle:
        handle.write("\n![chart](reports/figures/leak.png)\n")

    result = deploy(project, hub)

    assert_one_line_error(result, "refusing to copy reports/figures/leak.png", "symlinks out")
    assert nothing_uploaded(hub)


@pytest.mark.parametrize("link", ["dist/space", "dist"])
def test_a_symlinked_build_folder_is_refused_and_nothing_outside_is_deleted(
    project: Path, hub: FakeHub, link: str
):
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("precious")
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(elsewhere, target_is_directory=True)

    result = deploy(project, hub)

    assert_one_line_error(result, "is a symlink", "remove the link")
    assert (elsewhere / "keep.txt").read_text() == "precious"
    assert [path.name for path in elsewhere.iterdir()] == ["keep.txt"]
    assert nothing_uploaded(hub)


GRADIO = UiChoice("gradio", "--ui gradio")


@pytest.mark.parametrize(
    "row",
    ["configs/aws.yaml,nut,1", "data/raw/../../configs/aws.yaml,nut,1", "/etc/hostname,nut,1"],
)
def test_a_test_split_row_outside_data_is_not_shipped_as_an_example(tmp_path: Path, row: str):
    project = image_project(tmp_path / "parts", ["data/raw/bolt.png,bolt,0", row])

    with pytest.raises(PocgenError, match=r"leads outside data/, where examples must come from"):
        build_space(project, IMAGE_ANSWERS, GRADIO)
    assert not (project / SPACE_DIR).exists()


def test_the_examples_inside_data_are_shipped(tmp_path: Path):
    project = image_project(tmp_path / "parts", ["data/raw/bolt.png,bolt,0"])

    build = build_space(project, IMAGE_ANSWERS, GRADIO)

    assert "data/raw/bolt.png" in build.origins and "models/model.onnx" in build.origins


def test_an_example_over_the_cap_is_refused(tmp_path: Path):
    project = image_project(tmp_path / "parts", ["data/raw/bolt.png,bolt,0"])
    (project / "data/raw/bolt.png").write_bytes(b"0" * (EXAMPLE_MAX_BYTES + 1))

    with pytest.raises(PocgenError, match=r"data/raw/bolt.png is 5.0 MiB, over the 5 MiB cap"):
        build_space(project, IMAGE_ANSWERS, GRADIO)


def test_the_web_demo_is_scanned_too(project: Path, hub: FakeHub):
    use_web_standin(project)
    line = plant_into(project / "reports/metrics.json")

    result = deploy(project, hub, "--ui", "web")

    assert_one_line_error(result, f"reports/metrics.json line {line} (AWS Access Key")
    assert nothing_uploaded(hub)


def test_the_scan_fails_closed_without_its_plugins(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(secrets, "CUSTOM_PLUGINS", (*secrets.CUSTOM_PLUGINS, "NoSuchDetector"))

    with pytest.raises(PocgenError, match="cannot load its detect-secrets plugins"):
        find_secrets(tmp_path, {}, tmp_path)
