"""Secrets where a text scan does not look, and what a Space makes public (issues 18 and 24).

A token planted in each hidden place a file can carry (ONNX metadata, PNG text chunks plain and
compressed, JPEG EXIF, WebP XMP, an image embedded in the README, a JSON escape, a cp1252
README, a latin-1 Python file, a path named like a swagger file) must be named in one line and
kept off the stand-in Hub. The allow-list allows a line of a file, never the whole scan; model
and dataset names are not secrets. Example photos go up without EXIF, GPS or XMP, and the plan
names every file of the user's that becomes public.
The planted values are assembled at run time so this file holds no credential-shaped literal.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from conftest import run_pocgen
from deploy_helpers import (
    IMAGE_ANSWERS,
    assert_one_line_error,
    deploy,
    image_project,
    nothing_uploaded,
    use_web_standin,
)
from fake_hub import FakeHub
from PIL import Image, PngImagePlugin

from pocgen.deploy import file_text, images
from pocgen.deploy.build import build_space
from pocgen.deploy.choice import UiChoice
from pocgen.deploy.paths import SPACE_DIR
from pocgen.deploy.run import show_plan
from pocgen.deploy.secret_plugins import SecretAssignmentDetector
from pocgen.deploy.secrets import find_secrets

pytest_plugins = ["deploy_fixtures"]

RANDOM = "Q7vX2mK9pL4sR8tW1yB6nD3fH5jZ0cG"
TOKEN = "hf" + "_" + RANDOM + "abc"  # a Hugging Face token's shape
KIND = "Hugging Face Token"
GPS = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # a position in Paris


def png(**chunks: str) -> bytes:
    """A small PNG whose text chunks are `chunks`: key -> text; a key ending in `_z` is
    written compressed (zTXt), one ending in `_i` as an international chunk (iTXt)."""
    info = PngImagePlugin.PngInfo()
    for key, text in chunks.items():
        if key.endswith("_i"):
            info.add_itxt(key, text, zip=True)
        else:
            info.add_text(key, text, zip=key.endswith("_z"))
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def photo(kind: str = "JPEG", description: str = "holiday", size=(12, 8), xmp: str = "") -> bytes:
    """A photo as a phone writes it: maker, model, time, a description, GPS, rotated 90°."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "PhoneMaker", "Phone 15", "2025:06:01 10:00:00"
    exif[0x010E] = description
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    exif.get_ifd(0x8825).update(GPS)
    out = io.BytesIO()
    options = {"xmp": xmp.encode()} if xmp else {}
    Image.new("RGB", size, "orange").save(out, format=kind, exif=exif, **options)
    return out.getvalue()


def in_readme(project: Path, name: str, data: bytes) -> str:
    """Put `data` in the project as a README figure; returns its path."""
    relative = f"reports/figures/{name}"
    (project / relative).parent.mkdir(parents=True, exist_ok=True)
    (project / relative).write_bytes(data)
    with (project / "README.md").open("a", encoding="utf-8") as handle:
        handle.write(f"\n![figure]({relative})\n")
    return relative


def xmp(text: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        f'22-rdf-syntax-ns#"><rdf:Description>{text}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )


CARRIERS = {
    "png-text": lambda: png(Comment="key " + TOKEN),
    "png-ztxt": lambda: png(Notes_z="key " + TOKEN),
    "png-itxt": lambda: png(Notes_i="key " + TOKEN),
    "jpeg-exif": lambda: photo(description="key " + TOKEN),
    "webp-xmp": lambda: photo("WEBP", xmp=xmp("key " + TOKEN)),
}


@pytest.mark.unit
@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_the_scan_reads_image_metadata(tmp_path: Path, carrier: str):
    name = f"leak.{carrier.split('-')[0]}"
    (tmp_path / name).write_bytes(CARRIERS[carrier]())
    found = [str(finding) for finding in find_secrets(tmp_path, {name: name}, tmp_path)]
    assert len(found) == 1 and found[0].startswith(f"{name} in its ") and KIND in found[0], found


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_a_token_in_image_metadata_never_reaches_the_hub(
    project: Path, hub: FakeHub, carrier: str, tmp_path: Path
):
    """A README figure goes up written again without its metadata, so the token stays home."""
    name = in_readme(project, f"leak.{carrier.split('-')[0]}", CARRIERS[carrier]())
    result = deploy(project, hub)
    assert result.exit_code == 0, result.stderr
    shipped = tmp_path / Path(name).name
    shipped.write_bytes(hub.spaces["alice/ticket-router"].files[name])
    assert not any(TOKEN in piece.text for piece in file_text.pieces(shipped))
    assert f"{name} (metadata removed)" in result.stdout


def test_a_token_in_onnx_metadata_never_reaches_the_hub(project: Path, hub: FakeHub):
    import onnx

    model = onnx.load(project / "models/model.onnx")
    entry = model.metadata_props.add()
    entry.key, entry.value = "note", TOKEN
    onnx.save(model, project / "models/model.onnx")

    result = deploy(project, hub)

    assert_one_line_error(result, "models/model.onnx in its ONNX metadata_props", KIND)
    assert nothing_uploaded(hub)


def test_an_image_embedded_in_the_readme_is_read_too(project: Path, hub: FakeHub):
    encoded = base64.b64encode(png(Comment=TOKEN)).decode()
    with (project / "README.md").open("a", encoding="utf-8") as handle:
        handle.write(f'\n<img src="data:image/png;base64,{encoded}">\n')
    result = deploy(project, hub)
    assert_one_line_error(result, "README.md in its embedded image 1 PNG Comment", KIND)
    assert nothing_uploaded(hub)


def test_a_token_written_with_json_escapes_is_found(project: Path, hub: FakeHub):
    metrics = project / "reports/metrics.json"
    escaped = "".join(f"\\u{ord(char):04x}" for char in TOKEN)
    metrics.write_text(metrics.read_text(encoding="utf-8")[:-2] + f', "note": "{escaped}"}}\n')
    json.loads(metrics.read_text(encoding="utf-8"))  # still valid JSON
    result = deploy(project, hub)
    assert_one_line_error(result, "reports/metrics.json in its JSON string", KIND)
    assert nothing_uploaded(hub)


@pytest.mark.parametrize(
    ("relative", "encoding", "odd_byte"),
    [("app/demo_support.py", "cp1252", b"\x80"), ("app/gradio_app.py", "latin-1", b"\x81")],
    ids=["cp1252-python", "latin-1-python"],
)
def test_text_that_is_not_utf8_is_scanned(
    project: Path, hub: FakeHub, relative: str, encoding: str, odd_byte: bytes
):
    path = project / relative
    planted = f"# price 5{odd_byte.decode(encoding)} caf\xe9\nHF = '{TOKEN}'\n".encode(encoding)
    path.write_bytes(path.read_bytes() + planted)
    line = path.read_bytes().count(b"\n")
    result = deploy(project, hub)
    assert_one_line_error(result, f"{relative} line {line} ({KIND}")
    assert nothing_uploaded(hub)


def test_a_readme_that_is_not_utf8_is_refused_before_anything_goes_up(project: Path, hub: FakeHub):
    """The README becomes the Space's card, which the Hub reads as UTF-8: one line, no upload."""
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes() + f"# price 5\u20ac\nHF = '{TOKEN}'\n".encode("cp1252"))
    result = deploy(project, hub)
    assert_one_line_error(result, "README.md is not UTF-8 text")
    assert nothing_uploaded(hub)


def test_no_path_is_skipped(project: Path, hub: FakeHub):
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><desc>token {TOKEN}</desc></svg>\n'
    name = in_readme(project, "swagger-api.svg", svg.encode())
    result = deploy(project, hub)
    assert_one_line_error(result, f"{name} line 1 ({KIND}")
    assert nothing_uploaded(hub)


# --- the allow-list allows a line, never the scan ------------------------------------------------


ALLOWLISTS_THAT_SILENCE = [
    (".", "must name a file and a pattern"),
    ('"dataset_token":', "must name a file and a pattern"),
    ("reports/metrics.json: .", "matches any line"),
    ("reports/metrics.json: .*", "matches any line"),
    ("reports/metrics.json: ^", "matches any line"),
    ("reports/metrics.json: (?s)", "matches any line"),
    ("*: token", "must name one file of the project"),
    ("../outside.json: token", "must name one file of the project"),
]


@pytest.mark.unit
@pytest.mark.parametrize(("entry", "message"), ALLOWLISTS_THAT_SILENCE)
def test_an_allowlist_entry_that_would_turn_the_scan_off_is_refused(
    tmp_path: Path, entry: str, message: str
):
    """A template can ship a .secrets-allowlist too: none of these may silence the scan."""
    from pocgen.deploy.secrets import allow_entries
    from pocgen.errors import PocgenError

    (tmp_path / ".secrets-allowlist").write_text(f"# shipped with the template\n{entry}\n")
    with pytest.raises(PocgenError, match=f".secrets-allowlist line 2.*{re.escape(message)}"):
        allow_entries(tmp_path)


def test_a_deploy_with_an_allowlist_of_dot_uploads_nothing(project: Path, hub: FakeHub):
    (project / ".secrets-allowlist").write_text(".\n")
    metrics = project / "reports/metrics.json"
    data = json.loads(metrics.read_text(encoding="utf-8"))
    metrics.write_text(json.dumps({**data, "dataset_token": RANDOM}, indent=2), encoding="utf-8")

    result = deploy(project, hub)

    assert_one_line_error(result, ".secrets-allowlist line 1", "must name a file and a pattern")
    assert nothing_uploaded(hub)


def test_what_the_allowlist_lets_through_is_listed_in_the_plan(project: Path, hub: FakeHub):
    metrics = project / "reports/metrics.json"
    data = json.loads(metrics.read_text(encoding="utf-8"))
    metrics.write_text(json.dumps({**data, "dataset_token": RANDOM}, indent=2), encoding="utf-8")
    (project / ".secrets-allowlist").write_text('reports/metrics.json: "dataset_token":\n')

    result = deploy(project, hub, "--dry-run", "--ui", "gradio")

    assert result.exit_code == 0, result.stderr
    assert "Allowed by .secrets-allowlist line 1: reports/metrics.json line" in result.stdout


# --- model and dataset names are not secrets ---------------------------------------------------

HONEST = [
    "tokenizer: distilbert-base-uncased-finetuned-sst-2-english",
    'cache_key = "resnet18-imagenet-1k-v2"',
    'model_id = "google/vit-base-patch16-224-in21k"',
    'dataset_key: "imagenet-1k/validation-2012"',
    'token_url = "https://example.com/oauth2/v1/token"',
    'secretary = "Q7vX2mK9pL4sR8tW1yB6nD3fH5jZ0cG"',
    "max_tokens = 4096",
]
SECRET = [
    f"MY_SERVICE_TOKEN={RANDOM}",
    f'apiToken = "{RANDOM}"',
    f'"dataset_token": "{RANDOM}"',
    f"DB_PASSWORD={RANDOM}",
    "DB_PASSWORD=correct-horse-battery-staple-9",
    f"VALUE = 'PAYMENTS_KEY: {RANDOM}'",
]


@pytest.mark.unit
@pytest.mark.parametrize("line", HONEST)
def test_a_name_is_not_a_secret(line: str):
    assert list(SecretAssignmentDetector().analyze_string(line)) == []


@pytest.mark.unit
@pytest.mark.parametrize("line", SECRET)
def test_a_random_value_with_a_secret_name_is(line: str):
    assert list(SecretAssignmentDetector().analyze_string(line)) != []


def test_model_names_deploy(project: Path, hub: FakeHub):
    with (project / "app/gradio_app.py").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(f"# {line}" for line in HONEST[:4]) + "\n")
    result = deploy(project, hub)
    assert result.exit_code == 0, result.stderr


# --- notebooks, and the scan's view of files ----------------------------------------------------


@pytest.mark.unit
def test_a_notebook_output_image_and_json_escapes_are_read(tmp_path: Path):
    image = base64.b64encode(png(Software="x " + TOKEN)).decode()
    escaped = "".join(f"\\u{ord(char):04x}" for char in TOKEN)
    notebook = (
        '{"cells": [{"cell_type": "code", "source": ["print(1)"], "outputs": [{"output_type": '
        f'"display_data", "data": {{"image/png": "{image}", "text/plain": ["{escaped}"]}}}}]}}]}}'
    )
    (tmp_path / "eda.ipynb").write_text(notebook)
    found = {str(f) for f in find_secrets(tmp_path, {"eda.ipynb": "eda.ipynb"}, tmp_path)}
    assert any("cell 1 output image PNG Software" in f for f in found), found
    assert any("JSON string" in f for f in found), found


@pytest.mark.unit
def test_onnx_strings_are_read_without_the_onnx_package():
    """A ModelProto by hand: producer_name (2), metadata_props (14: key 1, value 2), and a
    tensor's raw bytes that must not be mistaken for text."""

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    entry = field(1, b"note") + field(2, TOKEN.encode())
    model = (
        field(2, b"pocgen-test") + field(14, entry) + field(7, field(5, field(9, b"\x00\xff" * 20)))
    )
    found = dict((text, place) for place, text in file_text.protobuf_strings(model))
    assert found[TOKEN] == "metadata_props 14.2" and "pocgen-test" in found
    assert not any("\xff" in text for text in found)


# --- example photos go up without their metadata, and the plan says what becomes public ----------


def photo_project(root: Path) -> Path:
    """An image project whose two examples carry metadata: a phone photo (EXIF, GPS, XMP,
    rotated) and a PNG with text chunks."""
    return image_project(
        root,
        ["data/raw/bolt.jpg,bolt,0", "data/raw/nut.png,nut,1"],
        {"bolt.jpg": photo(xmp=xmp("private note")), "nut.png": png(Author="me", Where="48.85N")},
    )


def test_example_photos_go_up_without_exif_gps_or_xmp(tmp_path: Path):
    project = photo_project(tmp_path / "parts")
    original = (project / "data/raw/bolt.jpg").read_bytes()

    build = build_space(project, IMAGE_ANSWERS, UiChoice("gradio", "--ui gradio"))

    with Image.open(project / SPACE_DIR / "data/raw/bolt.jpg") as shipped:
        assert dict(shipped.getexif()) == {} and "xmp" not in shipped.info
        assert shipped.size == (8, 12)  # turned upright before the orientation tag went
    with Image.open(project / SPACE_DIR / "data/raw/nut.png") as shipped:
        assert shipped.text == {} and dict(shipped.getexif()) == {}
    assert {"data/raw/bolt.jpg", "data/raw/nut.png"} <= build.cleaned
    assert (project / "data/raw/bolt.jpg").read_bytes() == original  # the user's photo as it was


def test_the_plan_names_the_users_files_that_become_public(tmp_path: Path):
    from rich.console import Console

    project = photo_project(tmp_path / "parts")
    build = build_space(project, IMAGE_ANSWERS, UiChoice("gradio", "--ui gradio"))
    console = Console(record=True, width=300)
    show_plan(build, console)
    text = console.export_text()
    assert "data/raw/bolt.jpg (metadata removed)" in text
    public = text.split("become public with the Space: ")[1].splitlines()[0]
    assert public.split(", ") == sorted(
        [
            "README.md",
            "app/demo_support.py",
            "app/gradio_app.py",
            "data/raw/bolt.jpg",
            "data/raw/nut.png",
            "data/splits/test.csv",
            "models/labels.json",
            "models/model.onnx",
            "src/parts/inference.py",
        ]
    )


@pytest.mark.unit
def test_an_image_pocgen_cannot_rewrite_is_refused(tmp_path: Path):
    from pocgen.errors import PocgenError

    (tmp_path / "fake.png").write_bytes(b"not an image")
    with pytest.raises(PocgenError, match="fake.png is not an image pocgen can read"):
        images.write_without_metadata(tmp_path / "fake.png", tmp_path / "out.png", "fake.png")


def test_deploy_web_from_the_parent_folder(project: Path, hub: FakeHub):
    use_web_standin(project)
    result = run_pocgen(
        "deploy",
        project.name,
        "--ui",
        "web",
        "--dry-run",
        "--endpoint",
        hub.url,
        cwd=project.parent,
        env={"HF_TOKEN": hub.token},
    )
    assert result.exit_code == 0, result.stderr
    assert (project / SPACE_DIR / "index.html").is_file()


@pytest.mark.unit
def test_every_kind_of_secret_is_found_inside_a_binary_file(tmp_path: Path):
    """Each plant of the text-file test, between bytes no text scanner reads: the search of a
    binary's printable runs keeps every line a plugin flags."""
    from test_deploy_secrets import PLANTS

    blob = b"\x00\x01\xfe".join(text.encode() for _, text, _ in PLANTS)
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 64 + blob + b"\xff" * 64)
    found = find_secrets(tmp_path, {"weights.bin": "weights.bin"}, tmp_path)
    kinds = {kind for finding in found for kind in finding.kinds}
    assert {want for _, _, want in PLANTS if want} <= kinds, kinds
