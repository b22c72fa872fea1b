"""A bounded fuzz of the loaders (hypothesis): random bytes, CSV-like text, JSON lines and arrays written to
files and loaded with ``load_split``. Only InputError / ConfigError may come out (and no warning: pytest
turns warnings into errors); a split that loads has unique string ids and a payload per item. Then mutated
image files through the image signatures: each is hashed or gets a one-line reason, never an exception."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from splitcheck.errors import ConfigError, InputError
from splitcheck.loaders import LoadOptions, load_split
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.signatures.images import compute_image_signatures

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

TABLE_SUFFIXES = [".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".npy", ".npz", ".png", ""]
COLUMN_NAMES = ["id", "label", "path", "text", "x", "y", "when", "group", "", "Unnamed: 0", "id.1", "é"]

cells = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["", "NaN", "nan", "inf", "-0", "1e309", "2020-01-01", "2020-13-45", "a.png", "../b.jpg",
                     "/etc/passwd", "True", '"', '""', "\n", "\r\n", ";", ",", "\t", "\ufeff", "\x00"]),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(COLUMN_NAMES), children,
                                                                        max_size=3),
    max_leaves=8,
)
options = st.builds(
    LoadOptions,
    label_column=st.none() | st.sampled_from(COLUMN_NAMES),
    group_column=st.none() | st.sampled_from(COLUMN_NAMES),
    time_column=st.none() | st.sampled_from(COLUMN_NAMES),
    id_column=st.none() | st.sampled_from(COLUMN_NAMES),
    text_column=st.none() | st.sampled_from(COLUMN_NAMES),
    path_column=st.none() | st.sampled_from(COLUMN_NAMES),
    modality=st.none() | st.sampled_from(["image", "table", "text", "vector"]),
)


def _load(content: bytes, suffix: str, opts: LoadOptions) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"split{suffix}"
        path.write_bytes(content)
        try:
            split = load_split("val", path, opts)
        except (InputError, ConfigError) as exc:
            message = str(exc)
            assert message and "\n" not in message and "\r" not in message, message  # one line for the CLI
            return
        ids = split.items["id"].tolist()
        assert len(ids) == len(split) > 0 and len(set(ids)) == len(ids)
        assert all(isinstance(i, str) for i in ids)
        payload = {"image": split.paths, "table": split.features, "text": split.texts, "vector": split.vectors}
        assert len(payload[split.modality]) == len(split)


@FUZZ
@given(content=st.binary(max_size=300), suffix=st.sampled_from(TABLE_SUFFIXES), opts=options)
def test_random_bytes(content, suffix, opts):
    _load(content, suffix, opts)


@FUZZ
@given(header=st.lists(st.sampled_from(COLUMN_NAMES) | cells, min_size=1, max_size=5),
       rows=st.lists(st.lists(cells, max_size=6), max_size=6),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), bom=st.booleans(),
       suffix=st.sampled_from([".csv", ".tsv", ".txt"]), opts=options)
def test_csv_like_text(header, rows, delimiter, bom, suffix, opts):
    def line(values):
        return delimiter.join(f'"{v}"' if any(c in v for c in ',;\t|"\n') and '"' not in v else v for v in values)

    text = "\n".join([line(header), *(line(r) for r in rows)]) + "\n"
    _load(("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass"), suffix, opts)


@FUZZ
@given(records=st.lists(json_values, max_size=6), garbage=st.none() | st.text(max_size=10),
       suffix=st.sampled_from([".jsonl", ".json"]), opts=options)
def test_json_lines(records, garbage, suffix, opts):
    if suffix == ".json":
        text = json.dumps(records)
    else:
        lines = [json.dumps(r) for r in records]
        if garbage is not None:
            lines.insert(len(lines) // 2, garbage)
        text = "\n".join(lines)
    _load(text.encode("utf-8", "surrogatepass"), suffix, opts)


dtypes = st.sampled_from(["float64", "float32", "float16", "int8", "uint64", "bool", "complex64", "U3", "S2",
                          "datetime64[s]", "object", "f4,i4"])


@FUZZ
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=3), dtype=dtypes, npz=st.booleans(),
       cut=st.none() | st.integers(0, 200), seed=st.integers(0, 2**16), opts=options)
def test_arrays(shape, dtype, npz, cut, seed, opts):
    rng = np.random.default_rng(seed)
    array = np.zeros(shape, dtype=dtype) if dtype in ("object", "f4,i4") else \
        rng.normal(size=shape).astype(dtype) if dtype != "datetime64[s]" else \
        rng.integers(0, 10**9, size=shape).astype(dtype)
    buffer = io.BytesIO()
    if npz:
        np.savez(buffer, X=array, y=np.arange(len(array) if array.ndim else 1), ids=np.arange(3).astype(str))
    else:
        np.save(buffer, array, allow_pickle=True)
    content = buffer.getvalue()
    _load(content if cut is None else content[:cut], ".npz" if npz else ".npy", opts)


def _seed_images() -> dict[str, bytes]:
    rng = np.random.default_rng(61)
    pixels = np.kron(rng.integers(0, 256, (4, 5, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    image = Image.fromarray(pixels)
    out = {}
    for fmt, params in (("PNG", {}), ("JPEG", {"quality": 80}), ("GIF", {}), ("WEBP", {}), ("TIFF", {}), ("BMP", {}),
                        ("PPM", {})):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **params)
        out[fmt] = buffer.getvalue()
    return out


SEED_IMAGES = _seed_images()
mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "zero"]), st.integers(0, 10**6),
                               st.integers(0, 255)), max_size=4)


@FUZZ
@given(fmt=st.sampled_from(sorted(SEED_IMAGES)), edits=mutations, suffix=st.sampled_from([".png", ".jpg", ".gif"]))
def test_mutated_image_files(fmt, edits, suffix):
    """Valid images with flipped, cut, inserted or zeroed bytes: each is hashed or gets a one-line reason."""
    data = bytearray(SEED_IMAGES[fmt])
    for kind, where, value in edits:
        where %= max(1, len(data))
        if kind == "flip" and data:
            data[where] ^= value or 1
        elif kind == "cut":
            del data[where:]
        elif kind == "insert":
            data[where:where] = bytes([value]) * 8
        elif data:
            data[where:where + 16] = bytes(len(data[where:where + 16]))
    with tempfile.TemporaryDirectory() as folder:
        paths = [str(Path(folder) / f"{i}{suffix}") for i in range(2)]
        Path(paths[0]).write_bytes(bytes(data))
        Path(paths[1]).write_bytes(SEED_IMAGES["PNG"])
        signatures = compute_image_signatures(paths, DecodeSettings(), jobs=1)
    assert signatures.valid[1]
    for index, reason in signatures.errors:
        assert index == 0 and reason and "\n" not in reason, reason
    assert signatures.valid[0] != bool(signatures.errors)
