import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_params_name_the_task_and_classes(workdir):
    params = load_params()
    assert params["task"] == "object-detection"
    assert params["classes"] == ["scalpel", "forceps", "scissors", "needle holder", "retractor"]


def test_missing_params_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StageError, match="params.yaml not found"):
        load_params()
