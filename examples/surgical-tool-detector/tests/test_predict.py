"""`predict`: the exported model on files from the command line, as a table or JSON."""

import json

import numpy as np
import pytest
from PIL import Image

from surgical_tool_detector.cli import main
from surgical_tool_detector.dataset import read_split


def test_predict_prints_json_for_files_and_folders(exported_workdir, capsys):
    # Two pictures of the project; train is the split sure to hold two, whatever the classes.
    first, second = (row["path"] for row in read_split("train")[:2])
    capsys.readouterr()
    main(["predict", first, "data/raw", "--json", "--threshold", "0.2"])
    results = json.loads(capsys.readouterr().out)
    assert results[0]["input"] == first
    assert len(results) > 2  # the folder was expanded into its images
    for box in results[0]["prediction"]["boxes"]:
        assert box["score"] >= 0.2 and len(box["box"]) == 4


def test_an_unreadable_file_is_reported_and_the_rest_predicted(exported_workdir, capsys):
    good = read_split("test")[0]["path"]
    broken = exported_workdir / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    capsys.readouterr()
    main(["predict", str(broken), good, "--json"])
    results = json.loads(capsys.readouterr().out)
    assert "cannot read image" in results[0]["error"]
    assert "prediction" in results[1]
    assert broken.read_bytes() == b"this is not a picture"  # inputs are never touched


def test_only_unreadable_files_is_an_error(exported_workdir, capsys):
    broken = exported_workdir / "broken.png"
    broken.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(broken)])
    assert exit_info.value.code == 1


def test_a_decompression_bomb_is_refused_in_one_line(exported_workdir, capsys, decompression_bomb):
    bomb = decompression_bomb
    capsys.readouterr()
    main(["predict", str(bomb), read_split("test")[0]["path"], "--json"])
    results = json.loads(capsys.readouterr().out)
    assert "too large to open safely" in results[0]["error"]
    assert "prediction" in results[1]
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(bomb)])
    assert exit_info.value.code == 1
    assert "Traceback" not in capsys.readouterr().err


def test_a_16_bit_picture_is_predicted(exported_workdir, capsys):
    picture = exported_workdir / "deep.png"
    pixels = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(pixels).save(picture)
    capsys.readouterr()
    main(["predict", str(picture), "--json"])
    assert "prediction" in json.loads(capsys.readouterr().out)[0]


def test_smoke_predicts_test_items_as_a_table(exported_workdir, capsys):
    capsys.readouterr()
    main(["predict", "--smoke"])
    assert "label" in capsys.readouterr().out


def test_predict_without_an_exported_model_names_the_missing_stage(workdir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "anything"])
    assert exit_info.value.code == 1
    assert "export" in capsys.readouterr().err
