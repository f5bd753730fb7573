"""The `label` stage of generated projects against a real Label Studio on 127.0.0.1.

One server for the whole module (a copy of a migrated data dir starts in seconds). Projects are
rendered from the built-in template; annotations are created through the API as an annotator's
browser would, then pulled and trained on, in smoke mode.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from dotenv import dotenv_values, set_key
from known_artifacts import render
from label_studio_sdk import LabelStudio
from label_studio_server import (
    LabelStudioServer,
    free_port,
    label_studio_bin,
    migrated_data_dir,
    start_server,
)
from report_schemas import strict_problem
from sklearn.metrics import cohen_kappa_score
from smoke_project import package_of, project_env

pytestmark = [pytest.mark.labeling, pytest.mark.server, pytest.mark.training]


@pytest.fixture(scope="module")
def document_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder Label Studio may serve local files from; every project is rendered in it."""
    return tmp_path_factory.mktemp("labeling")


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory: pytest.TempPathFactory, document_root: Path):
    server = start_server(tmp_path_factory.mktemp("label-studio"), document_root)
    print(f"Label Studio up in {server.startup_s:.1f} s on {server.url}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(label_studio: LabelStudioServer) -> LabelStudio:
    return LabelStudio(base_url=label_studio.url, api_key=label_studio.access_token)


@pytest.fixture(scope="module")
def annotators(admin: LabelStudio) -> dict[str, int]:
    """Two annotators' user ids: the admin files their annotations, as an import would."""
    return {
        name: admin.users.create(username=name, email=f"{name}@example.com").id
        for name in ("ann", "bob")
    }


def stage(
    project: Path, *args: str, server: LabelStudioServer | None = None, token: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m <package> ARGS` in the project. With `server`, the settings come from the
    environment; without, from the project's .env, as a user's shell would have it."""
    env = {k: v for k, v in project_env(project).items() if not k.startswith("LABEL_STUDIO_")}
    env["COLUMNS"] = "250"
    if server is not None:
        env.update(
            LABEL_STUDIO_URL=server.url,
            LABEL_STUDIO_API_KEY=token or server.access_token,
            LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(server.document_root),
        )
    return subprocess.run(
        [sys.executable, "-m", package_of(project), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def ok(project: Path, *args: str, **settings: Any) -> str:
    done = stage(project, *args, **settings)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def fails(project: Path, *args: str, **settings: Any) -> str:
    """The one-line error of a stage that must fail cleanly (exit 1, no traceback)."""
    done = stage(project, *args, **settings)
    assert done.returncode == 1, f"{args} should fail:\n{done.stdout}\n{done.stderr}"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


def project_id(project: Path) -> int:
    return json.loads((project / ".label-studio/project.json").read_text())["project_id"]


def tasks_of(admin: LabelStudio, project: Path) -> list[Any]:
    return sorted(admin.tasks.list(project=project_id(project)), key=lambda task: task.id)


def annotate(
    admin: LabelStudio, tasks: list[Any], result_of: Callable[[dict], list[dict]], user: int
) -> None:
    for task in tasks:
        admin.annotations.create(
            task.id, result=result_of(task.data), completed_by=user, lead_time=4.2
        )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# --- detection: PAT from the environment, pre-annotations, agreement by box IoU -------------


def yolo_lines(path: Path) -> list[tuple[int, float, float, float, float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(int(c), float(x), float(y), float(w), float(h)) for c, x, y, w, h in rows]


def rectangles(boxes: list[tuple], classes: list[str], shift: float = 0.0) -> list[dict]:
    """YOLO boxes as the rectangles an annotator draws (percent of the image, top-left corner)."""
    return [
        {
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "value": {
                "x": 100 * (cx - w / 2 + shift * w),
                "y": 100 * (cy - h / 2),
                "width": 100 * w,
                "height": 100 * h,
                "rotation": 0,
                "rectanglelabels": [classes[class_id]],
            },
        }
        for class_id, cx, cy, w, h in boxes
    ]


def test_detection_sample_push_annotate_pull_train(label_studio, admin, annotators, document_root):
    project = render(
        document_root / "tool-finder", task="object-detection", project_name="Tool Finder"
    )
    classes = yaml.safe_load((project / "params.yaml").read_text())["classes"]
    timings = {}
    started = time.monotonic()
    for args in (("sample", "--smoke"), ("split",), ("train", "--smoke"), ("export",)):
        ok(project, *args)
    timings["model for pre-annotations"] = time.monotonic() - started

    # Six images lose their labels: they are the new, unlabeled photos to label.
    labels_dir = project / "data/labels"
    chosen = sorted(labels_dir.glob("*.txt"))[:6]
    truth = {path.stem: yolo_lines(path) for path in chosen}
    for path in chosen:
        path.unlink()

    started = time.monotonic()
    pushed = ok(project, "label", "push", server=label_studio)
    timings["push"] = time.monotonic() - started
    assert "Pushed 6 new items" in pushed and "pre-annotated with model-" in pushed
    ls_project = admin.projects.get(project_id(project))
    assert ls_project.sampling == "Uncertainty sampling"
    tasks = tasks_of(admin, project)
    assert sorted(Path(task.data["item"]).stem for task in tasks) == sorted(truth)
    # Every task carries the current model's guess, and the least sure come first.
    assert {p.model_version for t in tasks for p in t.predictions} == {ls_project.model_version}
    scores = [task.predictions[0].score for task in tasks]
    assert scores == sorted(scores)
    # Images are read straight from data/raw through the local-files storage.
    picture = httpx.get(
        label_studio.url + tasks[0].data["image"],
        headers={"Authorization": f"Token {label_studio.legacy_token}"},
    )
    assert picture.content == (project / "data/raw" / tasks[0].data["item"]).read_bytes()

    assert "Pushed 0 new items" in ok(project, "label", "push", server=label_studio)
    again = tasks_of(admin, project)
    assert [t.id for t in again] == [t.id for t in tasks]
    assert all(len(task.predictions) == 1 for task in again)  # no duplicate pre-annotations

    # bob labels two images first (one exactly, one a little off), then ann labels all six:
    # ann's later annotations become the labels, the pairs measure agreement.
    with_boxes = [task for task in tasks if truth[Path(task.data["item"]).stem]][:2]

    def drawn(shift: float = 0.0) -> Callable[[dict], list[dict]]:
        return lambda data: rectangles(truth[Path(data["item"]).stem], classes, shift)

    annotate(admin, with_boxes[:1], drawn(), annotators["bob"])
    annotate(admin, with_boxes[1:], drawn(shift=0.1), annotators["bob"])
    annotate(admin, tasks, drawn(), annotators["ann"])

    started = time.monotonic()
    pulled = ok(project, "label", "pull", server=label_studio)
    timings["pull"] = time.monotonic() - started
    assert "6 new, 0 updated, 0 unchanged" in pulled
    for stem, boxes in truth.items():
        got = yolo_lines(labels_dir / f"{stem}.txt")
        assert [b[0] for b in got] == [b[0] for b in boxes]
        assert got == [pytest.approx(box, abs=1e-5) for box in boxes]
    coco = json.loads((labels_dir / "coco.json").read_text())
    assert coco["categories"] == [{"id": i, "name": name} for i, name in enumerate(classes)]
    assert len(coco["images"]) == len(list(labels_dir.glob("*.txt")))
    annotated = {image["file_name"]: image for image in coco["images"]}
    assert {annotated[t.data["item"]]["annotator"] for t in tasks} == {"ann@example.com"}
    report = json.loads((project / "reports/labels.json").read_text())
    assert strict_problem(report, "labels") is None
    assert report["annotators"] == {"ann@example.com": 6}
    assert report["rejected"] == []
    agreement = report["agreement"]
    assert agreement["pairs"] == 2
    assert agreement["overall"]["f1_50"] == 1.0
    shifted = 0.9 / 1.1  # a box shifted by 10% of its width overlaps 0.9 / 1.1
    boxes_exact, boxes_shifted = (len(truth[Path(t.data["item"]).stem]) for t in with_boxes)
    expected_iou = (boxes_exact + shifted * boxes_shifted) / (boxes_exact + boxes_shifted)
    assert agreement["overall"]["mean_iou"] == pytest.approx(expected_iou, abs=1e-3)

    before = snapshot(project / "data")
    assert "0 new, 0 updated, 6 unchanged" in ok(project, "label", "pull", server=label_studio)
    assert snapshot(project / "data") == before

    started = time.monotonic()
    ok(project, "split")
    assert "saved models/model.pt" in ok(project, "train", "--smoke")
    timings["split + train"] = time.monotonic() - started
    print("detection timings (s):", {k: round(v, 1) for k, v in timings.items()})


# --- classification: legacy token from .env, Cohen's kappa ----------------------------------


def choice(label: str) -> list[dict]:
    return [
        {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}
    ]


def last_labels(project: Path) -> dict[str, dict[str, str]]:
    with (project / "data/labels.csv").open(newline="") as handle:
        return {row["item"]: row for row in csv.DictReader(handle)}


def remove_labels(project: Path, count: int) -> dict[str, str]:
    """Drop the labels of `count` items (they become new, unlabeled items); return the truth."""
    path = project / "data/labels.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    removed, kept = rows[:count], rows[count:]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return {row["item"]: row["label"] for row in removed}


def write_env(project: Path, server: LabelStudioServer, token: str) -> None:
    (project / ".env").write_text(
        f"LABEL_STUDIO_URL={server.url}\nLABEL_STUDIO_API_KEY={token}\n"
        f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={server.document_root}\n"
    )


def test_classification_sample_push_annotate_pull_train(
    label_studio, admin, annotators, document_root
):
    project = render(
        document_root / "defect-spotter", task="image-classification", project_name="Defect Spotter"
    )
    ok(project, "sample", "--smoke")
    truth = remove_labels(project, 6)
    write_env(project, label_studio, label_studio.legacy_token)  # a legacy token, from .env

    pushed = ok(project, "label", "push")
    assert "Pushed 6 new items" in pushed and "pre-annotated" not in pushed  # no model yet
    assert "Pushed 0 new items" in ok(project, "label", "push")
    tasks = tasks_of(admin, project)
    assert sorted(task.data["item"] for task in tasks) == sorted(truth)

    classes = yaml.safe_load((project / "params.yaml").read_text())["classes"]
    other = {name: next(c for c in classes if c != name) for name in classes}
    # bob agrees on two items and disagrees on a third; ann labels all six, last.
    annotate(admin, tasks[:2], lambda d: choice(truth[d["item"]]), annotators["bob"])
    annotate(admin, tasks[2:3], lambda d: choice(other[truth[d["item"]]]), annotators["bob"])
    annotate(admin, tasks, lambda d: choice(truth[d["item"]]), annotators["ann"])

    assert "6 new, 0 updated, 0 unchanged" in ok(project, "label", "pull")
    rows = last_labels(project)
    for item, label in truth.items():
        assert rows[item]["label"] == label
        assert rows[item]["annotator"] == "ann@example.com"
        assert rows[item]["labeled_at"].endswith("+00:00")
    report = json.loads((project / "reports/labels.json").read_text())
    assert strict_problem(report, "labels") is None
    bob = [truth[t.data["item"]] for t in tasks[:2]] + [other[truth[tasks[2].data["item"]]]]
    ann = [truth[t.data["item"]] for t in tasks[:3]]
    assert report["agreement"]["pairs"] == 3
    assert report["agreement"]["overall"]["kappa"] == pytest.approx(
        cohen_kappa_score(bob, ann), abs=1e-4
    )

    before = snapshot(project / "data")
    assert "0 new, 0 updated, 6 unchanged" in ok(project, "label", "pull")
    assert snapshot(project / "data") == before

    ok(project, "split")
    assert "saved models/model.pt" in ok(project, "train", "--smoke")


# --- every error of the issue: one line naming the fix, nothing lost ----------------------


def test_errors_name_the_fix_and_lose_nothing(label_studio, admin, annotators, document_root):
    project = render(
        document_root / "error-cases", task="image-classification", project_name="Error Cases"
    )
    ok(project, "sample", "--smoke")
    truth = remove_labels(project, 4)
    labels_csv = project / "data/labels.csv"

    down = LabelStudioServer(**{**label_studio.__dict__, "url": f"http://127.0.0.1:{free_port()}"})
    assert "is not reachable" in fails(project, "label", "push", server=down)
    refused = fails(project, "label", "push", server=label_studio, token="not-a-real-token")
    assert "refused the API key (401" in refused and "LABEL_STUDIO_API_KEY" in refused
    assert "not-a-real-token" not in refused
    assert "label push" in fails(project, "label", "pull", server=label_studio)  # never pushed

    ok(project, "label", "push", server=label_studio)
    tasks = tasks_of(admin, project)

    # An unknown label (Label Studio accepts it) is rejected with a report; the rest is saved.
    annotate(admin, tasks[:1], lambda d: choice(truth[d["item"]]), annotators["ann"])
    annotate(admin, tasks[1:2], lambda d: choice("bogus"), annotators["ann"])
    rejected = fails(project, "label", "pull", server=label_studio)
    assert "label 'bogus' is not one of the classes" in rejected
    assert last_labels(project)[tasks[0].data["item"]]["annotator"] == "ann@example.com"
    report = json.loads((project / "reports/labels.json").read_text())
    assert strict_problem(report, "labels") is None
    assert [r["task"] for r in report["rejected"]] == [tasks[1].id]
    bad = admin.annotations.list(tasks[1].id)[0]
    admin.annotations.delete(bad.id)
    ok(project, "label", "pull", server=label_studio)

    # A class added to params.yaml: pull goes on checking labels by name; push offers the class.
    params = project / "params.yaml"
    params.write_text(
        params.read_text().replace(
            'classes: ["ok", "defect"]', 'classes: ["ok", "defect", "scratch"]'
        )
    )
    assert "0 new, 0 updated, 1 unchanged" in ok(project, "label", "pull", server=label_studio)
    assert "Classes changed" in ok(project, "label", "push", server=label_studio)
    assert "scratch" in admin.projects.get(project_id(project)).label_config

    # An image moved away after labeling is named in the error, and nothing is written.
    item = tasks[2].data["item"]
    annotate(admin, tasks[2:3], lambda d: choice(truth[d["item"]]), annotators["ann"])
    outside = project / Path(item).name
    (project / "data/raw" / item).rename(outside)
    before = labels_csv.read_bytes()
    gone = fails(project, "label", "pull", server=label_studio)
    assert f"image {item} is no longer in data/raw" in gone and "put it back" in gone
    assert labels_csv.read_bytes() == before
    outside.rename(project / "data/raw" / item)
    ok(project, "label", "pull", server=label_studio)
    before = labels_csv.read_bytes()

    # The project was deleted on the server: pull says to push; push makes a new one.
    admin.projects.delete(project_id(project))
    deleted = fails(project, "label", "pull", server=label_studio)
    assert "deleted" in deleted and "label push" in deleted
    assert labels_csv.read_bytes() == before
    recreated = ok(project, "label", "push", server=label_studio)
    assert "is gone" in recreated and "creating a new one" in recreated
    labeled_here = set(last_labels(project))
    assert {t.data["item"] for t in tasks_of(admin, project)} == set(truth) - labeled_here


# --- the serve script: Label Studio's own `start`, a legacy token in .env ------------------


def serve_script(project: Path, *args: str, path: str) -> subprocess.Popen:
    """`python scripts/serve_label_studio.py ARGS` in the project, as `make label-serve` runs it,
    with HOST and PORT set the way shells and CI often have them."""
    env = {k: v for k, v in project_env(project).items() if not k.startswith("LABEL_STUDIO_")}
    env.update(PATH=path, HOST="0.0.0.0", PORT="1")
    return subprocess.Popen(
        [sys.executable, "scripts/serve_label_studio.py", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def serve_until_ready(project: Path, port: int, path: str) -> tuple[subprocess.Popen, list[str]]:
    """Start the script and wait for its ready line; the output keeps being collected."""
    serve = serve_script(project, "--port", str(port), path=path)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(serve.stdout), daemon=True).start()
    started = time.monotonic()
    while not any("is running at" in line for line in output):
        assert serve.poll() is None, "".join(output)
        assert time.monotonic() - started < 240, "".join(output)
        time.sleep(0.2)
    print(f"serve script ready in {time.monotonic() - started:.1f} s")
    return serve, output


def stop_with_ctrl_c(serve: subprocess.Popen, output: list[str]) -> str:
    serve.send_signal(signal.SIGINT)
    serve.wait(timeout=30)
    time.sleep(0.2)  # the reader thread takes the last lines
    printed = "".join(output)
    assert serve.returncode == 0, printed
    return printed


def test_serve_script_starts_label_studio_with_a_login_and_token_in_env(document_root):
    project = render(
        document_root / "ticket-router", task="text-classification", project_name="Ticket Router"
    )
    program = label_studio_bin()
    with_label_studio = f"{os.environ['PATH']}{os.pathsep}{program.parent}"
    # Refused before anything starts: no Label Studio on PATH, or a busy port (Label Studio
    # would silently move to the next one).
    missing = serve_script(project, path="/usr/bin:/bin")
    assert missing.wait(timeout=60) == 1
    assert "pipx install 'label-studio==1.23.*'" in missing.stdout.read()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = serve_script(project, "--port", str(busy.getsockname()[1]), path=with_label_studio)
        assert taken.wait(timeout=60) == 1
        assert "is in use: pass another --port" in taken.stdout.read()
    assert not (project / ".env").exists()

    # Skip the 20-80 s of database migrations; the first start is otherwise unchanged.
    shutil.copytree(migrated_data_dir(program), project / ".label-studio/data")
    port = free_port()
    serve, output = serve_until_ready(project, port, with_label_studio)
    try:
        settings = dotenv_values(project / ".env")
        assert settings["LABEL_STUDIO_URL"] == f"http://127.0.0.1:{port}"
        assert (project / ".env").stat().st_mode & 0o077 == 0
        token = settings["LABEL_STUDIO_API_KEY"]
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "UP"}
        client = LabelStudio(base_url=settings["LABEL_STUDIO_URL"], api_key=token)
        assert client.users.whoami().email == "you@example.com"
        ok(project, "sample", "--smoke")
        truth = remove_labels(project, 3)
        assert "Pushed 3 new items" in ok(project, "label", "push")  # settings from .env alone
    finally:
        printed = stop_with_ctrl_c(serve, output)
    assert token not in printed and settings["LABEL_STUDIO_PASSWORD"] not in printed
    with pytest.raises(httpx.ConnectError):  # the server went down with the script
        httpx.get(f"http://127.0.0.1:{port}/health")

    # A personal access token (a JWT) copied from Account & Settings into .env works as well.
    serve, output = serve_until_ready(project, port, with_label_studio)
    try:
        legacy = {"Authorization": f"Token {token}"}
        created = httpx.post(f"http://127.0.0.1:{port}/api/token/", headers=legacy)
        access_token = created.json()["token"]
        set_key(project / ".env", "LABEL_STUDIO_API_KEY", access_token)
    finally:
        stop_with_ctrl_c(serve, output)

    # A later start keeps the login and the token; the tasks are still there.
    serve, output = serve_until_ready(project, port, with_label_studio)
    try:
        assert dotenv_values(project / ".env") == {**settings, "LABEL_STUDIO_API_KEY": access_token}
        for task in tasks_of(client, project):
            chosen = {"choices": [truth[task.data["item"]]]}
            result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": chosen}]
            client.annotations.create(task.id, result=result)
        assert "3 new" in ok(project, "label", "pull")
        assert {item: last_labels(project)[item]["label"] for item in truth} == truth
    finally:
        stop_with_ctrl_c(serve, output)
