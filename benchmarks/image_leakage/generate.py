"""Generate an image-leakage benchmark set: ImageFolder train/val with planted transformed copies.

Content is synthetic but structured like photographs and scans, not noise: every image is a *scene*
(a gradient background, a texture of blurred noise or stripes or grain, shapes at several scales, and
text-like strokes) drawn from one of a few families, one family per class. Perceptual hashes therefore see
low-frequency structure, and images of one class resemble each other.

Validation holds three kinds of images:

- **copies**: a training image (decoded from its file, as a user's pipeline would) put through one transform:
  ``exact`` (same bytes), ``jpeg`` (re-encoded at another quality), ``resize`` (0.5-0.8x), ``crop`` (5-10%
  of each side's length removed), ``brightness`` (brightness and contrast), ``noise`` (Gaussian),
  ``flip`` (horizontal mirror), ``rotation`` (3-5 degrees, black corners). Each is a planted leakage pair.
- **distractors**: a new rendering of a training image's scene with nearby parameters (shapes moved by
  6-15% of the image, resized, half of them recoloured, texture and strokes re-drawn): similar-looking, a
  different image, not leakage. A tool that pairs them lacks precision.
- **clean** images: independent scenes.

Image sides are drawn uniformly from ``[size, 1.6 * size]`` (``--size 500`` gives 500-800 px); about 70% are
JPEG (quality 75-95) and 30% PNG. Output layout::

    OUT/train/<class>/00000.jpg ...
    OUT/val/<class>/00000.png ...
    OUT/truth.json   planted pairs (val id, train id, transform, parameters), distractors, counts

Ids are paths relative to the split root (``"geometry/00012.jpg"``), as splitcheck's ImageFolder loader
names items. Everything is deterministic given ``--seed`` (and independent of ``--jobs``).

Usage::

    python benchmarks/image_leakage/generate.py --train 100 --val 40 --size 256 --out benchmarks/_work/tiny --seed 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

#: Transforms applied to planted copies, in the order they are assigned (round robin).
TRANSFORMS = ("exact", "jpeg", "resize", "crop", "brightness", "noise", "flip", "rotation")
#: Scene families; class ``k`` uses family ``k % len(FAMILIES)``.
FAMILIES = ("landscape", "document", "geometry", "stripes", "blobs", "mosaic")
#: Largest side ratio: sides are drawn from [size, SIZE_SPREAD * size].
SIZE_SPREAD = 1.6
JPEG_SHARE = 0.7

# RNG streams, so that each decision has its own reproducible generator.
_STREAM_PLAN, _STREAM_TRAIN, _STREAM_CLEAN, _STREAM_COPY, _STREAM_DISTRACTOR = range(5)

Color = tuple[int, int, int]


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, index]))


# ---------------------------------------------------------------------------------------------------------
# Scenes


@dataclass
class Shape:
    """One filled or outlined shape. Centre and radii are fractions of the image width/height."""

    kind: str  # ellipse | rect | polygon | ring
    cx: float
    cy: float
    rx: float
    ry: float
    angle: float  # degrees
    color: Color
    alpha: int
    sides: int = 5


@dataclass
class Scene:
    """Everything needed to render one image; rendering is a pure function of it."""

    family: str
    width: int
    height: int
    bg_kind: str  # linear | radial | horizon
    bg_colors: tuple[Color, Color]
    bg_angle: float
    texture_kind: str  # blobs | stripes | grain
    texture_seed: int
    texture_scale: float  # feature size as a fraction of the short side
    texture_amp: float  # in 0-255 units
    texture_angle: float
    shapes: list[Shape] = field(default_factory=list)
    stroke_seed: int = 0
    stroke_lines: int = 0
    stroke_height: float = 0.03  # glyph height as a fraction of the image height
    stroke_color: Color = (20, 20, 20)
    stroke_box: tuple[float, float, float, float] = (0.1, 0.1, 0.9, 0.9)
    blur: float = 0.6


def _color(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> Color:
    c = rng.integers(lo, hi, size=3)
    return int(c[0]), int(c[1]), int(c[2])


def _random_shape(rng: np.random.Generator, kinds: tuple[str, ...], scale: tuple[float, float]) -> Shape:
    r = float(rng.uniform(*scale))
    return Shape(kind=str(rng.choice(kinds)), cx=float(rng.uniform(0.05, 0.95)), cy=float(rng.uniform(0.05, 0.95)),
                 rx=r * float(rng.uniform(0.6, 1.4)), ry=r * float(rng.uniform(0.6, 1.4)),
                 angle=float(rng.uniform(0, 180)), color=_color(rng), alpha=int(rng.integers(140, 256)),
                 sides=int(rng.integers(3, 8)))


def random_scene(rng: np.random.Generator, family: str, size: int) -> Scene:
    """A new scene of ``family`` with sides in ``[size, SIZE_SPREAD * size]``."""
    hi = round(size * SIZE_SPREAD)
    width, height = int(rng.integers(size, hi + 1)), int(rng.integers(size, hi + 1))
    scene = Scene(family=family, width=width, height=height, bg_kind=str(rng.choice(["linear", "radial"])),
                  bg_colors=(_color(rng), _color(rng)), bg_angle=float(rng.uniform(0, 360)),
                  texture_kind=str(rng.choice(["blobs", "stripes", "grain"])), texture_seed=int(rng.integers(2**31)),
                  texture_scale=float(rng.uniform(0.05, 0.3)), texture_amp=float(rng.uniform(15, 45)),
                  texture_angle=float(rng.uniform(0, 180)), stroke_seed=int(rng.integers(2**31)),
                  blur=float(rng.uniform(0.3, 1.0)))
    all_kinds = ("ellipse", "rect", "polygon", "ring")
    n_big, n_mid, n_small = int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(3, 12))
    if family == "landscape":
        scene.bg_kind = "horizon"
        scene.bg_colors = (_color(rng, 90, 256), _color(rng, 0, 140))
        scene.texture_kind = "blobs"
        scene.texture_amp = float(rng.uniform(25, 50))
        n_big, n_mid, n_small = 1, int(rng.integers(1, 4)), int(rng.integers(0, 5))
        kinds: tuple[str, ...] = ("ellipse", "polygon")
    elif family == "document":
        scene.bg_colors = (_color(rng, 200, 256), _color(rng, 180, 256))
        scene.texture_kind = "grain"
        scene.texture_amp = float(rng.uniform(5, 15))
        scene.stroke_lines = int(rng.integers(8, 22))
        scene.stroke_height = float(rng.uniform(0.02, 0.045))
        scene.stroke_color = _color(rng, 0, 90)
        x0, y0 = float(rng.uniform(0.04, 0.15)), float(rng.uniform(0.04, 0.2))
        scene.stroke_box = (x0, y0, float(rng.uniform(0.7, 0.96)), float(rng.uniform(0.75, 0.96)))
        n_big, n_mid, n_small = 0, int(rng.integers(0, 3)), int(rng.integers(0, 3))
        kinds = ("rect",)
    elif family == "geometry":
        n_mid, n_small = int(rng.integers(4, 9)), int(rng.integers(6, 16))
        kinds = all_kinds
    elif family == "stripes":
        scene.texture_kind = "stripes"
        scene.texture_amp = float(rng.uniform(30, 60))
        scene.texture_scale = float(rng.uniform(0.04, 0.2))
        kinds = ("rect", "polygon")
    elif family == "blobs":
        scene.texture_kind = "blobs"
        scene.texture_amp = float(rng.uniform(40, 70))
        kinds = ("ellipse", "ring")
    else:  # mosaic
        scene.texture_kind = "grain"
        n_big, n_mid, n_small = 0, int(rng.integers(8, 20)), int(rng.integers(10, 30))
        kinds = ("rect",)
    for count, scale in ((n_big, (0.2, 0.4)), (n_mid, (0.08, 0.2)), (n_small, (0.02, 0.08))):
        scene.shapes += [_random_shape(rng, kinds, scale) for _ in range(count)]
    if family != "document" and rng.random() < 0.5:  # a caption or sign on half of the other images
        scene.stroke_lines = int(rng.integers(1, 4))
        scene.stroke_height = float(rng.uniform(0.04, 0.1))
        scene.stroke_color = _color(rng)
        x0, y0 = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0.05, 0.7))
        scene.stroke_box = (x0, y0, min(0.97, x0 + float(rng.uniform(0.25, 0.5))), min(0.97, y0 + 0.3))
    return scene


def nearby_scene(scene: Scene, rng: np.random.Generator) -> Scene:
    """A distractor: the same family and background, every other parameter moved a little.

    Shapes move by 6-15% of the image and are rescaled by 0.85-1.15, half of them recoloured; texture and
    strokes are re-drawn with new seeds. It looks related, and it is a different image.
    """
    moved = []
    for shape in scene.shapes:
        dist, theta = float(rng.uniform(0.06, 0.15)), float(rng.uniform(0, 2 * math.pi))
        s = float(rng.uniform(0.85, 1.15))
        color = _color(rng) if rng.random() < 0.5 else shape.color
        moved.append(Shape(kind=shape.kind, cx=shape.cx + dist * math.cos(theta), cy=shape.cy + dist * math.sin(theta),
                           rx=shape.rx * s, ry=shape.ry * s, angle=shape.angle + float(rng.uniform(-20, 20)),
                           color=color, alpha=shape.alpha, sides=shape.sides))
    jitter = np.clip(np.asarray(scene.bg_colors) + rng.integers(-20, 21, size=(2, 3)), 0, 255)
    return Scene(
        family=scene.family, width=scene.width, height=scene.height, bg_kind=scene.bg_kind,
        bg_colors=(tuple(int(v) for v in jitter[0]), tuple(int(v) for v in jitter[1])),  # type: ignore[arg-type]
        bg_angle=scene.bg_angle + float(rng.uniform(-15, 15)), texture_kind=scene.texture_kind,
        texture_seed=int(rng.integers(2**31)), texture_scale=scene.texture_scale * float(rng.uniform(0.8, 1.25)),
        texture_amp=scene.texture_amp, texture_angle=scene.texture_angle + float(rng.uniform(-20, 20)),
        shapes=moved, stroke_seed=int(rng.integers(2**31)), stroke_lines=scene.stroke_lines,
        stroke_height=scene.stroke_height, stroke_color=scene.stroke_color, stroke_box=scene.stroke_box,
        blur=scene.blur,
    )


def _background(scene: Scene) -> np.ndarray:
    h, w = scene.height, scene.width
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x /= w
    y /= h
    if scene.bg_kind == "radial":
        a = math.radians(scene.bg_angle)
        cx, cy = 0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a)
        t = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / 1.2
    elif scene.bg_kind == "horizon":
        t = 1.0 / (1.0 + np.exp(-(y - 0.55 - 0.1 * np.sin(2 * math.pi * x + scene.bg_angle)) * 25))
    else:
        a = math.radians(scene.bg_angle)
        t = (x - 0.5) * math.cos(a) + (y - 0.5) * math.sin(a) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    c0, c1 = (np.asarray(c, dtype=np.float32) for c in scene.bg_colors)
    return c0 * (1 - t) + c1 * t


def _texture(scene: Scene) -> np.ndarray:
    h, w = scene.height, scene.width
    rng = np.random.default_rng(scene.texture_seed)
    short = min(h, w)
    if scene.texture_kind == "stripes":
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        a = math.radians(scene.texture_angle)
        period = max(4.0, scene.texture_scale * short)
        wave = np.sin(2 * math.pi * (x * math.cos(a) + y * math.sin(a)) / period)
        tint = rng.uniform(0.4, 1.0, size=3).astype(np.float32)
        return wave[..., None] * tint * scene.texture_amp
    if scene.texture_kind == "grain":
        cell = 2
        amp = scene.texture_amp
    else:  # blobs: low-frequency noise, smooth when upsampled
        cell = max(2, int(scene.texture_scale * short / 2))
        amp = scene.texture_amp * 1.6
    small = rng.random((max(2, h // cell + 2), max(2, w // cell + 2), 3), dtype=np.float32)
    img = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    if scene.texture_kind == "grain":
        img = img.filter(ImageFilter.GaussianBlur(0.7))
    return (np.asarray(img, dtype=np.float32) / 255.0 - 0.5) * amp


def _shape_points(shape: Shape, w: int, h: int) -> list[tuple[float, float]]:
    if shape.kind in ("ellipse", "ring"):
        n = 48
    elif shape.kind == "rect":
        n = 4
    else:
        n = shape.sides
    offset = math.pi / 4 if shape.kind == "rect" else 0.0
    a = math.radians(shape.angle)
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n + offset
        px, py = shape.rx * math.cos(t) * math.sqrt(2 if shape.kind == "rect" else 1), shape.ry * math.sin(t)
        if shape.kind == "rect":
            py *= math.sqrt(2)
        rx, ry = px * math.cos(a) - py * math.sin(a), px * math.sin(a) + py * math.cos(a)
        pts.append(((shape.cx + rx) * w, (shape.cy + ry) * h))
    return pts


def _draw_strokes(draw: ImageDraw.ImageDraw, scene: Scene) -> None:
    """Text-like strokes: lines of 'words' made of small random glyph polylines."""
    if scene.stroke_lines <= 0:
        return
    rng = np.random.default_rng(scene.stroke_seed)
    w, h = scene.width, scene.height
    x0, y0, x1, y1 = (scene.stroke_box[0] * w, scene.stroke_box[1] * h, scene.stroke_box[2] * w,
                      scene.stroke_box[3] * h)
    gh = max(4.0, scene.stroke_height * h)
    gw = gh * 0.6
    width = max(1, round(gh / 9))
    y = y0
    for line in range(scene.stroke_lines):
        if y + gh > y1:
            break
        x = x0 + (gw * 2 if line and rng.random() < 0.2 else 0)
        while x + gw < x1:
            for _ in range(int(rng.integers(2, 9))):  # one word
                if x + gw >= x1:
                    break
                pts = [(x + float(rng.uniform(0, gw)), y + float(rng.uniform(0, gh))) for _ in range(3)]
                draw.line(pts, fill=scene.stroke_color + (255,), width=width, joint="curve")
                x += gw * float(rng.uniform(0.9, 1.2))
            x += gw * 1.2
        y += gh * float(rng.uniform(1.5, 2.0))


def render(scene: Scene) -> Image.Image:
    """Draw ``scene`` as an RGB image."""
    pixels = _background(scene) + _texture(scene)
    base = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = scene.width, scene.height
    for shape in scene.shapes:
        pts = _shape_points(shape, w, h)
        fill = shape.color + (shape.alpha,)
        if shape.kind == "ring":
            draw.line(pts + [pts[0]], fill=fill, width=max(2, int(min(w, h) * min(shape.rx, shape.ry) * 0.25)))
        else:
            draw.polygon(pts, fill=fill)
    _draw_strokes(draw, scene)
    out = Image.alpha_composite(base, layer).convert("RGB")
    return out.filter(ImageFilter.GaussianBlur(scene.blur))


# ---------------------------------------------------------------------------------------------------------
# Copies


def transform_image(name: str, img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict[str, Any]]:
    """Apply one planted transform (not ``exact`` or ``jpeg``, which are encodings) and return its parameters."""
    w, h = img.size
    if name == "resize":
        f = float(rng.uniform(0.5, 0.8))
        return img.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.LANCZOS), {"factor": f}
    if name == "crop":
        fx, fy = float(rng.uniform(0.05, 0.10)), float(rng.uniform(0.05, 0.10))
        left, top = round(w * fx * float(rng.uniform(0, 1))), round(h * fy * float(rng.uniform(0, 1)))
        right, bottom = left + round(w * (1 - fx)), top + round(h * (1 - fy))
        box = [left, top, right, bottom]
        return img.crop((left, top, right, bottom)), {"fraction_x": fx, "fraction_y": fy, "box": box}
    if name == "brightness":
        b = float(rng.choice([-1, 1]) * rng.uniform(0.1, 0.25) + 1)
        c = float(rng.choice([-1, 1]) * rng.uniform(0.1, 0.25) + 1)
        out = ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(b)).enhance(c)
        return out, {"brightness": b, "contrast": c}
    if name == "noise":
        sigma = float(rng.uniform(5, 10))
        arr = np.asarray(img, dtype=np.float32) + rng.normal(0, sigma, size=(h, w, 3)).astype(np.float32)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)), {"sigma": sigma}
    if name == "flip":
        return ImageOps.mirror(img), {}
    if name == "rotation":
        angle = float(rng.choice([-1, 1]) * rng.uniform(3, 5))
        return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False), {"degrees": angle}
    raise ValueError(f"unknown transform {name!r}")


# ---------------------------------------------------------------------------------------------------------
# Plan and work


@dataclass(frozen=True)
class Task:
    """One file to write. ``source`` is a training file for copies and distractors."""

    kind: str  # train | clean | copy | distractor
    index: int  # index within its kind's stream (train index or val slot)
    out: str  # absolute path
    family: str
    fmt: str  # JPEG | PNG
    quality: int
    transform: str = ""
    source: str = ""  # absolute path of the training file
    source_index: int = -1


def _save(img: Image.Image, path: str, fmt: str, quality: int) -> None:
    if fmt == "JPEG":
        img.save(path, "JPEG", quality=quality)
    else:
        img.save(path, "PNG", compress_level=6)


def _work(job: tuple[Task, int, int]) -> dict[str, Any]:
    task, seed, size = job
    params: dict[str, Any] = {}
    if task.kind == "train":
        _save(render(random_scene(_rng(seed, _STREAM_TRAIN, task.index), task.family, size)), task.out, task.fmt,
              task.quality)
    elif task.kind == "clean":
        _save(render(random_scene(_rng(seed, _STREAM_CLEAN, task.index), task.family, size)), task.out, task.fmt,
              task.quality)
    elif task.kind == "distractor":
        source_scene = random_scene(_rng(seed, _STREAM_TRAIN, task.source_index), task.family, size)
        _save(render(nearby_scene(source_scene, _rng(seed, _STREAM_DISTRACTOR, task.index))), task.out, task.fmt,
              task.quality)
    elif task.transform == "exact":
        shutil.copyfile(task.source, task.out)
    else:
        rng = _rng(seed, _STREAM_COPY, task.index)
        with Image.open(task.source) as opened:
            img = opened.convert("RGB")
        if task.transform == "jpeg":
            params = {"quality": task.quality}
        else:
            img, params = transform_image(task.transform, img, rng)
        _save(img, task.out, task.fmt, task.quality)
    return params


def _format(rng: np.random.Generator) -> tuple[str, int]:
    return ("JPEG", int(rng.integers(75, 96))) if rng.random() < JPEG_SHARE else ("PNG", 0)


def _ext(fmt: str) -> str:
    return ".jpg" if fmt == "JPEG" else ".png"


def class_names(n_classes: int) -> list[str]:
    """Class folder names: the family names, suffixed with a number once they repeat."""
    return [FAMILIES[k % len(FAMILIES)] + (str(k // len(FAMILIES)) if k >= len(FAMILIES) else "")
            for k in range(n_classes)]


def plan(n_train: int, n_val: int, out: Path, seed: int, n_classes: int, copy_fraction: float,
         distractor_fraction: float) -> tuple[list[Task], list[Task]]:
    """The training tasks and the validation tasks (copies, distractors, clean), in file order."""
    rng = _rng(seed, _STREAM_PLAN, 0)
    classes = class_names(n_classes)
    train_class = rng.integers(0, n_classes, size=n_train)
    train: list[Task] = []
    train_fmt: list[tuple[str, int]] = []
    for i in range(n_train):
        fmt, q = _format(rng)
        train_fmt.append((fmt, q))
        cls = classes[train_class[i]]
        train.append(Task("train", i, str(out / "train" / cls / f"{i:05d}{_ext(fmt)}"), cls.rstrip("0123456789"),
                          fmt, q))
    n_copy = round(n_val * copy_fraction)
    n_distractor = round(n_val * distractor_fraction)
    if n_copy + n_distractor > n_val:
        raise SystemExit(f"generate.py: copies ({n_copy}) and distractors ({n_distractor}) exceed --val {n_val}")
    if n_train == 0 and n_copy + n_distractor:
        raise SystemExit("generate.py: copies and distractors need at least one training image")
    n_sources = n_copy + n_distractor
    sources = rng.choice(n_train, size=n_sources, replace=n_sources > n_train) if n_sources else np.array([], int)
    start = int(rng.integers(len(TRANSFORMS)))
    kinds = (["copy"] * n_copy + ["distractor"] * n_distractor + ["clean"] * (n_val - n_sources))
    slots = rng.permutation(n_val)  # val file number of each task, so planted files are spread out
    val: list[Task] = []
    for k, kind in enumerate(kinds):
        slot = int(slots[k])
        if kind == "clean":
            fmt, q = _format(rng)
            cls_index = int(rng.integers(n_classes))
            cls = classes[cls_index]
            val.append(Task("clean", slot, str(out / "val" / cls / f"{slot:05d}{_ext(fmt)}"),
                            cls.rstrip("0123456789"), fmt, q))
            continue
        src = int(sources[k])
        src_task = train[src]
        cls = Path(src_task.out).parent.name
        src_fmt, src_q = train_fmt[src]
        transform = TRANSFORMS[(start + k) % len(TRANSFORMS)] if kind == "copy" else ""
        if kind == "distractor":
            fmt, q = _format(rng)
        elif transform == "exact":
            fmt, q = src_fmt, src_q
        elif transform == "jpeg":  # another quality, at least 10 away from the source's
            fmt = "JPEG"
            choices = [v for v in range(50, 91) if src_fmt != "JPEG" or abs(v - src_q) >= 10]
            q = int(rng.choice(choices))
        else:  # same format as the source, re-saved
            fmt, q = src_fmt, (int(rng.integers(85, 96)) if src_fmt == "JPEG" else 0)
        val.append(Task(kind, slot, str(out / "val" / cls / f"{slot:05d}{_ext(fmt)}"), src_task.family, fmt, q,
                        transform=transform, source=src_task.out, source_index=src))
    return train, val


def _rel(path: str, root: Path) -> str:
    return Path(path).relative_to(root).as_posix()


def generate(n_train: int, n_val: int, out: Path, seed: int = 0, size: int = 256, n_classes: int = 6,
             copy_fraction: float = 0.3, distractor_fraction: float = 0.2, jobs: int | None = None,
             verbose: bool = True) -> dict[str, Any]:
    """Write the dataset under ``out`` (which must not hold a previous one) and return the truth record."""
    if (out / "train").exists() or (out / "val").exists():
        raise SystemExit(f"generate.py: {out} already holds train/ or val/; remove it or choose another --out")
    train, val = plan(n_train, n_val, out, seed, n_classes, copy_fraction, distractor_fraction)
    for task in train + val:
        Path(task.out).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = jobs or os.cpu_count() or 1
    with Pool(jobs) as pool:
        chunk = max(1, min(64, len(train) // (jobs * 8) or 1))
        list(pool.imap(_work, [(t, seed, size) for t in train], chunksize=chunk))
        if verbose:
            print(f"train: {len(train)} images in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        val_chunk = max(1, min(64, len(val) // (jobs * 8) or 1))
        val_params = pool.map(_work, [(t, seed, size) for t in val], chunksize=val_chunk)
    if verbose:
        print(f"val: {len(val)} images; total {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    train_root, val_root = out / "train", out / "val"
    pairs, distractors = [], []
    for task, params in zip(val, val_params):
        entry = {"val_id": _rel(task.out, val_root), "train_id": _rel(task.source, train_root)} if task.source else {}
        if task.kind == "copy":
            pairs.append({**entry, "transform": task.transform, "params": params})
        elif task.kind == "distractor":
            distractors.append(entry)
    pairs.sort(key=lambda p: p["val_id"])
    distractors.sort(key=lambda p: p["val_id"])
    truth = {
        "version": 1,
        "generator": {"seed": seed, "size": size, "size_range": [size, round(size * SIZE_SPREAD)],
                      "classes": class_names(n_classes), "copy_fraction": copy_fraction,
                      "distractor_fraction": distractor_fraction},
        "n_train": n_train, "n_val": n_val, "transforms": list(TRANSFORMS),
        "pairs": pairs,
        "distractors": distractors,
        "n_clean": sum(t.kind == "clean" for t in val),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    global JPEG_SHARE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, required=True, help="number of training images")
    parser.add_argument("--val", type=int, required=True, help="number of validation images")
    parser.add_argument("--size", type=int, default=256, help="smallest side in px; sides span [size, 1.6*size]")
    parser.add_argument("--out", type=Path, required=True, help="output folder (train/, val/, truth.json)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, default=6, help="number of class folders (default 6)")
    parser.add_argument("--copy-fraction", type=float, default=0.3,
                        help="share of validation images that are planted copies (default 0.3)")
    parser.add_argument("--distractor-fraction", type=float, default=0.2,
                        help="share of validation images that are distractors (default 0.2)")
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--jpeg-share", type=float, default=JPEG_SHARE,
                        help=f"share of images stored as JPEG, the rest PNG (default {JPEG_SHARE}; 1.0 for a "
                             "photo collection, where every file is a JPEG)")
    args = parser.parse_args(argv)
    JPEG_SHARE = args.jpeg_share  # read by _format while the dataset is planned, in this process
    if args.train < 0 or args.val < 0 or args.size < 16 or args.classes < 1:
        parser.error("--train/--val must be >= 0, --size >= 16, --classes >= 1")
    truth = generate(args.train, args.val, args.out, seed=args.seed, size=args.size, n_classes=args.classes,
                     copy_fraction=args.copy_fraction, distractor_fraction=args.distractor_fraction, jobs=args.jobs)
    counts: dict[str, int] = {}
    for pair in truth["pairs"]:
        counts[pair["transform"]] = counts.get(pair["transform"], 0) + 1
    print(f"{args.out}: {args.train} train, {args.val} val ({len(truth['pairs'])} planted copies "
          f"{counts}, {len(truth['distractors'])} distractors, {truth['n_clean']} clean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
