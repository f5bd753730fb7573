"""Bring your own data into data/raw and record where every item came from.

One subcommand per source:

    # photos, any depth; then draw their boxes (see the README)
    python -m surgical_tool_detector collect folder PHOTOS/ --group-by date
    # sharp, distinct frames of a video
    python -m surgical_tool_detector collect video CLIP.mp4 --fps 2
    # cut-outs pasted onto background photos, with their boxes
    python -m surgical_tool_detector collect synth --cutouts CUTOUTS/ --backgrounds BACKGROUNDS/
    # start over: delete what collect made (the sample and your own files stay)
    python -m surgical_tool_detector collect --reset --yes

Every image is normalised once, here, to 8-bit sRGB (EXIF rotation, 16-bit, transparency,
palette, CMYK and colour profiles: see images.py); the manifest's `normalised` column says
what was changed. The sources themselves are in collect_images.py (folder, video) and synth.py.

Every item gets a row in data/manifest.csv: its source, its group (items of one group always land
in the same split, so near-copies cannot leak from train into test), when it was collected, the
original path, your licence or consent note, and the hash of its content. Collecting never
overwrites anything and never copies a photo twice: a photo collected before is recognised by
its content wherever it moved, and a rerun lists what left the folder (--prune deletes it from
data/). A run that is stopped keeps every item it finished, whole, and the next run completes it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .collect_images import GROUP_BY, collect_folder, collect_video
from .config import MANIFEST_FILE, RAW_DIR, StageError, load_params
from .dataset import SAMPLE_SOURCE, delete_items, is_sample_data, read_manifest
from .images import ImageProblem
from .synth import collect_synth, paste_settings

console = Console(stderr=True)


def reset(yes: bool) -> None:
    """Delete what collect made: its items in data/raw, their manifest rows and labels.

    The built-in sample (`sample --remove` clears it) and your original files are left alone.
    """
    mine = {item for item, row in read_manifest().items() if row.get("source") != SAMPLE_SOURCE}
    if not mine:
        console.print("nothing collected yet: nothing to reset.")
        return
    question = (
        f"delete the {len(mine)} item(s) collected into data/ (your original files and "
        "the sample stay)?"
    )
    if not yes:
        if not sys.stdin.isatty():
            raise StageError(f"--reset would {question[:-1]}; pass --yes to confirm.")
        if console.input(f"{question} [y/N] ").strip().lower() not in {"y", "yes"}:
            raise StageError("reset cancelled: nothing was deleted.")
    delete_items(mine)
    console.print(
        f"reset: {len(mine)} collected item(s) deleted; run `split` again before training."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete what collect made (asks first; the sample stays)",
    )
    parser.add_argument("--yes", action="store_true", help="with --reset: do not ask")
    # Options every source accepts; they go after the source: `collect folder X --license-note Y`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--license-note",
        default="",
        help="where the data comes from and what you may do with it "
        "(e.g. 'own photos', 'CC-BY 4.0, Jane Doe', 'consent form 2025-03')",
    )
    common.add_argument(
        "--smoke",
        action="store_true",
        help="tiny run for tests: synth makes 8 images (the other sources copy what you give them)",
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE")
    folder = sources.add_parser("folder", parents=[common], help="images from a folder (any depth)")
    folder.add_argument("path", type=Path, help="folder of images (searched at any depth)")
    folder.add_argument(
        "--prune",
        action="store_true",
        help="delete from data/ the photos collected from this folder that are no longer in it",
    )
    folder.add_argument(
        "--group-by",
        choices=GROUP_BY,
        help="what keeps photos in one split: date = bursts taken within "
        "collect.burst_seconds (EXIF), subfolder = the folder they are in "
        "(put crops of one photo together), none (default: date; given on a rerun, it "
        "regroups the photos collected before too)",
    )
    video = sources.add_parser("video", parents=[common], help="sharp, distinct video frames")
    video.add_argument("paths", type=Path, nargs="+", help="video files (anything OpenCV reads)")
    video.add_argument("--fps", type=float, help="frames per second to keep (params: collect.fps)")
    video.add_argument(
        "--blur-threshold",
        type=float,
        help="drop frames less sharp than this (variance of the Laplacian; "
        "default: collect.blur_relative x the clip's median sharpness)",
    )
    synth = sources.add_parser("synth", parents=[common], help="paste cut-outs onto backgrounds")
    synth.add_argument(
        "--cutouts",
        type=Path,
        required=True,
        help="folder with one subfolder per class of PNG cut-outs with transparency",
    )
    synth.add_argument("--backgrounds", type=Path, required=True, help="folder of photos")
    synth.add_argument("--count", type=int, help="images to make (params: collect.synth_count)")
    synth.add_argument("--seed", type=int, help="random seed (params: seed)")


def run(args: argparse.Namespace) -> None:
    if args.reset:
        reset(args.yes)
        return
    if args.source is None:
        raise StageError(
            "name a source: `collect folder PHOTOS/`, `collect video CLIP.mp4` "
            "or `collect synth ...` (or --reset)."
        )
    params = load_params()
    classes: list[str] = params["classes"]
    problems: list[str] = []
    settings = params["collect"]
    if args.source == "folder":
        count = collect_folder(
            args.path,
            args.prune,
            args.group_by,
            settings["burst_seconds"],
            args.license_note,
            problems,
        )
    elif args.source == "video":
        count = 0
        for path in args.paths:
            try:
                count += collect_video(
                    path,
                    args.fps or settings["fps"],
                    args.blur_threshold,
                    settings["blur_relative"],
                    settings["duplicate_distance"],
                    args.license_note,
                )
            except ImageProblem as problem:  # frames too large to decode safely
                problems.append(f"{path}: {problem}")
            except ValueError as error:
                problems.append(
                    f"{path}: cannot decode this video ({error}); convert it with "
                    f"`ffmpeg -i {shlex.quote(str(path))} {shlex.quote(f'{path.stem}-fixed.mp4')}` "
                    "and retry"
                )
    else:
        count = collect_synth(
            args.cutouts,
            args.backgrounds,
            8 if args.smoke else args.count or settings["synth_count"],
            settings["synth_size"],
            paste_settings(params),
            classes,
            params["seed"] if args.seed is None else args.seed,
            args.license_note,
            problems,
        )
    console.print(f"collected {count} item(s) into {RAW_DIR}/ (recorded in {MANIFEST_FILE})")
    if is_sample_data(read_manifest()):
        console.print(
            "[yellow]note:[/] data/raw still holds the built-in sample; remove it with "
            "`python -m surgical_tool_detector sample --remove` before you train on your own "
            "data."
        )
    for problem in problems:
        console.print(f"[red]problem:[/] {escape(problem)}")
    if problems:
        raise StageError(
            f"{len(problems)} problem(s) with inputs, listed above; everything else was "
            "collected. Fix those inputs and rerun: nothing collected before is copied again."
        )
