"""A new user's own photos, through the generated README's "Use your own data" commands.

The project is the built-in template's image classifier. Its photo folder is made from real
photographs that scikit-learn ships (china.jpg and flower.jpg: one class each), cropped and
saved the ways phones and editors save them, plus the odd files a real folder holds. The README's
commands run literally, as subprocesses, with smoke settings; each step checks what the user
sees and what lands in data/: a first run that lists every bad file and keeps nothing
half-written, a validate that stops on the photo filed under both classes, a rerun that finishes
the job, and `predict` on a new photo.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
import yaml
from known_artifacts import render
from PIL import Image
from sklearn.datasets import load_sample_image
from smoke_project import package_of, project_env

pytestmark = pytest.mark.training

PER_CLASS = 8
COLLECTED = 2 * PER_CLASS + 7  # plus 5 other forms in the first class, 2 in the second


def run(project: Path, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=project, env={**project_env(project), "COLUMNS": "200"},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def one_line(text: str) -> str:
    return " ".join(text.split())


def crops(name: str, count: int) -> list[Image.Image]:
    """`count` different 96x72 crops of a real photo shipped with scikit-learn."""
    photo = Image.fromarray(load_sample_image(name))  # 640 x 427
    return [photo.crop((40 * i, 20 * (i % 3), 40 * i + 240, 20 * (i % 3) + 180)).resize((96, 72))
            for i in range(count)]


def decompression_bomb(path: Path) -> None:
    """A PNG whose header claims 15000 x 15000 pixels (issue #12's case): a few bytes on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", 15000, 15000, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def phone_folder(root: Path, classes: list[str]) -> dict[str, Path]:
    """PHOTOS/<class>/ of real photos in the forms phones and editors save; returns the odd files.

    Besides plain JPEGs: an iPhone's HEIC, an EXIF-rotated JPEG, a 16-bit PNG, a transparent
    PNG, a CMYK JPEG and a palette PNG; a name with spaces and non-ASCII; the same photo under
    both classes; and four files no stage can use (truncated, empty, a `.heic` that is not one,
    a decompression bomb).
    """
    first, second = classes[:2]
    for label, source in ((first, "china.jpg"), (second, "flower.jpg")):
        folder = root / label
        folder.mkdir(parents=True)
        for index, image in enumerate(crops(source, PER_CLASS)):
            image.save(folder / f"IMG_{index:04d}.jpg", quality=92)
    extra = crops("china.jpg", PER_CLASS + 5)[PER_CLASS:]
    pillow_heif.register_heif_opener()  # the project reads HEIC with its `heic` extra
    extra[4].save(root / first / "IMG_4032.HEIC")
    sideways = extra[0].rotate(90, expand=True)
    exif = sideways.getexif()
    exif[0x0112] = 8  # "turn 90 degrees counter-clockwise to view"
    sideways.save(root / first / "IMG_rotated.jpg", exif=exif)
    gray16 = np.asarray(extra[1].convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray16).save(root / first / "scan 16-bit.png")
    extra[2].convert("RGBA").save(root / first / "cut out.png")
    extra[3].convert("CMYK").save(root / first / "print_cmyk.jpg")
    flower = crops("flower.jpg", PER_CLASS + 2)[PER_CLASS:]
    flower[0].quantize(64).save(root / second / "palette.png")
    flower[1].save(root / second / "Blüte am Fenster 2.jpg")
    # The same photo under both classes: second/IMG_0000.jpg becomes first/IMG_0000.jpg.
    (root / second / "IMG_0000.jpg").write_bytes((root / first / "IMG_0000.jpg").read_bytes())
    data = (root / first / "IMG_0001.jpg").read_bytes()
    odd = {
        "truncated": root / first / "truncated.jpg",
        "empty": root / second / "empty.jpg",
        "heic": root / second / "IMG_9999.heic",
        "bomb": root / first / "huge.png",
    }
    odd["truncated"].write_bytes(data[: len(data) // 2])
    odd["empty"].write_bytes(b"")
    odd["heic"].write_bytes(b"this is a JPEG renamed, or nothing at all")
    decompression_bomb(odd["bomb"])
    return odd


def readme_commands(project: Path) -> list[str]:
    """The first bash block of the README's "Use your own data" section, without comments."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use your own data", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the section has no bash block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def as_argv(command: str, photos: Path, new_photo: Path) -> list[str]:
    """A README command with its placeholders filled in, run with this test's Python, in smoke
    mode (the same stages, on a tiny slice, in seconds)."""
    command = command.replace("PHOTOS/", shlex.quote(f"{photos}/"))
    argv = shlex.split(command.replace("NEW_PHOTO.jpg", shlex.quote(str(new_photo))))
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    assert argv[:2] == ["make", "own-data"], command
    return [*argv, "ARGS=--smoke", f"PYTHON={sys.executable}"]


def data_state(project: Path) -> dict[str, str]:
    """Every file under data/ and models/, by hash: what a failed command must leave alone."""
    return {
        path.relative_to(project).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("data", "models")
        for path in sorted((project / folder).rglob("*"))
        if path.is_file()
    }


def manifest_matches_raw(project: Path) -> set[str]:
    """Nothing half-written: the items in data/raw are exactly the manifest's rows."""
    raw = project / "data" / "raw"
    files = {path.relative_to(raw).as_posix() for path in raw.rglob("*") if path.is_file()}
    lines = (project / "data" / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert files == {line.split(",")[0].strip('"') for line in lines}
    return files


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("own") / "defect-spotter", labeling="none", ui="gradio",
                  notebooks=False)


def test_readme_commands_take_a_phone_folder_to_a_prediction(project: Path, tmp_path: Path):
    classes = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["classes"]
    photos = tmp_path / "My Photos"
    odd = phone_folder(photos, classes)
    new_photo = tmp_path / "new photo.png"
    crops("flower.jpg", PER_CLASS + 3)[-1].convert("RGBA").save(new_photo)
    commands = [as_argv(line, photos, new_photo) for line in readme_commands(project)]
    remove_sample, own_data, predict = commands  # what the README tells a user to run

    assert run(project, remove_sample).returncode == 0  # "only if you ran the sample before"

    # 1. The first run: every bad file named with its reason; the good ones collected whole.
    first = run(project, own_data)
    err = one_line(first.stderr)
    assert first.returncode != 0
    assert "labels taken from the subfolder names:" in err
    assert f"{odd['truncated']}: not a readable image" in err
    assert f"{odd['empty']}: not a readable image" in err
    assert f"{odd['heic']}: not a readable image" in err  # pillow-heif is installed here
    assert f"{odd['bomb']}: too large to open safely" in err
    assert "4 input(s) skipped, listed above" in err
    assert "Traceback" not in first.stderr
    collected = manifest_matches_raw(project)
    assert len(collected) == COLLECTED
    manifest = (project / "data" / "manifest.csv").read_text(encoding="utf-8")
    assert "16-bit scaled to 8-bit" in manifest and "CMYK converted to RGB" in manifest
    assert "EXIF rotation applied" in manifest
    assert (project / "data" / "raw" / photos.name / "IMG_4032.jpg").is_file()  # HEIC, read
    assert not (project / "data" / "splits").exists()  # make stopped at collect

    # 2. The user deletes the files it named and reruns: validate stops on the photo filed
    # under both classes, naming both copies.
    for path in odd.values():
        path.unlink()
    second = run(project, own_data)
    err = one_line(second.stderr)
    assert second.returncode != 0
    assert f"{COLLECTED} file(s) were collected before" in err
    copy = rf"({re.escape(photos.name)}/IMG_0000(?:-2)?\.jpg)"
    conflict = re.search(rf"label conflict: {copy} \((\w+)\) = {copy} \((\w+)\)", err)
    assert conflict, err
    assert {conflict.group(2), conflict.group(4)} == set(classes[:2])
    assert "pass --accept-conflicts" in err
    assert manifest_matches_raw(project) == collected  # the rerun copied nothing twice

    # 3. The wrong copy goes, as the message says; the rerun trains, exports and evaluates.
    wrong = conflict.group(1) if conflict.group(2) == classes[1] else conflict.group(3)
    (project / "data" / "raw" / wrong).unlink()
    third = run(project, own_data)
    assert third.returncode == 0, third.stdout[-2000:] + third.stderr[-3000:]
    assert (project / "models" / "model.onnx").is_file()
    assert (project / "reports" / "metrics.json").is_file()

    # 4. A new photo, transparent, as a phone's screenshot would be.
    answer = run(project, predict)
    assert answer.returncode == 0, answer.stderr
    assert re.search(rf"({'|'.join(classes)}|unsure)", answer.stdout)

    # 5. `make pipeline` now skips the sample, and says so.
    pipeline = run(project, ["make", "pipeline", "ARGS=--smoke", f"PYTHON={sys.executable}"])
    assert pipeline.returncode == 0, pipeline.stdout[-2000:] + pipeline.stderr[-2000:]
    assert "data/ holds your own data, so the built-in sample is NOT added" in pipeline.stdout
    assert ",sample," not in (project / "data" / "manifest.csv").read_text(encoding="utf-8")


def test_help_shows_the_example_commands_on_their_own_lines(project: Path):
    package = package_of(project)
    for stage, example in (("collect", f"python -m {package} collect folder PHOTOS/"),
                           ("predict", f"python -m {package} predict photo.jpg")):
        shown = run(project, [sys.executable, "-m", package, stage, "--help"]).stdout
        assert any(line.strip().startswith(example) for line in shown.splitlines()), shown


def test_a_wrong_type_in_params_names_the_key_and_changes_nothing(project: Path):
    params = project / "params.yaml"
    original = params.read_text(encoding="utf-8")
    params.write_text(re.sub(r"(\n  epochs:) \d+", r"\1 banana", original), encoding="utf-8")
    try:
        before = data_state(project)
        result = run(project, [sys.executable, "-m", package_of(project), "train", "--smoke"])
    finally:
        params.write_text(original, encoding="utf-8")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: `train.epochs` must be a whole number, not 'banana'; fix it and rerun."
    ]
    assert data_state(project) == before


def test_a_helpdesk_csv_from_excel_to_a_prediction(tmp_path: Path):
    """The text project's README path: a CSV as Excel saves it (BOM, CRLF, quoted commas), with
    a `label` column and one text filed under two labels."""
    project = render(tmp_path / "ticket-router", task="text-classification", labeling="none",
                     ui="gradio", notebooks=False)
    classes = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["classes"]
    topics = {classes[0]: "invoice charged twice, refund", classes[1]: "app crashes on login",
              classes[2]: "change my email address"}
    rows = ["text,label"] + [f'"Ticket {i}: {topics[label]} (case {i * 7})",{label}'
                             for i in range(21) for label in [classes[i % 3]]]
    rows.append(f'"Ticket 0: {topics[classes[0]]} (case 0)",{classes[1]}')  # the conflict
    tickets = tmp_path / "helpdesk export.csv"
    tickets.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    # --smoke validates the first 24 texts: all 22 here.
    make = ["make", "own-data", f"SRC={tickets}", "ARGS=--smoke", f"PYTHON={sys.executable}"]

    first = run(project, make)
    err = one_line(first.stderr)
    assert first.returncode != 0
    assert "labels taken from the 'label' column of helpdesk export.csv" in err
    assert "label conflict: " in err
    assert f"helpdesk export-1 ({classes[0]})" in err and f"({classes[1]})" in err

    accepted = run(project, [*make, "VALIDATE_ARGS=--accept-conflicts"])
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    assert "collected 0 item(s)" in accepted.stderr  # the rerun adds nothing twice

    package = package_of(project)
    answer = run(project, [sys.executable, "-m", package, "predict", "app crashes on login"])
    assert answer.returncode == 1
    assert "pass them with --text" in answer.stderr and "Traceback" not in answer.stderr
    answer = run(project, [sys.executable, "-m", package, "predict", "--text",
                           "app crashes on login"])
    assert answer.returncode == 0 and classes[1] in answer.stdout
