"""`collect folder` and `collect video`: photos and video frames into data/raw, normalised once.

Every image is read with `images.open_image`, which refuses unreadable and huge files and turns
the rest into 8-bit sRGB; what it changed goes into the manifest's `normalised` column. A run
either records everything it wrote or removes what it wrote (see `Batch`), so an error or a
Ctrl-C never leaves files in data/raw that the manifest does not know, and a rerun never makes
copies of them.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image
from rich.console import Console
from rich.markup import escape
from rich.progress import track

from .config import MANIFEST_FILE, RAW_DIR, StageError
from .dataset import (
    IMAGE_SUFFIXES,
    MANIFEST_COLUMNS,
    append_csv,
    list_images,
    now,
    read_manifest,
)
from .images import HEIF_SUFFIXES, ImageProblem, Normalised, open_image

console = Console(stderr=True)
PHOTO_SUFFIXES = IMAGE_SUFFIXES | HEIF_SUFFIXES
JPEG_SUFFIXES = {".jpg", ".jpeg"} | HEIF_SUFFIXES  # photos: re-saved as JPEG, the rest as PNG
GROUP_BY = ("date", "subfolder", "none")


# ----------------------------------------------------------------------------------------------
# Names: every item in data/raw has a unique file stem, because its labels are found by stem
# (data/labels/<stem>.txt, the Label Studio task name). A clash gets a counter, never a swap.


def taken_stems() -> set[str]:
    """The file stems already used in data/raw."""
    return {Path(item).stem for item in list_images()}


def unique_stem(stem: str, taken: set[str]) -> str:
    """`stem`, or `stem-2`, `stem-3`... the first one not in `taken` (which it then joins)."""
    candidate, counter = stem, 1
    while candidate in taken:
        counter += 1
        candidate = f"{stem}-{counter}"
    taken.add(candidate)
    return candidate


@dataclass
class Batch:
    """What one collect run writes: files, manifest rows and label rows, kept all or none.

    Use it as `with Batch() as batch:`. The rows are appended when the block ends normally; on
    any error or interrupt the files written so far are deleted instead.
    """

    files: list[Path] = field(default_factory=list)
    manifest_rows: list[dict[str, str]] = field(default_factory=list)
    label_rows: list[dict[str, str]] = field(default_factory=list)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is not None:
            for path in self.files:
                path.unlink(missing_ok=True)
            return
        append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, self.manifest_rows)

    def add(self, destination: Path, source: str, group: str, original: str, note: str,
            changes: list[str]) -> str:
        """Record a file written to `destination`; return its item name (path inside data/raw)."""
        self.files.append(destination)
        item = destination.relative_to(RAW_DIR).as_posix()
        self.manifest_rows.append(
            {"item": item, "source": source, "group": group, "collected_at": now(),
             "original_path": original, "license_note": note, "normalised": "; ".join(changes)}
        )
        return item

    def label(self, item: str, label: str, annotator: str) -> None:
        """Record a label row for `item`, kept with the rest of the batch."""
        self.label_rows.append(
            {"item": item, "label": label, "annotator": annotator, "labeled_at": now()}
        )


def save(photo: Normalised, source: Path, folder: Path, stem: str) -> Path:
    """Write the normalised photo as folder/stem.<suffix>; an unchanged file is copied byte for
    byte instead (a stem may hold dots, so the suffix is appended, never swapped)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = source.suffix.lower()
    if not photo.changes and suffix not in HEIF_SUFFIXES:
        destination = folder / f"{stem}{suffix}"
        shutil.copyfile(source, destination)
    elif suffix in JPEG_SUFFIXES:
        destination = folder / f"{stem}.jpg"
        photo.image.save(destination, quality=95)
    else:
        destination = folder / f"{stem}.png"
        photo.image.save(destination)
    return destination


# ----------------------------------------------------------------------------------------------
# Source 1: a folder of images.


def photo_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The photos under `folder` (any depth), and the other files, which are skipped."""
    photos, others = [], []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not path.is_file() or hidden:  # hidden files (.DS_Store, ._x.jpg) are not photos
            continue
        (photos if path.suffix.lower() in PHOTO_SUFFIXES else others).append(path)
    return photos, others


def burst_groups(times: dict[str, datetime | None], burst_seconds: float) -> dict[str, str]:
    """item -> group, where photos taken within `burst_seconds` of the previous one share a
    group (a burst shows one scene). Photos without a capture date are groups of their own."""
    dated = sorted((when, item) for item, when in times.items() if when is not None)
    groups = {item: item for item, when in times.items() if when is None}
    previous: datetime | None = None
    for when, item in dated:
        if previous is None or (when - previous).total_seconds() > burst_seconds:
            group = f"burst:{item}"
        groups[item] = group
        previous = when
    return groups


def subfolder_group(relative: tuple[str, ...], labeled: bool, folder: Path, item: str) -> str:
    """The folder a photo sits in; a photo directly in PHOTOS/ (or directly in its class folder,
    when labels come from folders) is a group of its own, or a whole class would be one."""
    parents = relative[:-1]
    if len(parents) <= (1 if labeled else 0):
        return item
    return f"folder:{folder.name}/{'/'.join(parents)}"


def collect_folder(
    folder: Path,
    group_by: str,
    burst_seconds: float,
    license_note: str,
    problems: list[str],
) -> int:
    """Normalise every photo under `folder` into data/raw/<folder name>/ and record it.

    Photos collected before (same original path) are not copied again. Unreadable, huge
    and non-image files are each listed with the reason they were skipped.
    """
    if not folder.is_dir():
        raise StageError(f"{folder} is not a folder: pass the folder that holds your images.")
    photos, others = photo_files(folder)
    if not photos:
        raise StageError(
            f"{folder} holds no images ({', '.join(sorted(PHOTO_SUFFIXES))}): check the path."
        )
    for path in others:
        hint = " (a video? use `collect video`)" if path.suffix.lower() in {".mp4", ".mov"} else ""
        console.print(f"[yellow]skipped:[/] {escape(str(path))}: not an image file{hint}")
    collected = {row["original_path"]: item for item, row in read_manifest().items()}
    taken = taken_stems()
    target = RAW_DIR / folder.resolve().name
    times: dict[str, datetime | None] = {}
    before = 0
    with Batch() as batch:
        for path in track(photos, description=f"collect {folder}", console=console):
            original = str(path.resolve())
            if original in collected:
                before += 1
                continue
            try:
                photo = open_image(path)
            except ImageProblem as problem:
                problems.append(f"{path}: {problem}")
                continue
            destination = save(photo, path, target, unique_stem(path.stem, taken))
            relative = path.relative_to(folder).parts
            item = destination.relative_to(RAW_DIR).as_posix()
            group = item
            if group_by == "subfolder":
                group = subfolder_group(relative, False, folder, item)
            batch.add(destination, "folder", group, original, license_note, photo.changes)
            times[item] = photo.taken_at
        if group_by == "date":
            bursts = burst_groups(times, burst_seconds)
            for row in batch.manifest_rows:
                row["group"] = bursts[row["item"]]
        changed = sum(bool(row["normalised"]) for row in batch.manifest_rows)
    if changed:
        console.print(f"{changed} image(s) normalised to 8-bit sRGB (see `normalised` in "
                      f"{MANIFEST_FILE})")
    if before:
        console.print(f"{before} file(s) were collected before and were not copied again.")
    return len(batch.manifest_rows)


# ----------------------------------------------------------------------------------------------
# Source 2: frames of a video.


def sampled_frames(video: Path, fps: float) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, BGR frame) for about `fps` frames per second of `video`.

    Raises ValueError if OpenCV cannot open it.
    """
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError("OpenCV cannot open it as a video")
        native_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0  # some containers do not say
        step = max(1, round(native_fps / fps))
        for index in itertools.count():  # the frame count in a header is a hint, not a promise
            if index % step:  # grab() skips a frame without decoding its pixels: much faster
                if not capture.grab():
                    break
                continue
            ok, frame = capture.read()
            if not ok:
                break
            yield index, frame
    finally:
        capture.release()


def sharpness(frame: np.ndarray) -> float:
    """Variance of the Laplacian: edges make it large, motion blur and defocus make it small."""
    return float(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def collect_video(
    video: Path,
    fps: float,
    blur_threshold: float | None,
    blur_relative: float,
    duplicate_distance: int,
    license_note: str,
) -> int:
    """Save about `fps` frames per second of `video`, dropping blurred and repeated frames.

    Neighbouring frames are nearly identical, so a video gives far fewer real examples than it
    has frames. A frame is blurred when its sharpness is below `blur_threshold`, or, by default,
    below `blur_relative` times the clip's median sharpness: a low-texture scene (a white table)
    is never as sharp as a busy one, so a fixed threshold would drop all of it. A repeat is a
    frame whose perceptual hash is within `duplicate_distance` bits of a frame already kept.
    All frames share the video's group, so one video never feeds both train and test.
    Raises ValueError if no frame decodes.
    """
    if any(row["original_path"].startswith(f"{video.resolve()}#")
           for row in read_manifest().values()):
        console.print(f"{video.name} was collected before and was skipped.")
        return 0
    scores = [sharpness(frame) for _, frame in sampled_frames(video, fps)]
    if not scores:
        raise ValueError("no frame could be decoded")
    threshold = blur_threshold
    if threshold is None:
        threshold = blur_relative * float(np.median(scores))
    taken = taken_stems()
    target = RAW_DIR / video.stem
    kept_hashes: list[imagehash.ImageHash] = []
    blurred = repeated = 0
    with Batch() as batch:
        frames = sampled_frames(video, fps)
        for (index, frame), score in track(zip(frames, scores, strict=False), total=len(scores),
                                           description=video.name, console=console):
            if score < threshold:
                blurred += 1
                continue
            image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            frame_hash = imagehash.phash(image)
            if any(frame_hash - kept <= duplicate_distance for kept in kept_hashes):
                repeated += 1
                continue
            kept_hashes.append(frame_hash)
            destination = target / f"{unique_stem(f'{video.stem}-{index:06d}', taken)}.jpg"
            destination.parent.mkdir(parents=True, exist_ok=True)
            image.save(destination, quality=95)
            batch.add(
                destination, "video", f"video:{video.name}", f"{video.resolve()}#frame={index}",
                license_note, [],
            )
    console.print(
        f"{video.name}: kept {len(batch.manifest_rows)} of {len(scores)} sampled frames "
        f"({blurred} blurred, {repeated} near-duplicates dropped; blur threshold {threshold:.1f})"
    )
    return len(batch.manifest_rows)
