"""Data with planted semantic near-copies for the embedding benchmarks (nothing is downloaded).

Images: "scenes" made of a background cut from the two photographs scikit-learn ships
(``load_sample_images``: a temple and a flower, 427x640) at a random place and scale, plus 2-5 coloured
shapes. Every scene has a class (its palette and shape family) so that unrelated images of one class look
alike, as in a real dataset. Near-copies of a training scene are made by:

- ``crop``: a strong crop keeping 35-55 % of the area, resized back;
- ``jitter``: brightness, contrast, saturation and hue changes plus a downscale to 50-75 %;
- ``reshoot``: the same scene rendered again with the shapes moved and resized, the background shifted
  and new sensor noise (a second photograph of the same objects);
- ``flip_jpeg``: a horizontal mirror saved as JPEG quality 60;
- ``rotate``: a 8-15 degree rotation with the corners cropped away.

Text: sentences from a template grammar; near-copies by paraphrase-like edits (synonyms, reordering,
dropped words, typos). Tables: rows of mixed numeric/categorical columns; near-copies perturb numbers by
1-3 % and change one categorical field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

TRANSFORMS = ("crop", "jitter", "reshoot", "flip_jpeg", "rotate")
_PHOTOS: list[np.ndarray] = []


def _photos() -> list[np.ndarray]:
    if not _PHOTOS:
        from sklearn.datasets import load_sample_images

        _PHOTOS.extend(load_sample_images().images)
    return _PHOTOS


@dataclass(frozen=True)
class Shape:
    kind: str
    cx: float
    cy: float
    w: float
    h: float
    angle: float
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    photo: int
    x0: float
    y0: float
    scale: float
    shapes: tuple[Shape, ...]
    label: int


def make_scene(rng: np.random.Generator, n_classes: int = 10) -> Scene:
    label = int(rng.integers(n_classes))
    crng = np.random.default_rng(1000 + label)  # the class fixes a palette and shape family
    palette = crng.integers(0, 256, (4, 3))
    kinds = [("ellipse", "rectangle", "triangle")[int(v)] for v in crng.integers(0, 3, 2)]
    photo = int(rng.integers(2))
    scale = float(rng.uniform(0.25, 0.6))
    shapes = []
    for _ in range(int(rng.integers(2, 6))):
        base = palette[int(rng.integers(4))]
        color = tuple(int(c) for c in np.clip(base + rng.normal(0, 25, 3), 0, 255))
        shapes.append(Shape(kinds[int(rng.integers(2))], float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.15, 0.85)),
                            float(rng.uniform(0.12, 0.35)), float(rng.uniform(0.12, 0.35)),
                            float(rng.uniform(0, 180)), color))  # type: ignore[arg-type]
    return Scene(photo, float(rng.uniform(0, 1)), float(rng.uniform(0, 1)), scale, tuple(shapes), label)


def render(scene: Scene, size: int, rng: np.random.Generator, noise: float = 3.0) -> Image.Image:
    photo = _photos()[scene.photo]
    ph, pw = photo.shape[:2]
    side = int(min(ph, pw) * scene.scale)
    y = int(scene.y0 * (ph - side))
    x = int(scene.x0 * (pw - side))
    bg = Image.fromarray(photo[y:y + side, x:x + side]).resize((size * 2, size * 2), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(bg)
    big = size * 2
    for s in scene.shapes:
        cx, cy, w, h = s.cx * big, s.cy * big, s.w * big / 2, s.h * big / 2
        if s.kind == "ellipse":
            draw.ellipse([cx - w, cy - h, cx + w, cy + h], fill=s.color)
        elif s.kind == "rectangle":
            a = np.deg2rad(s.angle)
            pts = [(-w, -h), (w, -h), (w, h), (-w, h)]
            draw.polygon([(cx + px * np.cos(a) - py * np.sin(a), cy + px * np.sin(a) + py * np.cos(a))
                          for px, py in pts], fill=s.color)
        else:
            a = np.deg2rad(s.angle)
            pts = [(0, -h), (w, h), (-w, h)]
            draw.polygon([(cx + px * np.cos(a) - py * np.sin(a), cy + px * np.sin(a) + py * np.cos(a))
                          for px, py in pts], fill=s.color)
    img = np.asarray(bg.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float32)
    img = img + rng.normal(0, noise, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def reshoot(scene: Scene, rng: np.random.Generator) -> Scene:
    shapes = tuple(replace(s, cx=s.cx + float(rng.normal(0, 0.04)), cy=s.cy + float(rng.normal(0, 0.04)),
                           w=s.w * float(rng.uniform(0.9, 1.1)), h=s.h * float(rng.uniform(0.9, 1.1)),
                           angle=s.angle + float(rng.normal(0, 8))) for s in scene.shapes)
    return replace(scene, x0=float(np.clip(scene.x0 + rng.normal(0, 0.03), 0, 1)),
                   y0=float(np.clip(scene.y0 + rng.normal(0, 0.03), 0, 1)),
                   scale=scene.scale * float(rng.uniform(0.93, 1.07)), shapes=shapes)


def transform(kind: str, scene: Scene, image: Image.Image, size: int, rng: np.random.Generator) -> Image.Image:
    """A near-copy of ``image`` (the rendering of ``scene``) made by transformation ``kind``."""
    if kind == "crop":
        area = rng.uniform(0.35, 0.55)
        side = int(round(size * np.sqrt(area) * rng.uniform(0.9, 1.1)))
        side2 = int(round(size * size * area / side))
        side, side2 = min(side, size), min(side2, size)
        x = int(rng.integers(0, size - side + 1))
        y = int(rng.integers(0, size - side2 + 1))
        return image.crop((x, y, x + side, y + side2)).resize((size, size), Image.Resampling.BICUBIC)
    if kind == "jitter":
        out = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))
        out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.7, 1.3))
        out = ImageEnhance.Color(out).enhance(rng.uniform(0.5, 1.5))
        hsv = np.asarray(out.convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(int) + int(rng.integers(-12, 13))) % 256
        out = Image.fromarray(hsv, "HSV").convert("RGB")
        small = int(size * rng.uniform(0.5, 0.75))
        return out.resize((small, small), Image.Resampling.BILINEAR)
    if kind == "reshoot":
        return render(reshoot(scene, rng), size, rng)
    if kind == "flip_jpeg":
        buf = io.BytesIO()
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(buf, "JPEG", quality=60)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    if kind == "rotate":
        angle = float(rng.uniform(8, 15)) * (1 if rng.random() < 0.5 else -1)
        rot = image.rotate(angle, resample=Image.Resampling.BILINEAR)
        m = int(size * 0.15)
        return rot.crop((m, m, size - m, size - m)).resize((size, size), Image.Resampling.BICUBIC)
    raise ValueError(kind)


@dataclass
class ImageSet:
    train: list[Image.Image]
    val: list[Image.Image]
    train_labels: list[int]
    val_labels: list[int]
    pairs: dict[int, int]  # val index -> train index of its planted source
    kinds: dict[int, str]  # val index -> transform


def make_image_set(n_train: int, n_val: int, n_planted_per_kind: int, *, size: int = 64, seed: int = 0,
                   kinds: tuple[str, ...] = TRANSFORMS) -> ImageSet:
    rng = np.random.default_rng(seed)
    scenes = [make_scene(rng) for _ in range(n_train)]
    train = [render(s, size, rng) for s in scenes]
    val: list[Image.Image] = []
    val_labels: list[int] = []
    pairs: dict[int, int] = {}
    planted_kinds: dict[int, str] = {}
    sources = rng.choice(n_train, size=n_planted_per_kind * len(kinds), replace=False)
    for j, src in enumerate(sources):
        kind = kinds[j // n_planted_per_kind]
        pairs[len(val)] = int(src)
        planted_kinds[len(val)] = kind
        val.append(transform(kind, scenes[src], train[src], size, rng))
        val_labels.append(scenes[src].label)
    while len(val) < n_val:
        s = make_scene(rng)
        val.append(render(s, size, rng))
        val_labels.append(s.label)
    return ImageSet(train, val, [s.label for s in scenes], val_labels, pairs, planted_kinds)


# --- text --------------------------------------------------------------------------------------------
_SUBJECTS = ["the battery", "this charger", "the screen", "my order", "the delivery", "the seller", "the case",
             "the keyboard", "this camera", "the headphones", "the printer", "the blender", "this kettle",
             "the mattress", "the stroller", "the lamp", "the vacuum", "the router", "the drill", "the watch"]
_VERBS = ["stopped working after", "broke within", "arrived late by", "lasted only", "was replaced after",
          "needed repair after", "performed well for", "worked perfectly for", "overheated after",
          "kept disconnecting after"]
_TIMES = ["two days", "a week", "three weeks", "a month", "six months", "a year", "ten days", "four hours"]
_TAILS = ["and support never answered", "so I asked for a refund", "which was disappointing",
          "and I would buy it again", "but the price was fair", "and the packaging was damaged",
          "so I gave it two stars", "and the manual was useless", "though shipping was quick",
          "and customer service was helpful"]
_SYN = {"stopped working": "quit working", "broke": "failed", "arrived": "showed up", "lasted": "survived",
        "disappointing": "a letdown", "refund": "reimbursement", "perfectly": "flawlessly", "quick": "fast",
        "useless": "worthless", "helpful": "supportive", "damaged": "dented", "fair": "reasonable",
        "would": "will", "never": "did not", "week": "7 days", "month": "30 days", "year": "12 months"}


def make_sentence(rng: np.random.Generator) -> str:
    s = f"{_SUBJECTS[rng.integers(len(_SUBJECTS))]} {_VERBS[rng.integers(len(_VERBS))]} " \
        f"{_TIMES[rng.integers(len(_TIMES))]} {_TAILS[rng.integers(len(_TAILS))]}"
    extra = rng.integers(0, 3)
    for _ in range(extra):
        s += f", {_TAILS[rng.integers(len(_TAILS))]}"
    return s[0].upper() + s[1:] + "."


def paraphrase(text: str, rng: np.random.Generator) -> str:
    """Synonym swaps, a clause moved, a dropped word and a typo: a paraphrase-like edit."""
    out = text.rstrip(".")
    for a, b in _SYN.items():
        if a in out and rng.random() < 0.7:
            out = out.replace(a, b, 1)
    parts = out.split(", ")
    if len(parts) > 2:
        i, j = rng.choice(np.arange(1, len(parts)), 2, replace=False)
        parts[i], parts[j] = parts[j], parts[i]
    out = ", ".join(parts)
    words = out.split()
    if len(words) > 6:
        del words[int(rng.integers(1, len(words)))]
    w = int(rng.integers(len(words)))
    if len(words[w]) > 3:
        k = int(rng.integers(1, len(words[w]) - 1))
        words[w] = words[w][:k] + words[w][k + 1] + words[w][k] + words[w][k + 2:]
    return " ".join(words) + ("!" if rng.random() < 0.5 else ".")


@dataclass
class TextSet:
    train: list[str]
    val: list[str]
    pairs: dict[int, int]


def make_text_set(n_train: int, n_val: int, n_planted: int, seed: int = 0) -> TextSet:
    rng = np.random.default_rng(seed)
    train = [make_sentence(rng) for _ in range(n_train)]
    sources = rng.choice(n_train, n_planted, replace=False)
    val = [paraphrase(train[s], rng) for s in sources]
    pairs = {i: int(s) for i, s in enumerate(sources)}
    val += [make_sentence(rng) for _ in range(n_val - n_planted)]
    return TextSet(train, val, pairs)


_DOC_MODULES = (
    "os", "re", "json", "collections", "itertools", "functools", "pathlib", "argparse", "logging", "subprocess",
    "threading", "asyncio", "email", "http.client", "urllib.request", "unittest", "typing", "dataclasses", "decimal",
    "fractions", "statistics", "random", "datetime", "calendar", "csv", "sqlite3", "zipfile", "tarfile", "shutil",
    "tempfile", "socket", "ssl", "hashlib", "textwrap", "string", "difflib", "inspect", "ast", "pickle", "copy",
    "heapq", "bisect", "queue", "contextlib", "abc", "math", "enum", "io", "time", "locale", "codecs", "configparser",
    "zlib", "gzip", "struct", "types", "operator", "glob", "platform", "traceback", "warnings", "doctest", "pdb",
    "timeit", "multiprocessing", "concurrent.futures", "selectors", "signal", "uuid", "ipaddress", "base64",
    "mimetypes", "mailbox", "smtplib", "imaplib", "ftplib", "xmlrpc.client", "cmd", "shlex", "optparse",
    "numpy", "pandas", "scipy", "sklearn")
_WORDS = {"returns": "gives back", "return": "give back", "function": "routine", "value": "number", "object": "instance",
          "specified": "given", "default": "standard", "the": "a", "is": "gets", "will": "shall", "use": "employ",
          "file": "document", "list": "sequence", "method": "procedure", "create": "make", "create a": "build a",
          "string": "text", "argument": "parameter", "raise": "throw", "error": "failure", "new": "fresh",
          "number": "count", "must": "has to", "called": "invoked", "contains": "holds", "array": "matrix"}


def doc_sentences() -> list[str]:
    """English sentences (40-200 characters) from the docstrings of the standard library and of numpy, pandas,
    scipy and scikit-learn: real technical prose, available offline, deduplicated and sorted."""
    import importlib
    import inspect
    import re
    import warnings

    found: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _DOC_MODULES:
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001  (a module that does not import here is skipped)
                continue
            for obj in [module] + [getattr(module, n, None) for n in dir(module) if not n.startswith("_")]:
                try:
                    doc = inspect.getdoc(obj)
                except Exception:  # noqa: BLE001
                    continue
                for para in (doc or "").split("\n\n"):
                    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(para.split())):
                        if 40 <= len(sentence) <= 200 and sentence[0].isupper() and sentence.endswith(".") \
                                and not re.search(r"[>=\[\]{}|]|\.\.\.|::", sentence):
                            found.add(sentence)
    return sorted(found)


def distinct_doc_sentences(max_similarity: float = 0.8) -> list[str]:
    """:func:`doc_sentences` without natural near-duplicates (docstrings are often copied between functions):
    a sentence is dropped when its character n-gram TF-IDF cosine to a kept one exceeds ``max_similarity``."""
    from splitcheck.embed.text import TfidfSvdEmbedder
    from splitcheck.index.knn import knn_search

    pool = doc_sentences()
    vectors = TfidfSvdEmbedder().fit_texts(pool).embed(pool)
    result = knn_search(vectors, None, k=10, method="flat")
    dropped = np.zeros(len(pool), bool)
    for i in range(len(pool)):
        if dropped[i]:
            continue
        close = result.indices[i][(result.similarities[i] > max_similarity) & (result.indices[i] > i)]
        dropped[close] = True
    return [p for p, d in zip(pool, dropped) if not d]


def paraphrase_general(text: str, rng: np.random.Generator) -> str:
    """Paraphrase-like edit of any sentence: two synonym swaps, a dropped word, two neighbours swapped, a typo."""
    words = text.rstrip(".").split()
    swaps = [i for i, w in enumerate(words) if w.lower() in _WORDS]
    for i in rng.permutation(swaps)[:2]:
        words[i] = _WORDS[words[i].lower()]
    if len(words) > 6:
        del words[int(rng.integers(1, len(words)))]
    if len(words) > 4:
        i = int(rng.integers(1, len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    w = int(rng.integers(len(words)))
    if len(words[w]) > 3:
        k = int(rng.integers(1, len(words[w]) - 1))
        words[w] = words[w][:k] + words[w][k + 1] + words[w][k] + words[w][k + 2:]
    return " ".join(words) + "."


def make_doc_text_set(n_train: int, n_val: int, n_planted: int, seed: int = 0) -> TextSet:
    """Train/val from real docstring sentences; the first ``n_planted`` val items paraphrase train items."""
    rng = np.random.default_rng(seed)
    pool = distinct_doc_sentences()
    if n_train + n_val > len(pool):
        raise ValueError(f"only {len(pool)} sentences available")
    chosen = rng.permutation(len(pool))[: n_train + n_val]
    train = [pool[i] for i in chosen[:n_train]]
    sources = rng.choice(n_train, n_planted, replace=False)
    val = [paraphrase_general(train[s], rng) for s in sources] + [pool[i] for i in chosen[n_train + n_planted:]]
    return TextSet(train, val, {i: int(s) for i, s in enumerate(sources)})


# --- tables ------------------------------------------------------------------------------------------
def make_table_set(n_train: int, n_val: int, n_planted: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """Two DataFrames (16 numeric and 4 categorical columns, 5 % missing in one) and the planted val->train
    pairs: each planted val row is a train row with 3 numbers scaled by 0.97-1.03, one number rounded,
    and one categorical field changed."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    levels = {"city": 12, "plan": 5, "channel": 8, "segment": 20}

    def rows(n: int) -> pd.DataFrame:
        data: dict[str, np.ndarray] = {}
        for j in range(16):
            kind = j % 4
            if kind == 0:
                data[f"x{j}"] = np.round(rng.normal(100, 15, n), 2)
            elif kind == 1:
                data[f"x{j}"] = np.round(rng.lognormal(3, 0.7, n), 3)
            elif kind == 2:
                data[f"x{j}"] = np.round(rng.uniform(0, 1000, n), 1)
            else:
                data[f"x{j}"] = rng.integers(0, 200, n).astype(float)
        for name, k in levels.items():
            data[name] = rng.choice([f"{name}_{i}" for i in range(k)], n)
        return pd.DataFrame(data)

    train = rows(n_train)
    train.loc[rng.random(n_train) < 0.05, "x1"] = np.nan
    val = rows(n_val)
    sources = rng.choice(n_train, n_planted, replace=False)
    copies = train.iloc[sources].reset_index(drop=True).copy()
    numeric = [f"x{j}" for j in range(16)]
    for i in range(n_planted):
        for c in rng.choice(numeric, 3, replace=False):
            copies.at[i, c] = round(float(copies.at[i, c]) * rng.uniform(0.97, 1.03), 3)
        c = numeric[int(rng.integers(16))]
        copies.at[i, c] = float(np.round(copies.at[i, c]))
        name = list(levels)[int(rng.integers(len(levels)))]
        options = sorted(set(train[name]) - {copies.at[i, name]})
        copies.at[i, name] = options[int(rng.integers(len(options)))]
    val.iloc[:n_planted] = copies.to_numpy()
    val = val.infer_objects()
    return train, val, {i: int(s) for i, s in enumerate(sources)}
