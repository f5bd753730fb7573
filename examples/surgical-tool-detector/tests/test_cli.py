import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from surgical_tool_detector.cli import STAGES, main
from surgical_tool_detector.config import StageError, load_params


def test_help_lists_every_stage():
    source = Path(__file__).resolve().parents[1] / "src"  # works installed or not
    result = subprocess.run(
        [sys.executable, "-m", "surgical_tool_detector", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
    )
    assert result.returncode == 0
    for stage in STAGES:
        assert stage in result.stdout


def test_unknown_stage_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-stage"])
    assert exit_info.value.code == 2


def test_params_name_the_project_and_its_classes(workdir):
    params = load_params()
    assert params["task"] in ("object-detection", "image-classification", "text-classification")
    assert params["classes"] and all(isinstance(name, str) for name in params["classes"])
    assert params["problem"] and params["evaluate"]["metric"]


@pytest.mark.parametrize(
    ("classes", "problem"),
    [
        ("[]", "`classes` must be a list of class names"),
        ('["a", "a"]', "more than once"),
        ('["a", ""]', "every class needs a name"),
        ('["a", "<script>"]', "none of"),
        ('["a", "tab\\there"]', "control character"),
        ('["a", "b/c"]', "safe as a folder name"),
        ('["a", "cup."]', "no '.' or space at the end"),
        ('["a", "Con"]', "not CON, PRN, AUX"),
    ],
)
def test_bad_class_names_are_refused_in_one_line(workdir, classes, problem):
    # Class names reach folder names and the public demo page, so params.yaml is checked first.
    params = Path("params.yaml")
    lines = params.read_text(encoding="utf-8").splitlines()
    lines = [f"classes: {classes}" if line.startswith("classes:") else line for line in lines]
    params.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(StageError, match="classes") as error:
        load_params()
    assert problem in str(error.value) and "\n" not in str(error.value)


def test_class_names_in_any_script_are_welcome(workdir):
    params = Path("params.yaml")
    names = ["café cup", "空のトレー", "हिन्दी", "Ölkanne (5 l)"]
    lines = params.read_text(encoding="utf-8").splitlines()
    listed = json.dumps(names, ensure_ascii=False)
    lines = [f"classes: {listed}" if line.startswith("classes:") else line for line in lines]
    params.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_params()["classes"] == names


def test_missing_params_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StageError, match="params.yaml not found"):
        load_params()


def test_each_stage_records_what_it_read_and_wrote(exported_project):
    """reports/pipeline.lock (DVC's dvc.lock format): each stage's command, the md5 of every file
    it read and wrote, and the settings it used, so each figure can be tied to its inputs."""
    lock = yaml.safe_load((exported_project / "reports" / "pipeline.lock").read_text())
    stages = lock["stages"]
    assert {"split", "train", "export", "evaluate"} <= set(stages)
    metrics = (exported_project / "reports" / "metrics.json").read_bytes()
    wrote = {out["path"]: out["md5"] for out in stages["evaluate"]["outs"]}
    assert wrote["reports/metrics.json"] == hashlib.md5(metrics).hexdigest()
    # evaluate measured the model export wrote, trained by the train that was recorded
    read = {dep["path"]: dep["md5"] for dep in stages["evaluate"]["deps"]}
    exported = {out["path"]: out["md5"] for out in stages["export"]["outs"]}
    assert read["models/model.onnx"] == exported["models/model.onnx"]
    assert stages["evaluate"]["cmd"].endswith("evaluate --smoke")
    used = stages["train"]["params"]["params.yaml"]
    assert used["seed"] == load_params(exported_project / "params.yaml")["seed"]
    assert "train" in used  # the train section as used, --smoke's overrides included
