"""Find items that belong together: copies, near copies and members of one group.

`validate` reports them and `split` keeps each such set in one split, so a near copy of a test
item can never sit in train. Both use these functions, so they always agree on what a copy is.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image
from rich.console import Console
from rich.progress import track

from .config import RAW_DIR

console = Console(stderr=True)


def clusters(items: Iterable[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Group items that are linked, directly or through others (connected components).

    A union-find: each item points towards a representative, and linking two items joins
    their representatives.
    """
    parent = {item: item for item in items}

    def root(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving keeps the chains short
            item = parent[item]
        return item

    for a, b in links:
        parent[root(a)] = root(b)
    members: dict[str, list[str]] = defaultdict(list)
    for item in parent:
        members[root(item)].append(item)
    return sorted(sorted(group) for group in members.values())


def same_key_links(keys: dict[str, str]) -> list[tuple[str, str]]:
    """Links between items that share a key (a file hash, a group name): each to the first."""
    first: dict[str, str] = {}
    links = []
    for item, key in keys.items():
        if key in first:
            links.append((first[key], item))
        else:
            first[key] = item
    return links


# A lookup table of how many bits are set in each byte value: Hamming distances in numpy.
BITS_SET = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class Fingerprint:
    """What validate and split need from an image, read in one pass over the file."""

    sha256: str  # identical bytes = exact duplicate
    phash: np.ndarray  # 64-bit perceptual hash as 8 bytes: similar images, similar bits
    size: tuple[int, int]  # width, height


def fingerprint_images(items: list[str]) -> tuple[dict[str, Fingerprint], dict[str, str]]:
    """Read every image once; return fingerprints of the readable ones and why others failed.

    `image.load()` decodes the pixels: opening only reads the header, which a truncated file
    still has. Anything Pillow cannot decode is reported, never raised.
    """
    fingerprints, corrupt = {}, {}
    for item in track(items, description="read images", console=console):
        try:
            data = (RAW_DIR / item).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                phash = imagehash.phash(image)
                size = image.size
        except (OSError, SyntaxError, ValueError) as error:
            corrupt[item] = str(error) or type(error).__name__
            continue
        fingerprints[item] = Fingerprint(
            hashlib.sha256(data).hexdigest(), np.packbits(phash.hash.flatten()), size
        )
    return fingerprints, corrupt


def near_duplicate_links(
    fingerprints: dict[str, Fingerprint], max_distance: int
) -> list[tuple[str, str]]:
    """Pairs of images whose perceptual hashes differ in at most `max_distance` of 64 bits.

    Every image is compared with every later one, a row of the matrix at a time in numpy:
    about a second for 10,000 images.
    """
    items = list(fingerprints)
    if len(items) < 2:
        return []
    codes = np.stack([fingerprints[item].phash for item in items])
    links = []
    for i in range(len(items) - 1):
        distances = BITS_SET[codes[i + 1 :] ^ codes[i]].sum(axis=1)
        close = np.flatnonzero(distances <= max_distance)
        links.extend((items[i], items[i + 1 + j]) for j in close)
    return links
