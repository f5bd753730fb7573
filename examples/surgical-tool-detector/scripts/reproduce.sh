#!/usr/bin/env bash
# Rebuild this example from nothing: draw the assets, synthesize the data, train, evaluate and
# refill the README's writeup. Every step is one of the project's own commands, in order.
#
#   scripts/reproduce.sh           # refuses to touch data you already have
#   scripts/reproduce.sh --fresh   # first deletes data/ (raw, interim, labels, splits)
#
# Needs the project installed (pip install -e '.[dev]') and pocgen on PATH for the last step.
# PYTHON=path/to/python picks another interpreter. Training takes most of the time:
# reports/training.json records how long it took on the machine that ran it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
RUN=("$PYTHON" -m surgical_tool_detector)

if ! command -v pocgen >/dev/null; then
    echo "pocgen is not on PATH: install it (pip install -e . in the pocgen repository)." >&2
    exit 1
fi
if [[ "${1:-}" == "--fresh" ]]; then
    # Everything this script makes again: drawn assets, images, their labels and the splits.
    rm -rf data/interim data/raw data/labels data/splits
elif [[ -d data/raw || -d data/interim ]]; then
    echo "data/raw/ or data/interim/ exists: move your data away, or run scripts/reproduce.sh --fresh to delete them and start over." >&2
    exit 1
fi
# The committed manifest records the last run; collect appends, so this run starts a new one.
rm -f data/manifest.csv

"$PYTHON" scripts/draw_scene_assets.py --seed 7
"${RUN[@]}" collect synth --cutouts data/interim/cutouts --backgrounds data/interim/backgrounds \
    --count 2000 --license-note "synthetic: drawn by code"
"${RUN[@]}" validate
"${RUN[@]}" split
"${RUN[@]}" train
"${RUN[@]}" export      # before evaluate: evaluate measures the ONNX model the demo runs
"${RUN[@]}" evaluate
"$PYTHON" scripts/draw_preview.py
pocgen writeup .
