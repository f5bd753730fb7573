"""Draw the raw material for the synthetic operating-table dataset.

Real projects start from phone photos: a few photos of each instrument on a plain background,
cut out with any background-removal tool, plus photos of empty operating tables. This example has
no operating room, so this script draws both by code instead, and says so everywhere the data
shows up:

    data/interim/cutouts/<class>/*.png  instruments on a transparent background (RGBA)
    data/interim/backgrounds/*.jpg      empty operating tables: drapes, trays, gauze, tubing, lamp

The project's own cut-and-paste collector then makes the labeled training images:

    python -m surgical_tool_detector collect synth --cutouts data/interim/cutouts \
        --backgrounds data/interim/backgrounds --count 2000

Run: python scripts/draw_scene_assets.py [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ASSETS = Path("data/interim")  # gitignored: drawn again by this script
CUTOUTS_PER_CLASS = 8
BACKGROUNDS = 60
SCENE_SIZE = 512

# Steel in different lights: the palette every instrument is drawn from.
STEEL = [(168, 174, 182), (190, 196, 204), (140, 146, 156), (206, 210, 216)]


def steel(rng: random.Random, shift: int = 0) -> tuple[int, int, int]:
    r, g, b = rng.choice(STEEL)
    return (min(255, r + shift), min(255, g + shift), min(255, b + shift))


def new_canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def add_highlight(image: Image.Image) -> Image.Image:
    """A soft light streak along the length, the way polished steel catches the lamp."""
    width, height = image.size
    ramp = np.linspace(-1, 1, height)[:, None]
    light = (1.0 + 0.35 * np.exp(-((ramp - 0.25) ** 2) / 0.05)) * np.ones((1, width))
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) * light[..., None]
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).convert("RGBA")
    out.putalpha(image.getchannel("A"))
    return out


def draw_scalpel(rng: random.Random) -> Image.Image:
    """A flat handle and a curved blade: the longest, thinnest instrument of the set."""
    length, width = rng.randint(300, 380), rng.randint(22, 30)
    image, draw = new_canvas(length, width * 2)
    handle_end = int(length * rng.uniform(0.62, 0.7))
    draw.rounded_rectangle((0, width // 2, handle_end, width * 3 // 2), radius=8, fill=steel(rng))
    for x in range(12, handle_end - 12, 9):  # the grip's ridges
        draw.line((x, width // 2 + 4, x, width * 3 // 2 - 4), fill=steel(rng, -40), width=2)
    blade = [(handle_end, width // 2 + 3), (length, width), (handle_end + 10, width * 3 // 2)]
    draw.polygon(blade, fill=steel(rng, 30))
    return add_highlight(image)


def draw_forceps(rng: random.Random) -> Image.Image:
    """Two long arms joined at the back end, opening into a narrow V with ribbed grips."""
    length, spread = rng.randint(260, 330), rng.randint(28, 46)
    image, draw = new_canvas(length, spread + 20)
    top, bottom = 10, spread + 10
    for tip_y in (top, bottom):
        draw.line((0, (top + bottom) / 2, length, tip_y), fill=steel(rng), width=9)
        for x in range(int(length * 0.35), int(length * 0.6), 8):
            y = (top + bottom) / 2 + (tip_y - (top + bottom) / 2) * x / length
            draw.line((x, y - 5, x, y + 5), fill=steel(rng, -45), width=2)
    draw.ellipse((-6, (top + bottom) / 2 - 9, 12, (top + bottom) / 2 + 9), fill=steel(rng, -10))
    return add_highlight(image)


def draw_ring_handles(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    x: float,
    y_top: float,
    y_bottom: float,
    radius: int,
) -> None:
    """The two finger rings that scissors and needle holders share."""
    for y in (y_top, y_bottom):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=steel(rng), width=8)


def draw_scissors(rng: random.Random) -> Image.Image:
    """Two crossing blades with ring handles: long blades, short shanks."""
    length = rng.randint(220, 280)
    radius = rng.randint(22, 28)
    image, draw = new_canvas(length, radius * 4 + 20)
    mid = radius * 2 + 10
    pivot = int(length * 0.45)
    opening = rng.uniform(0.08, 0.2)
    for sign in (-1, 1):
        tip = (length, mid + sign * opening * length * 0.6)
        ring = (radius + 4, mid - sign * radius * 1.1)
        draw.line((ring, (pivot, mid)), fill=steel(rng), width=10)
        draw.polygon([(pivot, mid - 7), tip, (pivot, mid + 7)], fill=steel(rng, 20))
    draw_ring_handles(draw, rng, radius + 4, mid - radius * 1.1, mid + radius * 1.1, radius)
    draw.ellipse((pivot - 7, mid - 7, pivot + 7, mid + 7), fill=steel(rng, -50))
    return add_highlight(image)


def draw_needle_holder(rng: random.Random) -> Image.Image:
    """Ring handles, a long shank and short, stubby jaws; a ratchet between the rings."""
    length = rng.randint(240, 300)
    radius = rng.randint(18, 24)
    image, draw = new_canvas(length, radius * 4 + 20)
    mid = radius * 2 + 10
    jaw_start = int(length * 0.8)
    for sign in (-1, 1):
        ring = (radius + 4, mid - sign * radius * 1.1)
        draw.line((ring, (jaw_start, mid + sign * 2)), fill=steel(rng), width=9)
    draw.rounded_rectangle((jaw_start - 6, mid - 8, length, mid + 8), radius=6, fill=steel(rng, 15))
    for x in range(jaw_start + 4, length - 4, 5):  # the jaws' cross-hatching
        draw.line((x, mid - 6, x, mid + 6), fill=steel(rng, -60), width=1)
    draw_ring_handles(draw, rng, radius + 4, mid - radius * 1.1, mid + radius * 1.1, radius)
    draw.rectangle((radius * 2 + 6, mid - 10, radius * 2 + 22, mid + 10), fill=steel(rng, -30))
    return add_highlight(image)


def draw_retractor(rng: random.Random) -> Image.Image:
    """A flat handle ending in a rake of curved prongs, bent at a right angle."""
    length = rng.randint(230, 290)
    prong_width = rng.randint(60, 80)
    image, draw = new_canvas(length, prong_width + 20)
    mid = (prong_width + 20) // 2
    draw.rounded_rectangle((0, mid - 11, length - 30, mid + 11), radius=9, fill=steel(rng))
    draw.ellipse((8, mid - 6, 20, mid + 6), fill=(0, 0, 0, 0))  # the hanging hole
    draw.rectangle((length - 34, 10, length - 22, prong_width + 10), fill=steel(rng, 10))
    prongs = rng.randint(3, 4)
    for index in range(prongs):
        y = 14 + index * (prong_width - 8) / (prongs - 1)
        draw.line((length - 24, y, length - 4, y + 4), fill=steel(rng, 10), width=7)
    return add_highlight(image)


DRAWERS = {
    "scalpel": draw_scalpel,
    "forceps": draw_forceps,
    "scissors": draw_scissors,
    "needle holder": draw_needle_holder,
    "retractor": draw_retractor,
}


def drape(rng: random.Random, size: int) -> np.ndarray:
    """Surgical drape: blue or green cloth with soft folds and weave noise."""
    base = np.array(
        rng.choice([(38, 96, 140), (52, 120, 112), (70, 120, 160), (60, 104, 88)]), dtype=np.float32
    )
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    folds = sum(
        rng.uniform(0.04, 0.1)
        * np.sin(
            2
            * math.pi
            * (rng.uniform(1, 4) * x * math.cos(a) + rng.uniform(1, 4) * y * math.sin(a))
        )
        for a in [rng.uniform(0, math.pi) for _ in range(3)]
    )
    weave = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 0.035, (size, size))
    return base[None, None, :] * (1 + folds + weave)[..., None]


def tray(draw: ImageDraw.ImageDraw, rng: random.Random, size: int) -> None:
    """A stainless tray: a lighter rectangle with a rim."""
    w, h = rng.randint(size // 3, size * 2 // 3), rng.randint(size // 4, size // 2)
    x, y = rng.randint(-w // 4, size - w * 3 // 4), rng.randint(-h // 4, size - h * 3 // 4)
    shade = rng.randint(150, 200)
    draw.rounded_rectangle(
        (x, y, x + w, y + h),
        radius=14,
        fill=(shade, shade + 4, shade + 8),
        outline=(shade - 40,) * 3,
        width=6,
    )


def clutter(draw: ImageDraw.ImageDraw, rng: random.Random, size: int) -> None:
    """Gauze, tubing and the odd stain: things on a real table that are not instruments."""
    for _ in range(rng.randint(0, 3)):  # gauze squares
        x, y, s = rng.randint(0, size), rng.randint(0, size), rng.randint(30, 70)
        draw.rounded_rectangle((x, y, x + s, y + s * 0.8), radius=6, fill=(236, 234, 228))
    for _ in range(rng.randint(0, 2)):  # tubing: a gentle wave across the table
        x0, y0, angle = rng.randint(0, size), rng.randint(0, size), rng.uniform(0, math.pi)
        amplitude, waves = rng.uniform(10, 40), rng.uniform(0.5, 2)
        points = []
        for t in np.linspace(0, size, 60):
            offset = amplitude * math.sin(2 * math.pi * waves * t / size)
            points.append(
                (
                    x0 + t * math.cos(angle) - offset * math.sin(angle),
                    y0 + t * math.sin(angle) + offset * math.cos(angle),
                )
            )
        draw.line(points, fill=(210, 220, 230), width=rng.randint(5, 9), joint="curve")
    for _ in range(rng.randint(0, 2)):  # stains
        x, y, s = rng.randint(0, size), rng.randint(0, size), rng.randint(6, 18)
        draw.ellipse((x, y, x + s, y + s * 0.7), fill=(120, 30, 28))


def lighting(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """The operating lamp: a bright spot somewhere, darker corners."""
    size = image.shape[0]
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
    spot = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / rng.uniform(0.08, 0.3))
    return image * (rng.uniform(0.6, 0.85) + rng.uniform(0.3, 0.6) * spot)[..., None]


def draw_background(rng: random.Random) -> Image.Image:
    """One empty operating table: drape, trays, clutter, the lamp, and a little camera blur."""
    image = Image.fromarray(np.clip(drape(rng, SCENE_SIZE), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(0, 2)):
        tray(draw, rng, SCENE_SIZE)
    clutter(draw, rng, SCENE_SIZE)
    lit = lighting(np.asarray(image, dtype=np.float32), rng)
    image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ASSETS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for name, draw_instrument in DRAWERS.items():
        folder = args.out / "cutouts" / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(CUTOUTS_PER_CLASS):
            draw_instrument(rng).save(folder / f"{name.replace(' ', '-')}-{index}.png")
    backgrounds = args.out / "backgrounds"
    backgrounds.mkdir(parents=True, exist_ok=True)
    for index in range(BACKGROUNDS):
        draw_background(rng).save(backgrounds / f"table-{index:02d}.jpg", quality=92)
    print(
        f"drew {len(DRAWERS) * CUTOUTS_PER_CLASS} instrument cut-outs and {BACKGROUNDS} "
        f"operating-table scenes in {args.out}/ (synthetic, drawn by code)"
    )


if __name__ == "__main__":
    main()
