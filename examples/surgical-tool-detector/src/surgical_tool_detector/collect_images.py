"""`collect folder` and `collect video`: photos and video frames into data/raw, normalised once.

Every image is read with `images.open_image`, which refuses unreadable and huge files and turns
the rest into 8-bit sRGB; what it changed goes into the manifest's `normalised` column.

An item is its content: the manifest records the SHA-256 of the file it came from
(`content_hash`), so a photo renamed or moved to another folder is the same item, never a copy.
Collecting a folder again (`collect_folder`):

- skips the photos collected before, wherever they moved, and records where they are now;
- lists the photos collected from the folder that are no longer in it; --prune deletes them
  from data/ (their file, manifest row and labels).

Each new item is recorded the moment it is written (`commit`): its manifest row
first, then its file is renamed into place. A collect stopped at any point (Ctrl-C, a crash, a
killed process) leaves every finished item whole; the next run finishes or removes the one that
was in flight (`settle`) and collects the rest, copying nothing twice.
"""

from __future__ import annotations

import difflib
import itertools
import shutil
import unicodedata
from collections.abc import Iterator
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
    delete_items,
    file_hash,
    list_images,
    now,
    read_manifest,
    update_manifest,
)
from .images import (
    HEIF_SUFFIXES,
    MAX_PIXELS,
    ImageProblem,
    Normalised,
    heif_support,
    open_image,
    taken_at,
    too_large,
)

console = Console(stderr=True)
PHOTO_SUFFIXES = IMAGE_SUFFIXES | HEIF_SUFFIXES
JPEG_SUFFIXES = {".jpg", ".jpeg"} | HEIF_SUFFIXES  # photos: re-saved as JPEG, the rest as PNG
GROUP_BY = ("date", "subfolder", "none")
PARTIAL = ".partial"  # a file being written into data/raw, renamed into place once recorded
SHOWN = 10  # longest list of items on the console


def listed(names: list[str]) -> str:
    """The first few of `names`, comma-separated, and how many more there are."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


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


# ----------------------------------------------------------------------------------------------
# Writing: one item at a time, recorded before its file is in place.


def settle(manifest: dict[str, dict[str, str]]) -> None:
    """Finish what a stopped collect left in data/raw: a file written but not yet renamed into
    place is renamed when its manifest row exists (the item was recorded), deleted otherwise."""
    for partial in sorted(RAW_DIR.rglob(f"*{PARTIAL}")) if RAW_DIR.exists() else []:
        final = partial.with_name(partial.name.removesuffix(PARTIAL))
        if final.relative_to(RAW_DIR).as_posix() in manifest and not final.exists():
            partial.replace(final)
        else:
            partial.unlink()


def add_missing_hashes(manifest: dict[str, dict[str, str]]) -> None:
    """Record the content hash of items collected before hashes existed (a one-time upgrade).

    The hash is of the file an item came from, so it is read there while that file exists; a
    photo copied unchanged has the same bytes in data/raw. Items whose source is gone and whose
    copy was changed keep an empty hash and are recognised by their original path, as before.
    """
    found = {}
    for item, row in manifest.items():
        if row.get("content_hash") or row.get("source") not in ("folder", "video"):
            continue
        original, _, frame = row.get("original_path", "").partition("#")
        source = Path(original)
        if original and source.is_file():
            found[item] = file_hash(source) + (f"#{frame}" if frame else "")
        elif row["source"] == "folder" and not row.get("normalised"):
            copy = RAW_DIR / item
            if copy.is_file() and copy.suffix.lower() not in HEIF_SUFFIXES:
                found[item] = file_hash(copy)
    if found:
        update_manifest({item: {"content_hash": value} for item, value in found.items()})
        for item, value in found.items():
            manifest[item]["content_hash"] = value
        console.print(f"recorded the content hash of {len(found)} item(s) collected before")


def known_items() -> dict[str, dict[str, str]]:
    """The manifest, after finishing a stopped run's last item and adding missing hashes."""
    settle(read_manifest())
    manifest = read_manifest()
    add_missing_hashes(manifest)
    return manifest


def manifest_row(
    item: str,
    source: str,
    group: str,
    original: str,
    note: str,
    changes: list[str],
    content_hash: str,
) -> dict[str, str]:
    """An item's row in data/manifest.csv."""
    return {
        "item": item,
        "source": source,
        "group": group,
        "collected_at": now(),
        "original_path": original,
        "license_note": note,
        "normalised": "; ".join(changes),
        "content_hash": content_hash,
    }


def commit(partial: Path, row: dict[str, str]) -> str:
    """Record an item whose file is written at `partial`, then rename the file into place.

    In this order a stop at any moment leaves no file in data/raw that the manifest lacks, and
    a recorded item whose file is still partial is finished by the next run's `settle`.
    """
    append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, [row])
    partial.replace(RAW_DIR / row["item"])
    return row["item"]


def suffix_for(photo: Normalised, source: Path) -> str:
    """The suffix an image keeps in data/raw: its own when it needs no change, else .jpg for
    photos and .png for the rest."""
    suffix = source.suffix.lower()
    if not photo.changes and suffix not in HEIF_SUFFIXES:
        return suffix
    return ".jpg" if suffix in JPEG_SUFFIXES else ".png"


def write_partial(photo: Normalised, source: Path, destination: Path) -> Path:
    """Write the normalised photo beside `destination`, as <name>.partial; an unchanged file is
    copied byte for byte. The format follows `destination`'s suffix."""
    partial = destination.with_name(destination.name + PARTIAL)
    partial.parent.mkdir(parents=True, exist_ok=True)
    if destination.suffix == source.suffix.lower() and not photo.changes:
        shutil.copyfile(source, partial)
    else:
        kind = Image.registered_extensions().get(destination.suffix, "PNG")
        photo.image.save(partial, format=kind, **({"quality": 95} if kind == "JPEG" else {}))
    return partial


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


def folded(name: str) -> str:
    """A folder or class name as names compare: composed (macOS stores é as e + accent), and
    letter case ignored."""
    return unicodedata.normalize("NFC", name).casefold()


def did_you_mean(name: str, names: list[str]) -> str:
    """A hint, "; did you mean 'X'?", when `name` nearly matches one of `names` (accents, case
    and small typos aside); else ""."""

    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", folded(text))
        return "".join(char for char in decomposed if not unicodedata.combining(char))

    by_plain = {plain(candidate): candidate for candidate in names}
    close = difflib.get_close_matches(plain(name), list(by_plain), n=1, cutoff=0.75)
    return f"; did you mean '{by_plain[close[0]]}'?" if close else ""


def capture_times(paths: list[Path]) -> dict[Path, datetime | None]:
    """When each photo was taken, from its EXIF header alone (no pixel is decoded)."""
    times: dict[Path, datetime | None] = {}
    for path in paths:
        try:
            with Image.open(path) as image:
                times[path] = taken_at(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            times[path] = None  # unreadable: `open_image` says why when it is collected
    return times


def burst_groups(
    times: dict[Path, datetime | None], burst_seconds: float, folder: Path
) -> dict[Path, str | None]:
    """path -> group, where photos taken within `burst_seconds` of the previous one share a
    group (a burst shows one scene), named after its first photo. Photos without a capture date
    are groups of their own (None)."""
    dated = sorted((when, path) for path, when in times.items() if when is not None)
    groups: dict[Path, str | None] = {path: None for path, when in times.items() if when is None}
    previous: datetime | None = None
    for when, path in dated:
        if previous is None or (when - previous).total_seconds() > burst_seconds:
            group = f"burst:{folder.resolve().name}/{path.relative_to(folder).as_posix()}"
        groups[path] = group
        previous = when
    return groups


def subfolder_group(path: Path, folder: Path, labeled: bool) -> str | None:
    """The folder a photo sits in; a photo directly in PHOTOS/ (or directly in its class folder,
    when labels come from folders) is a group of its own (None), or a whole class would be one."""
    parents = path.relative_to(folder).parts[:-1]
    if len(parents) <= (1 if labeled else 0):
        return None
    return f"folder:{folder.resolve().name}/{'/'.join(parents)}"


def plan_groups(
    paths: list[Path], group_by: str, burst_seconds: float, folder: Path, labeled: set[Path]
) -> dict[Path, str | None]:
    """The group of each photo by `group_by`; None: a group of its own (named by its item)."""
    if group_by == "date":
        return burst_groups(capture_times(paths), burst_seconds, folder)
    if group_by == "subfolder":
        return {path: subfolder_group(path, folder, path in labeled) for path in paths}
    return dict.fromkeys(paths)


def read_copies(photos: list[Path]) -> dict[str, list[Path]]:
    """content hash -> the photos with that content (identical files), in folder order."""
    copies: dict[str, list[Path]] = {}
    for path in track(photos, description="read photos", console=console):
        copies.setdefault(file_hash(path), []).append(path)
    return copies


def gone_from(
    folder: Path, manifest: dict[str, dict[str, str]], seen: set[str], prune: bool
) -> None:
    """Items collected from `folder` whose photo is no longer in it: listed, or with `prune`
    deleted from data/ with their manifest rows and labels."""
    root = folder.resolve()
    gone = sorted(
        item
        for item, row in manifest.items()
        if item not in seen
        and row.get("source") == "folder"
        and Path(row.get("original_path") or "/").is_relative_to(root)
    )
    if not gone:
        return
    shown = [f"data/raw/{item} (was {manifest[item]['original_path']})" for item in gone]
    if prune:
        delete_items(set(gone))
        console.print(
            f"pruned {len(gone)} item(s) no longer in {escape(str(folder))}: "
            f"{escape(listed(shown))}"
        )
        return
    console.print(
        f"[yellow]note:[/] {len(gone)} photo(s) collected from {escape(str(folder))} before are "
        f"no longer in it: {escape(listed(shown))}; pass --prune to delete them from data/"
    )


def collect_folder(
    folder: Path,
    prune: bool,
    group_by: str | None,
    burst_seconds: float,
    license_note: str,
    problems: list[str],
) -> int:
    """Normalise every photo under `folder` into data/raw/<folder name>/ and record it.

    Photos collected before (the same content, wherever it moved) are not copied again; see the
    module's docstring for what a rerun changes. `group_by` None means "date", applied to the
    new photos only; given, it regroups the photos collected before too. Unreadable, huge and
    non-image files are each listed with the reason they were skipped.
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
    if any(path.suffix.lower() in HEIF_SUFFIXES for path in photos):
        heif_support()  # so that the capture times of iPhone photos can be read
    manifest = known_items()
    labels: dict[Path, str] = {}
    by_hash = {
        row["content_hash"]: item for item, row in manifest.items() if row.get("content_hash")
    }
    # Items collected before hashes existed, whose source could not be hashed: by their path.
    by_path = {
        row["original_path"]: item
        for item, row in manifest.items()
        if row.get("original_path") and not row.get("content_hash")
    }

    # --- which photos are new, and what changes for those collected before ---
    new: list[tuple[str, Path]] = []
    known: dict[str, Path] = {}  # item -> where its photo is now
    changes: dict[str, dict[str, str]] = {}
    for content_hash, paths in read_copies(photos).items():
        item = by_hash.get(content_hash) or next(
            (by_path[str(p.resolve())] for p in paths if str(p.resolve()) in by_path), None
        )
        if len(paths) > 1:
            same = listed([str(path) for path in paths])
            console.print(f"[yellow]note:[/] identical files, collected once: {escape(same)}")
        if item is None:
            new.append((content_hash, paths[0]))
            continue
        known[item] = paths[0]
        originals = {str(path.resolve()) for path in paths}
        if manifest[item].get("original_path") not in originals:  # moved or renamed
            changes.setdefault(item, {})["original_path"] = str(paths[0].resolve())
        if not manifest[item].get("content_hash"):
            changes.setdefault(item, {})["content_hash"] = content_hash
        if license_note and manifest[item].get("license_note") != license_note:
            changes.setdefault(item, {})["license_note"] = license_note
    moved = sum("original_path" in change for change in changes.values())
    noted = sum("license_note" in change for change in changes.values())

    # --- groups: for the new photos; for all of them when --group-by is given again ---
    everyone = [path for _, path in new] + (list(known.values()) if group_by else [])
    groups = plan_groups(everyone, group_by or "date", burst_seconds, folder, set(labels))
    regrouped = 0
    for item, path in known.items() if group_by else []:
        group = groups[path] or item
        if manifest[item].get("group") != group:
            changes.setdefault(item, {})["group"] = group
            regrouped += 1
    update_manifest(changes)
    if moved:
        console.print(f"{moved} photo(s) collected before were moved or renamed: recorded where")
    if regrouped:
        console.print(
            f"regrouped {regrouped} photo(s) collected before (--group-by {group_by}); "
            "run `split` again"
        )
    if noted:
        console.print(f"--license-note recorded for {noted} photo(s) collected before too")
    gone_from(folder, manifest, set(known), prune)

    # --- files deleted from data/raw by hand while their photo is still in the folder ---
    missing = [item for item in known if not (RAW_DIR / item).exists()]
    for item in missing:
        try:
            photo = open_image(known[item])
        except ImageProblem as problem:
            problems.append(f"{known[item]}: {problem}")
            continue
        write_partial(photo, known[item], RAW_DIR / item).replace(RAW_DIR / item)
    if missing:
        console.print(
            f"[yellow]note:[/] put back {len(missing)} file(s) missing from data/raw whose photo "
            f"is still in {escape(str(folder))}: {escape(listed(missing))}. To drop a photo, "
            "delete it from that folder and rerun with --prune."
        )

    # --- the new photos, one committed item at a time ---
    taken = taken_stems()
    target = RAW_DIR / folder.resolve().name
    written = changed = 0
    for content_hash, path in track(new, description=f"collect {folder}", console=console):
        try:
            photo = open_image(path)
        except ImageProblem as problem:
            problems.append(f"{path}: {problem}")
            continue
        destination = target / f"{unique_stem(path.stem, taken)}{suffix_for(photo, path)}"
        item = destination.relative_to(RAW_DIR).as_posix()
        row = manifest_row(
            item,
            "folder",
            groups[path] or item,
            str(path.resolve()),
            license_note,
            photo.changes,
            content_hash,
        )
        commit(write_partial(photo, path, destination), row)
        written += 1
        changed += bool(photo.changes)
    if changed:
        console.print(
            f"{changed} image(s) normalised to 8-bit sRGB (see `normalised` in {MANIFEST_FILE})"
        )
    if known:
        console.print(f"{len(known)} file(s) were collected before and were not copied again.")
    return written


# ----------------------------------------------------------------------------------------------
# Source 2: frames of a video.


def sampled_frames(video: Path, fps: float) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, BGR frame) for about `fps` frames per second of `video`.

    Raises ImageProblem when the frames are larger than the decompression-bomb guard allows
    (from the header, before any frame is decoded), ValueError if OpenCV cannot open it.
    """
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError("OpenCV cannot open it as a video")
        size = (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if size[0] * size[1] > MAX_PIXELS:
            raise ImageProblem(too_large(int(size[0]), int(size[1])))
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
            if frame.shape[0] * frame.shape[1] > MAX_PIXELS:  # a header that understated it
                raise ImageProblem(too_large(frame.shape[1], frame.shape[0]))
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

    A frame's content hash is the video's with its frame number: the same video, renamed or
    collected again, adds only the frames it has not added yet (the choice of frames repeats).
    Raises ValueError if no frame decodes, ImageProblem if the frames are too large.
    """
    manifest = known_items()
    video_hash = file_hash(video)
    collected = {row.get("content_hash") for row in manifest.values()}
    scores = [sharpness(frame) for _, frame in sampled_frames(video, fps)]
    if not scores:
        raise ValueError("no frame could be decoded")
    threshold = blur_threshold
    if threshold is None:
        threshold = blur_relative * float(np.median(scores))
    taken = taken_stems()
    target = RAW_DIR / video.stem
    kept_hashes: list[imagehash.ImageHash] = []
    blurred = repeated = before = written = 0
    frames = sampled_frames(video, fps)
    for (index, frame), score in track(
        zip(frames, scores, strict=False),
        total=len(scores),
        description=video.name,
        console=console,
    ):
        if score < threshold:
            blurred += 1
            continue
        image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        frame_hash = imagehash.phash(image)
        if any(frame_hash - kept <= duplicate_distance for kept in kept_hashes):
            repeated += 1
            continue
        kept_hashes.append(frame_hash)
        content_hash = f"{video_hash}#frame={index}"
        if content_hash in collected:
            before += 1
            continue
        destination = target / f"{unique_stem(f'{video.stem}-{index:06d}', taken)}.jpg"
        partial = write_partial(Normalised(image, [], None), video, destination)
        original = f"{video.resolve()}#frame={index}"
        row = manifest_row(
            destination.relative_to(RAW_DIR).as_posix(),
            "video",
            f"video:{video.name}",
            original,
            license_note,
            [],
            content_hash,
        )
        commit(partial, row)
        written += 1
    kept = written + before
    console.print(
        f"{escape(video.name)}: kept {kept} of {len(scores)} sampled frames "
        f"({blurred} blurred, {repeated} near-duplicates dropped; blur threshold {threshold:.1f})"
    )
    if before:
        console.print(
            f"{escape(video.name)} was collected before: {before} of its frames were already in "
            f"data/raw, {written} added."
        )
    return written
