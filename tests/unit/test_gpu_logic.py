"""`pocgen gpu`'s pure logic, in process: durations, what the upload leaves out, how pulled results
are put in place, the Kaggle log, the Colab link and the job program's own steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from pocgen.errors import PocgenError
from pocgen.gpu import remote_job
from pocgen.gpu.colab import colab_link
from pocgen.gpu.engine import duration, parse_timeout
from pocgen.gpu.kaggle import log_lines, slug_with
from pocgen.gpu.record import JobRecord, load, save
from pocgen.gpu.results import place, run_report
from pocgen.gpu.staging import staged, wanted

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90m", 5400), ("2h", 7200), ("1.5h", 5400), ("3600", 3600), ("45s", 45), ("1d", 86400)],
)
def test_timeouts_read_like_the_hub_cli(text: str, seconds: int):
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0", "-1h", "2 hours", ""])
def test_a_timeout_that_is_no_duration_is_refused(text: str):
    with pytest.raises(PocgenError, match="--timeout"):
        parse_timeout(text)


def test_durations_for_people():
    assert [duration(s) for s in (None, 42, 420, 3900)] == [
        "unknown time",
        "42 s",
        "7 min",
        "1 h 05 min",
    ]


@pytest.mark.parametrize(
    ("name", "uploaded"),
    [
        ("src/pkg/train.py", True),
        ("data/raw/cat/1.jpg", True),
        ("reports/metrics.json", True),
        ("models/model.onnx", False),
        (".pocgen/gpu.json", False),
        (".env", False),
        ("config/.env", False),
        (".venv/lib/site.py", False),
        ("data/raw/.git/HEAD", False),
        ("src/pkg/__pycache__/x.pyc", False),
        ("notes/models/x.txt", True),  # only the top-level models/ is the project's
    ],
)
def test_what_the_upload_leaves_out(name: str, uploaded: bool):
    assert wanted(name) is uploaded


def test_staging_outside_git_follows_gitignore_and_adds_data(tmp_path: Path):
    project = tmp_path / "p"
    (project / "data" / "raw").mkdir(parents=True)
    (project / "src").mkdir()
    (project / ".gitignore").write_text("data/raw/\nbuild/\n")
    (project / "src" / "a.py").write_text("print(1)\n")
    (project / "data" / "raw" / "1.jpg").write_bytes(b"jpg")
    (project / "build").mkdir()
    (project / "build" / "x.o").write_bytes(b"o")
    settings = {"run_id": "r1"}
    with staged(project, "pkg", "p", "r1", settings) as copy:
        assert copy.files == [
            ".gitignore",
            "data/raw/1.jpg",
            "src/a.py",
            ".pocgen/gpu_job.py",
            ".pocgen/gpu_job.json",
        ]
        assert json.loads((copy.folder / ".pocgen/gpu_job.json").read_text()) == settings
        assert (copy.folder / "data/raw/1.jpg").read_bytes() == b"jpg"
        folder = copy.folder
    assert not folder.exists()  # removed after the upload
    assert not (project / ".git").exists()  # git read the rules without a repository here


def record(tmp_path: Path, submitted: float) -> JobRecord:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(submitted))
    return JobRecord(engine="hf", run_id="r1", submitted_at=stamp, status="COMPLETED")


def fetched(tmp_path: Path, files: dict[str, bytes]) -> Path:
    scratch = tmp_path / "fetched"
    for name, data in files.items():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_bytes(data)
    return scratch


def test_pulled_files_replace_older_ones_and_leave_the_rest(tmp_path: Path):
    project = tmp_path / "p"
    (project / "models").mkdir(parents=True)
    (project / "reports").mkdir()
    (project / "models" / "model.onnx").write_bytes(b"cpu model")
    (project / "models" / "keep.bin").write_bytes(b"not the job's")
    (project / "reports" / "same.json").write_bytes(b"{}")
    old = time.time() - 3600
    for path in (project / "models" / "model.onnx", project / "reports" / "same.json"):
        os.utime(path, (old, old))
    scratch = fetched(
        tmp_path,
        {"models/model.onnx": b"gpu model", "reports/same.json": b"{}", "reports/new.json": b"1"},
    )

    placed = place(project, scratch, since=time.time() - 60, force=False)

    assert placed.written == ["models/model.onnx", "reports/new.json"]
    assert placed.unchanged == ["reports/same.json"]
    assert (project / "models" / "model.onnx").read_bytes() == b"gpu model"
    assert (project / "models" / "keep.bin").read_bytes() == b"not the job's"


def test_results_changed_after_submission_stop_the_whole_pull(tmp_path: Path):
    project = tmp_path / "p"
    (project / "models").mkdir(parents=True)
    (project / "models" / "model.onnx").write_bytes(b"retrained meanwhile")
    scratch = fetched(tmp_path, {"models/labels.json": b"[]", "models/model.onnx": b"gpu"})

    with pytest.raises(PocgenError, match="1 local result files changed.*--force"):
        place(project, scratch, since=time.time() - 60, force=False)
    assert not (project / "models" / "labels.json").exists()  # all or nothing
    place(project, scratch, since=time.time() - 60, force=True)
    assert (project / "models" / "model.onnx").read_bytes() == b"gpu"


def test_results_are_never_written_through_a_symlink(tmp_path: Path):
    project = tmp_path / "p"
    project.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "models").symlink_to(elsewhere)
    scratch = fetched(tmp_path, {"models/model.onnx": b"gpu"})
    with pytest.raises(PocgenError, match="not a plain file"):
        place(project, scratch, since=0, force=True)
    assert list(elsewhere.iterdir()) == []


def test_results_of_another_run_are_refused(tmp_path: Path):
    scratch = fetched(tmp_path, {"reports/gpu.json": json.dumps({"run_id": "other"}).encode()})
    with pytest.raises(PocgenError, match="belong to run other"):
        run_report(scratch, record(tmp_path, time.time()))
    with pytest.raises(PocgenError, match="no readable reports/gpu.json"):
        run_report(tmp_path / "empty", record(tmp_path, time.time()))


def test_the_record_round_trips_and_a_broken_one_is_one_line(tmp_path: Path):
    job = record(tmp_path, time.time())
    save(tmp_path, job)
    assert load(tmp_path) == job
    (tmp_path / ".pocgen" / "gpu.json").write_text("{not json")
    with pytest.raises(PocgenError, match="cannot be read.*pocgen gpu run"):
        load(tmp_path)


def test_kaggle_names_and_logs():
    assert slug_with("x", "-gpu") == "xx-gpu"  # Kaggle wants at least 6 characters
    assert len(slug_with("a" * 60, "-gpu-data")) == 50
    log = json.dumps([{"stream_name": "stdout", "time": 1.0, "data": "a\nb"}, {"data": "c\n"}])
    assert log_lines(log) == ["a", "bc"]
    assert log_lines("plain text\nlog") == ["plain text", "log"]


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/ana/spotter.git",
        "git@github.com:ana/spotter.git",
        "https://github.com/ana/spotter",
    ],
)
def test_the_colab_link_follows_the_github_remote(tmp_path: Path, remote: str):
    subprocess.run(["git", "init", "--quiet", "-b", "work", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", remote], check=True)
    assert colab_link(tmp_path) == (
        "https://colab.research.google.com/github/ana/spotter/blob/work/"
        "notebooks/train-on-colab.ipynb"
    )


def test_no_colab_link_without_a_github_remote(tmp_path: Path):
    assert colab_link(tmp_path) is None
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "https://gitlab.com/a/b"],
        check=True,
    )
    assert colab_link(tmp_path) is None


def test_the_job_program_finds_the_project_mounted_or_zipped(tmp_path: Path):
    mounted = tmp_path / "input"
    (mounted / ".pocgen").mkdir(parents=True)
    (mounted / ".pocgen" / "gpu_job.json").write_text("{}")
    (mounted / "params.yaml").write_text("seed: 1\n")
    (mounted / "params.yaml").chmod(0o444)  # a read-only mount
    copy = remote_job.find_project(mounted, tmp_path / "work")
    (copy / "params.yaml").write_text("seed: 2\n")  # the copy is writable
    kaggle = tmp_path / "kaggle" / "defect-spotter-gpu-data"
    kaggle.mkdir(parents=True)
    with zipfile.ZipFile(kaggle / "project.zip", "w") as archive:
        archive.writestr("params.yaml", "seed: 3\n")
    unzipped = remote_job.find_project(tmp_path / "kaggle", tmp_path / "work2")
    assert (unzipped / "params.yaml").read_text() == "seed: 3\n"
    with pytest.raises(SystemExit, match="no project under"):
        remote_job.find_project(tmp_path / "nothing", tmp_path / "work3")


def test_the_job_program_reports_what_the_stages_wrote(tmp_path: Path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "old.json").write_text("{}")
    before = remote_job.snapshot(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.onnx").write_bytes(b"m")
    after = remote_job.snapshot(tmp_path)
    assert sorted(name for name, stat in after.items() if before.get(name) != stat) == [
        "models/model.onnx"
    ]
    completed = subprocess.run(
        [sys.executable, remote_job.__file__, str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1 and "no project under" in completed.stderr
