"""The program a GPU job runs. pocgen never imports it: it uploads it with the project.

`pocgen gpu run` copies this file into the uploaded project as `.pocgen/gpu_job.py`, next to
`.pocgen/gpu_job.json` (its settings, written by pocgen). It runs on the GPU machine, a Hugging
Face Jobs container (`python /input/.pocgen/gpu_job.py /input`) or a Kaggle notebook (the
notebook's code is this file; it finds the project under /kaggle/input), so it needs nothing but
the standard library, plus huggingface_hub on Hugging Face, which it installs.

In order: copy the project to a writable folder, install it (`pip install -e .`: the image brings
CUDA PyTorch, pip adds the rest), run the project's own `train`, `export` and `evaluate` stages,
write reports/gpu.json (where and how long it trained), then hand back the files those stages
wrote under models/ and reports/: uploaded to the private results repo on the Hub, or copied to
the Kaggle notebook's output folder (its working directory). `pocgen gpu pull` fetches them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

SETTINGS = Path(".pocgen/gpu_job.json")
ARCHIVE = "project.zip"  # Kaggle: the project arrives as one archive in a dataset
KAGGLE_INPUT = Path("/kaggle/input")
RESULT_FOLDERS = ("models", "reports")
RECORD = Path("reports/gpu.json")


def say(message: str) -> None:
    print(f"[pocgen gpu] {message}", flush=True)


def find_project(root: Path, work: Path) -> Path:
    """Copy the uploaded project from `root` (read-only) into `work`, file by file, so every file
    and folder is writable there."""
    settings = (
        [root / SETTINGS] if (root / SETTINGS).is_file() else sorted(root.rglob(str(SETTINGS)))
    )
    if settings:
        source = settings[0].parent.parent
        for path in sorted(source.rglob("*")):
            if path.is_file():
                target = work / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        return work
    for archive in sorted(root.rglob(ARCHIVE)):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(work)
        return work
    raise SystemExit(f"[pocgen gpu] no project under {root}: neither {SETTINGS} nor {ARCHIVE}")


def run(command: list[str], cwd: Path) -> float:
    """Run one command with its output in the job's log; stop the job if it fails."""
    say("$ " + " ".join(command))
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd)
    if completed.returncode != 0:
        raise SystemExit(
            f"[pocgen gpu] `{' '.join(command)}` failed with exit code {completed.returncode}; "
            "its output is above"
        )
    return round(time.perf_counter() - started, 1)


def snapshot(project: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under models/ and reports/."""
    found = {}
    for folder in RESULT_FOLDERS:
        for path in sorted((project / folder).rglob("*")):
            if path.is_file():
                stat = path.stat()
                found[path.relative_to(project).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def training_record(project: Path, settings: dict, seconds: dict, started_at: str) -> dict:
    """reports/gpu.json as the job knows it; `pocgen gpu pull` adds the engine's own facts."""
    training = json.loads((project / "reports" / "training.json").read_text(encoding="utf-8"))
    device = str(training.get("device") or "")
    return {
        "schema_version": 1,
        "engine": settings["engine"],
        "flavor": settings.get("flavor"),
        "run_id": settings["run_id"],
        "device": device,
        "gpu": training.get("hardware") if device.startswith("cuda") else None,
        "train_seconds": training.get("seconds"),
        "stage_seconds": seconds,
        "started_at": started_at,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def upload(project: Path, made: list[str], settings: dict) -> None:
    """Mirror models/ and reports/ of this run into the private results repo. The token is the
    job's HF_TOKEN secret and the Hub is HF_ENDPOINT, both read by huggingface_hub itself."""
    from huggingface_hub import HfApi

    HfApi().upload_folder(
        repo_id=settings["results_repo"],
        folder_path=project,
        allow_patterns=made,
        delete_patterns=[f"{folder}/**" for folder in RESULT_FOLDERS],
        commit_message=f"pocgen gpu run {settings['run_id']}: models/ and reports/",
    )


def copy_out(project: Path, made: list[str], output: Path) -> None:
    for name in made:
        target = output / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project / name, target)


def main(argv: list[str]) -> None:
    root = Path(argv[1]) if len(argv) > 1 else KAGGLE_INPUT
    output = Path.cwd()  # a Kaggle notebook starts in /kaggle/working, its output folder
    project = find_project(root, Path(tempfile.mkdtemp(prefix="pocgen-project-")))
    settings = json.loads((project / SETTINGS).read_text(encoding="utf-8"))
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    extra = ["huggingface_hub>=1.0"] if settings.get("results_repo") else []
    run([sys.executable, "-m", "pip", "install", "--quiet", "-e", ".", *extra], project)
    before = snapshot(project)
    seconds = {
        stage: run([sys.executable, "-m", settings["package"], stage], project)
        for stage in settings["stages"]
    }
    record = training_record(project, settings, seconds, started_at)
    (project / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    say(f"trained on {record['gpu'] or record['device']} in {record['train_seconds']} s")
    after = snapshot(project)
    made = sorted(name for name, stat in after.items() if before.get(name) != stat)
    if settings.get("results_repo"):
        upload(project, made, settings)
        say(f"uploaded {len(made)} files to {settings['results_repo']}")
    else:
        copy_out(project, made, output)
        say(f"copied {len(made)} files to the output folder {output}")


if __name__ == "__main__":
    main(sys.argv)
