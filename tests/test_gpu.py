"""`pocgen gpu` on Hugging Face Jobs, against the stand-in Hub: the real CLI and huggingface_hub
client, real HTTP, and a job that really runs the project's stages (on the CPU, in seconds).

One run goes the whole way (upload, job, log, results, pull) and several tests read what it left;
the others stop early on purpose: a held job, a refused token, a missing credit balance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from deploy_helpers import assert_one_line_error
from fake_hub import FakeHub, Repo
from gpu_helpers import gpu, project_files, ready_to_train, record_of

from pocgen.gpu.record import RECORD_FILE
from pocgen.project import load_project
from pocgen.writeup.sections import model

pytest_plugins = ["gpu_fixtures"]

DATA_REPO = "alice/defect-spotter-gpu-data"
RESULTS_REPO = "alice/defect-spotter-gpu-results"
PLANTED_SECRET = "sk-planted-" + "x" * 24


def hub_env(hub: FakeHub) -> dict[str, str]:
    return {"HF_TOKEN": hub.token, "HF_ENDPOINT": hub.url}


def plant_what_must_stay_home(project: Path) -> None:
    """Files a GPU upload must leave out: secrets, a virtualenv, old models, ignored files."""
    (project / ".env").write_text(f"OPENAI_API_KEY={PLANTED_SECRET}\n", encoding="utf-8")
    (project / ".venv" / "lib").mkdir(parents=True)
    (project / ".venv" / "lib" / "site.py").write_text("# a virtualenv\n", encoding="utf-8")
    (project / "models" / "old-model.pt").write_bytes(b"an old model")
    with (project / ".gitignore").open("a", encoding="utf-8") as gitignore:
        gitignore.write("scratch/\n")
    (project / "scratch").mkdir()
    (project / "scratch" / "notes.txt").write_text("ignored by git\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hub(image_bin: Path):
    with FakeHub(job_image_bin=image_bin) as server:
        yield server


@pytest.fixture(scope="module")
def finished_run(classifier_template: Path, hub: FakeHub, tmp_path_factory):
    """`pocgen gpu run` the whole way, once: the project, what it printed, and its files before."""
    project = Path(shutil.copytree(classifier_template, tmp_path_factory.mktemp("run") / "p"))
    plant_what_must_stay_home(project)
    before = project_files(project)
    result = gpu(project, "run", env=hub_env(hub))
    return project, result, before


def the_job(hub: FakeHub):
    (job,) = hub.jobs.values()
    return job


def test_a_run_trains_on_the_job_and_brings_the_results_home(finished_run, hub: FakeHub):
    project, result, _ = finished_run
    assert result.exit_code == 0, result.stdout + result.stderr
    job = the_job(hub)
    assert job.stage == "COMPLETED"
    # The job's log was streamed to the terminal while it ran: the project's own stages.
    for stage in ("train", "export", "evaluate"):
        assert f"-m defect_spotter {stage}" in result.stdout
    # What came back is exactly what the job uploaded to the private results repo.
    results = hub.models[RESULTS_REPO]
    assert results.private
    assert set(results.files) >= {
        "models/model.onnx",
        "models/model.pt",
        "models/labels.json",
        "reports/metrics.json",
        "reports/training.json",
        "reports/gpu.json",
    }
    for name, data in results.files.items():
        if name != "reports/gpu.json":  # pull adds the job's facts to it
            assert (project / name).read_bytes() == data, name
    assert "Brought back" in result.stdout


def test_the_job_gets_the_token_as_a_secret_only(finished_run, hub: FakeHub):
    project, result, _ = finished_run
    spec = the_job(hub).spec
    assert spec["secrets"] == {"HF_TOKEN": hub.token}
    assert hub.token not in json.dumps(
        {key: value for key, value in spec.items() if key != "secrets"}
    )
    assert hub.token not in result.stdout + result.stderr
    assert not any(hub.token in line for _, line in the_job(hub).log)
    assert hub.token not in (project / RECORD_FILE).read_text(encoding="utf-8")
    uploaded = [*hub.datasets[DATA_REPO].files.values(), *hub.models[RESULTS_REPO].files.values()]
    assert not any(hub.token.encode() in data for data in uploaded)


def test_the_job_runs_the_uploaded_commit_with_an_explicit_timeout(finished_run, hub: FakeHub):
    spec = the_job(hub).spec
    data = hub.datasets[DATA_REPO]
    assert data.private
    (volume,) = spec["volumes"]
    assert volume == {
        "type": "dataset",
        "source": DATA_REPO,
        "mountPath": "/input",
        "revision": data.commits[-1],
    }
    assert spec["command"] == ["python", "/input/.pocgen/gpu_job.py", "/input"]
    assert spec["flavor"] == "t4-small" and spec["timeoutSeconds"] == 3600
    assert spec["dockerImage"].startswith("pytorch/pytorch:") and "cuda" in spec["dockerImage"]
    assert spec["labels"]["created-by"] == "pocgen"


def test_the_upload_is_what_git_tracks_plus_data(finished_run, hub: FakeHub):
    project, _, before = finished_run
    uploaded = set(hub.datasets[DATA_REPO].files)
    assert {"params.yaml", "pyproject.toml", "src/defect_spotter/train.py"} <= uploaded
    # data/ is gitignored in the project, and exactly what the job needs.
    assert {name for name in before if name.startswith("data/")} <= uploaded
    assert {".pocgen/gpu_job.py", ".pocgen/gpu_job.json"} <= uploaded
    for left_out in (".env", ".venv/", "models/", "scratch/", ".git/"):
        assert not any(name.startswith(left_out) for name in uploaded), left_out
    assert not any(
        PLANTED_SECRET.encode() in data for data in hub.datasets[DATA_REPO].files.values()
    )
    settings = json.loads(hub.datasets[DATA_REPO].files[".pocgen/gpu_job.json"])
    assert settings["package"] == "defect_spotter" and settings["results_repo"] == RESULTS_REPO


def test_the_training_facts_are_recorded_for_the_writeup(finished_run, hub: FakeHub):
    project, result, _ = finished_run
    record = record_of(project)
    report = json.loads((project / "reports/gpu.json").read_text(encoding="utf-8"))
    training = json.loads((project / "reports/training.json").read_text(encoding="utf-8"))
    assert report["run_id"] == record["run_id"]
    assert report["engine"] == "hf" and report["flavor"] == "t4-small"
    assert report["job_id"] == the_job(hub).id and report["job_url"].endswith(the_job(hub).id)
    assert report["train_seconds"] == training["seconds"]
    assert set(report["stage_seconds"]) == {"train", "export", "evaluate"}
    assert report["device"] == training["device"] == "cpu" and report["gpu"] is None
    assert isinstance(report["job_seconds"], int) and report["job_seconds"] > 0
    minutes = -(-report["job_seconds"] // 60)
    assert report["cost_usd"] == pytest.approx(minutes * 0.40 / 60, abs=1e-3)
    # The stand-in has no GPU, and the command says so rather than claim one.
    assert "warning: the job trained on cpu, not a GPU" in result.stdout
    assert record["status"] == "COMPLETED" and record["pulled_at"]
    # The writeup's training facts say where the model trained, from that record.
    stated = model(load_project(project)).body
    assert "| trained on | Hugging Face Jobs, `t4-small`; the job ran " in stated


def test_only_models_and_reports_change(finished_run):
    project, _, before = finished_run
    after = project_files(project)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed and all(name.startswith(("models/", "reports/")) for name in changed)
    assert (project / "models" / "old-model.pt").read_bytes() == b"an old model"


def test_pull_never_overwrites_results_changed_after_the_job_started(finished_run, hub: FakeHub):
    project, _, _ = finished_run
    model = project / "models" / "model.onnx"
    model.write_bytes(b"retrained here while the job ran")
    os.utime(model)

    refused = gpu(project, "pull", env=hub_env(hub))

    assert_one_line_error(refused, "models/model.onnx", "nothing was replaced", "--force")
    assert model.read_bytes() == b"retrained here while the job ran"
    forced = gpu(project, "pull", "--force", env=hub_env(hub))
    assert forced.exit_code == 0, forced.stderr
    assert model.read_bytes() == hub.models[RESULTS_REPO].files["models/model.onnx"]


def test_status_of_a_finished_run(finished_run, hub: FakeHub):
    project, _, _ = finished_run
    result = gpu(project, "status", env=hub_env(hub))
    assert result.exit_code == 0, result.stderr
    assert f"hf {the_job(hub).id}: COMPLETED" in result.stdout
    assert "flavor t4-small" in result.stdout and "results are in models/" in result.stdout


def test_detach_status_cancel_and_a_second_run(classifier: Path, image_bin: Path):
    with FakeHub(job_image_bin=image_bin, hold_jobs=True) as held:
        env = hub_env(held)
        started = gpu(classifier, "run", "--detach", "--timeout", "20m", env=env)
        assert started.exit_code == 0, started.stderr
        (job,) = held.jobs.values()
        assert job.stage == "SCHEDULING" and job.spec["timeoutSeconds"] == 1200
        assert record_of(classifier)["job_id"] == job.id

        status = gpu(classifier, "status", env=env)
        assert f"{job.id}: SCHEDULING" in status.stdout and "pocgen gpu pull" in status.stdout
        again = gpu(classifier, "run", "--detach", env=env)
        assert_one_line_error(again, "not pulled", "pocgen gpu pull", "--force")

        canceled = gpu(classifier, "cancel", env=env)
        assert canceled.exit_code == 0, canceled.stderr
        assert job.stage == "CANCELED" and record_of(classifier)["status"] == "CANCELED"
        assert "Canceled hf job" in canceled.stdout
        pulled = gpu(classifier, "pull", env=env)
        assert_one_line_error(pulled, "ended CANCELED")
        # A canceled run is no reason to refuse the next one.
        assert gpu(classifier, "run", "--detach", env=env).exit_code == 0
        assert len(held.jobs) == 2


def test_namespace_puts_the_repos_and_the_job_in_an_organization(classifier: Path, image_bin: Path):
    with FakeHub(job_image_bin=image_bin, hold_jobs=True, orgs=["acme-lab"]) as held:
        env = hub_env(held)
        elsewhere = gpu(classifier, "run", "--detach", "--namespace", "someone-else", env=env)
        assert_one_line_error(elsewhere, "cannot write to the namespace 'someone-else'")
        assert not held.jobs and not held.datasets

        started = gpu(classifier, "run", "--detach", "--namespace", "acme-lab", env=env)
        assert started.exit_code == 0, started.stderr
        (job,) = held.jobs.values()
        assert job.namespace == "acme-lab"
        assert set(held.datasets) == {"acme-lab/defect-spotter-gpu-data"}
        assert set(held.models) == {"acme-lab/defect-spotter-gpu-results"}
        assert record_of(classifier)["namespace"] == "acme-lab"
        assert gpu(classifier, "cancel", env=env).exit_code == 0  # found in its namespace


def test_pull_waits_for_a_job_still_running(classifier: Path, image_bin: Path):
    with FakeHub(job_image_bin=image_bin, hold_jobs=True) as held:
        env = hub_env(held)
        assert gpu(classifier, "run", "--detach", env=env).exit_code == 0
        assert record_of(classifier)["status"] == "SCHEDULING"
        threading.Timer(2.0, held.release_jobs).start()  # the job starts while pull waits

        pulled = gpu(classifier, "pull", env=env)

        assert pulled.exit_code == 0, pulled.stderr
        assert record_of(classifier)["status"] == "COMPLETED"
        report = json.loads((classifier / "reports" / "gpu.json").read_text(encoding="utf-8"))
        assert report["run_id"] == record_of(classifier)["run_id"]
        assert (classifier / "models" / "model.onnx").is_file()


def test_a_failing_job_exits_1_with_its_message(classifier: Path, image_bin: Path):
    pyproject = classifier / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\nthis is not toml\n", encoding="utf-8")
    with FakeHub(job_image_bin=image_bin) as server:
        result = gpu(classifier, "run", env=hub_env(server))
        (job,) = server.jobs.values()
    assert_one_line_error(result, f"job {job.id} ended ERROR", "exit code", "log is above")
    assert "pip install" in result.stdout  # the job's own output, where the cause is
    assert record_of(classifier)["status"] == "ERROR"
    assert not (classifier / "models" / "model.onnx").exists()


def test_without_credits_the_error_names_the_free_routes(classifier: Path):
    with FakeHub(credits=False) as server:
        result = gpu(classifier, "run", env=hub_env(server))
        assert server.jobs == {}
    assert_one_line_error(
        result, "HTTP 402", "credits", "--engine colab", "train-on-colab.ipynb", "--engine kaggle"
    )
    assert not (classifier / RECORD_FILE).exists()


def test_a_refused_token_is_one_line_and_nothing_is_uploaded(classifier: Path):
    with FakeHub(fail={"whoami": 401}) as server:
        result = gpu(classifier, "run", env=hub_env(server))
        assert server.datasets == {} and server.models == {} and server.jobs == {}
    assert_one_line_error(result, "HTTP 401", "hf auth login")


@pytest.mark.parametrize(
    ("existing", "phrase"),
    [(Repo(private=False), "is public"), (Repo(True, {"mine.csv": b"x"}), "did not put there")],
    ids=["public", "foreign"],
)
def test_a_data_repo_pocgen_did_not_make_is_left_alone(classifier: Path, existing, phrase):
    with FakeHub() as server:
        server.datasets[DATA_REPO] = existing
        before = dict(existing.files)
        result = gpu(classifier, "run", env=hub_env(server))
        assert existing.files == before and server.jobs == {}
    assert_one_line_error(result, DATA_REPO, phrase)


def test_a_text_project_is_told_a_gpu_will_not_help(tmp_path: Path, image_bin: Path):
    project = ready_to_train(tmp_path / "ticket-router", task="text-classification")
    with FakeHub(job_image_bin=image_bin, hold_jobs=True) as server:
        refused = gpu(project, "run", env=hub_env(server))
        assert server.requests == []  # refused before any account is asked
        forced = gpu(project, "run", "--force", "--detach", env=hub_env(server))
        assert forced.exit_code == 0, forced.stderr
        assert len(server.jobs) == 1
    assert_one_line_error(refused, "text project", "only add waiting", "--force")


def test_bad_options_and_missing_state_are_one_line(classifier: Path, tmp_path: Path):
    with FakeHub() as server:
        env = hub_env(server)
        assert_one_line_error(gpu(classifier, "run", "--timeout", "soon", env=env), "--timeout")
        assert_one_line_error(
            gpu(classifier, "run", "--flavor", "h100-giant", env=env), "h100-giant", "t4-small"
        )
        assert_one_line_error(gpu(classifier, "run", "--engine", "sagemaker", env=env), "kaggle")
        for command in ("pull", "status", "cancel"):
            assert_one_line_error(gpu(classifier, command, env=env), "no GPU job recorded")
        assert server.jobs == {}
    shutil.rmtree(classifier / "data" / "splits")
    assert_one_line_error(gpu(classifier, "run", env={}), "data/splits/train.csv", "split")


def test_a_git_repository_uploads_its_tracked_files_and_data(classifier: Path, image_bin: Path):
    """In a git repository the list is git's own: a tracked file under an ignored folder goes
    up, an untracked one that is not ignored too."""
    subprocess.run(["git", "init", "--quiet", str(classifier)], check=True)
    (classifier / "scratch").mkdir()
    (classifier / "scratch" / "kept.txt").write_text("tracked on purpose\n")
    (classifier / ".gitignore").write_text((classifier / ".gitignore").read_text() + "scratch/\n")
    subprocess.run(["git", "-C", str(classifier), "add", "-f", "scratch/kept.txt"], check=True)
    (classifier / "NOTES.md").write_text("not yet committed\n")
    with FakeHub(job_image_bin=image_bin, hold_jobs=True) as server:
        assert gpu(classifier, "run", "--detach", env=hub_env(server)).exit_code == 0
        uploaded = set(server.datasets[DATA_REPO].files)
    assert {"scratch/kept.txt", "NOTES.md", "data/splits/train.csv"} <= uploaded
    assert not any(name.startswith(".git/") for name in uploaded)


def test_a_symlink_out_of_the_project_is_refused(classifier: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the project's\n")
    (classifier / "data" / "raw" / "link.jpg").symlink_to(outside)
    with FakeHub() as server:
        result = gpu(classifier, "run", env=hub_env(server))
        assert server.datasets == {}
    assert_one_line_error(result, "data/raw/link.jpg", "outside the project")
    assert not (classifier / ".pocgen" / "staging").exists()
