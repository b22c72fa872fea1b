"""A split as named per-item properties (for drift tests) and as a numeric matrix (for classifiers, k-NN).

Properties, one column each, by modality:

- ``table``: the feature columns themselves (ids, labels, groups and times are not features: the
  loader keeps them apart); text columns with almost one distinct value per row look like ids or free
  text and are left out; categorical columns keep their ``max_categories`` most frequent values and pool
  the rest into ``<other>``;
- ``text``: length in characters and words, mean word length, type-token ratio (distinct words / words:
  the vocabulary richness), share of upper-case letters and of digits;
- ``image``: width, height, aspect ratio (width / height), pixels, frames, channels (from the mode),
  mean brightness, contrast, sharpness, mode and format (from ``context.image_properties``);
- ``vector``: the L2 norm and the dimensions themselves (up to ``max_vector_dims``) or, for wider
  vectors, the leading principal components of the reference split.

The matrix is built jointly for all splits so that every split lands in the same coordinates: numeric
properties standardised with the reference split's mean and standard deviation (missing values become 0
plus a missing-value indicator), categoricals one-hot; text adds a TF-IDF character n-gram matrix reduced
by truncated SVD; precomputed vectors or embeddings are used as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from splitcheck.errors import InputError
from splitcheck.splits import Split
from splitcheck.stats.threads import limited_threads

TEXT_PROPERTIES = ("n_chars", "n_words", "mean_word_length", "type_token_ratio", "uppercase_share", "digit_share")
#: Image property columns that ``context.image_properties(split)`` provides.
IMAGE_PROPERTY_COLUMNS = ("width", "height", "n_frames", "brightness", "contrast", "sharpness", "mode", "format")
#: Number of channels of each PIL mode.
MODE_CHANNELS = {"1": 1, "L": 1, "P": 1, "I": 1, "F": 1, "I;16": 1, "LA": 2, "PA": 2, "RGB": 3, "YCbCr": 3,
                 "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4}
#: A categorical table column with more distinct values than this share of its rows is treated as an id.
ID_LIKE_UNIQUE_SHARE = 0.5
OTHER = "<other>"
MISSING = "<missing>"

ImageProperties = Callable[[Split], pd.DataFrame] | Mapping[str, pd.DataFrame]
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Properties:
    """Named per-item properties of every split (same columns everywhere), and what was left out."""

    frames: dict[str, pd.DataFrame]
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why it is not compared
    description: str = ""


@dataclass
class FeatureSpace:
    """Numeric matrices of the chosen rows of every split, in shared coordinates.

    ``groups`` maps each source property (a table column, ``tfidf``) to its matrix columns, so that a
    one-hot encoded column can be judged as one feature.
    """

    matrices: dict[str, np.ndarray]
    names: list[str]
    groups: dict[str, list[int]]
    description: str


def subsample_rows(n: int, max_items: int, random_state: int | None = 0) -> np.ndarray:
    """All positions ``0..n-1``, or ``max_items`` of them drawn without replacement (sorted)."""
    if n <= max_items:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=max_items, replace=False))


def text_properties(texts: Sequence[str]) -> pd.DataFrame:
    """Per-text properties (see the module docstring); ratios are NaN for a text without words/letters."""
    rows = []
    for text in texts:
        words = _WORD.findall(text)
        n_words = len(words)
        letters = sum(map(str.isalpha, text))
        rows.append((
            len(text),
            n_words,
            sum(map(len, words)) / n_words if n_words else np.nan,
            len(set(map(str.lower, words))) / n_words if n_words else np.nan,
            sum(map(str.isupper, text)) / letters if letters else np.nan,
            sum(map(str.isdigit, text)) / len(text) if text else np.nan,
        ))
    return pd.DataFrame(rows, columns=list(TEXT_PROPERTIES), dtype=float)


def _texts(split: Split, rows: np.ndarray) -> list[str]:
    if split.texts is None:
        raise InputError(f"split {split.name!r} has no texts")
    return list(split.texts.to_numpy(dtype=object)[rows])


def image_property_frame(properties: pd.DataFrame) -> pd.DataFrame:
    """Image properties plus derived aspect ratio, pixel count and channel count (NaN where unreadable)."""
    missing = [c for c in IMAGE_PROPERTY_COLUMNS if c not in properties.columns]
    if missing:
        raise InputError(f"image properties lack the columns {', '.join(missing)}")
    width = pd.to_numeric(properties["width"], errors="coerce").astype(float).to_numpy()
    height = pd.to_numeric(properties["height"], errors="coerce").astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(height > 0, width / height, np.nan)
    mode = properties["mode"].astype(object)
    out = pd.DataFrame({
        "width": width,
        "height": height,
        "aspect": aspect,
        "pixels": width * height,
        "n_frames": pd.to_numeric(properties["n_frames"], errors="coerce").astype(float).to_numpy(),
        "channels": mode.map(lambda m: float(MODE_CHANNELS.get(str(m), np.nan)) if isinstance(m, str) else np.nan)
        .astype(float).to_numpy(),
        "brightness": pd.to_numeric(properties["brightness"], errors="coerce").astype(float).to_numpy(),
        "contrast": pd.to_numeric(properties["contrast"], errors="coerce").astype(float).to_numpy(),
        "sharpness": pd.to_numeric(properties["sharpness"], errors="coerce").astype(float).to_numpy(),
        "mode": _as_category_text(mode),
        "format": _as_category_text(properties["format"].astype(object)),
    })
    return out


def split_vectors(split: Split, rows: np.ndarray | None = None) -> np.ndarray:
    """The vectors of ``split`` (chosen ``rows``) as a 2-D float array, read through ``getitem`` if needed."""
    positions = np.arange(len(split)) if rows is None else rows
    if split.vectors is not None:
        return np.asarray(split.vectors[positions], dtype=float).reshape(len(positions), -1)
    if split.getitem is None:
        raise InputError(f"split {split.name!r} has no vectors")
    first: tuple[int, ...] | None = None
    out = []
    for i in positions:
        x = np.asarray(split.getitem(int(i)), dtype=float).ravel()
        if first is None:
            first = x.shape
        elif x.shape != first:
            raise InputError(f"split {split.name!r}, item {int(i)}: {x.size} values but the first item has {first[0]}; "
                             "all items must have the same size")
        out.append(x)
    return np.vstack(out) if out else np.zeros((0, 0))


def property_frames(
    splits: Sequence[Split],
    rows: Mapping[str, np.ndarray] | None = None,
    *,
    image_properties: ImageProperties | None = None,
    max_categories: int = 50,
    max_vector_dims: int = 16,
    random_state: int | None = 0,
) -> Properties:
    """Per-item properties of every split (reference first), restricted to ``rows`` when given."""
    rows = rows or {}
    modality = splits[0].modality
    pick = {s.name: rows.get(s.name, np.arange(len(s))) for s in splits}
    if modality == "table":
        return _table_properties(splits, pick, max_categories)
    if modality == "text":
        frames = {s.name: text_properties(_texts(s, pick[s.name])) for s in splits}
        return Properties(frames, description="text properties")
    if modality == "image":
        if image_properties is None:
            raise InputError("image properties are not available for drift statistics")
        frames = {}
        for s in splits:
            raw = image_properties(s) if callable(image_properties) else image_properties[s.name]
            if len(raw) != len(s):
                raise InputError(f"split {s.name!r}: {len(raw)} rows of image properties for {len(s)} items")
            frames[s.name] = image_property_frame(raw.reset_index(drop=True).iloc[pick[s.name]].reset_index(drop=True))
        return Properties(frames, description="image properties")
    return _vector_properties(splits, pick, max_vector_dims, random_state)


def _table_properties(splits: Sequence[Split], pick: Mapping[str, np.ndarray], max_categories: int) -> Properties:
    frames = {s.name: _features(s).iloc[pick[s.name]].reset_index(drop=True) for s in splits}
    columns: dict[str, None] = {}
    for frame in frames.values():
        columns.update(dict.fromkeys(map(str, frame.columns)))
    excluded: dict[str, str] = {}
    out: dict[str, dict[str, object]] = {s.name: {} for s in splits}
    for column in columns:
        parts = {name: (frame[column] if column in frame.columns else pd.Series([None] * len(frame), dtype=object))
                 for name, frame in frames.items()}
        kinds = {_column_kind(p) for p in parts.values() if p.notna().any()}
        if kinds <= {"numeric"} and kinds:
            for name, part in parts.items():
                out[name][column] = _numeric_values(part)
            continue
        if kinds <= {"datetime"} and kinds:
            for name, part in parts.items():
                stamps = pd.to_datetime(part, errors="coerce", utc=True)
                out[name][column] = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
            continue
        texts = {name: _as_category_text(part) for name, part in parts.items()}
        everything = pd.concat(list(texts.values()), ignore_index=True)
        n_distinct = everything.nunique()
        if len(everything) >= 20 and n_distinct > ID_LIKE_UNIQUE_SHARE * len(everything):
            excluded[column] = f"{n_distinct} distinct values in {len(everything)} rows (an id or free text)"
            continue
        keep = set(everything.value_counts().index[:max_categories])
        for name, values in texts.items():
            out[name][column] = values.where(values.isin(keep), OTHER)
    result = {name: pd.DataFrame(cols, index=pd.RangeIndex(len(frames[name]))) for name, cols in out.items()}
    return Properties(result, excluded, description="table features")


def _features(split: Split) -> pd.DataFrame:
    if split.features is None:
        raise InputError(f"split {split.name!r} has no feature columns")
    return split.features


def _column_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = series.dropna()
    if len(values) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                           for v in values):
        return "numeric"
    return "categorical"


def _numeric_values(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _as_category_text(series: pd.Series) -> pd.Series:
    values = series.astype(object)
    return values.where(values.notna(), MISSING).map(str).astype(object).reset_index(drop=True)


def _vector_properties(splits: Sequence[Split], pick: Mapping[str, np.ndarray], max_dims: int,
                       random_state: int | None) -> Properties:
    from sklearn.decomposition import PCA
    vectors = {s.name: split_vectors(s, pick[s.name]) for s in splits}
    dims = {v.shape[1] for v in vectors.values() if v.size}
    if len(dims) > 1:
        raise InputError("the splits hold vectors of different dimensions: "
                         + ", ".join(f"{n}: {v.shape[1]}" for n, v in vectors.items()))
    d = dims.pop() if dims else 0
    ref = vectors[splits[0].name]
    if d <= max_dims:
        names = [f"dim_{j}" for j in range(d)]
        project = lambda v: v
        description = "vector properties (norm and dimensions)"
    else:
        with limited_threads(len(ref)):
            pca = PCA(n_components=min(max_dims, ref.shape[0], d), random_state=random_state).fit(ref)
        names = [f"pc{j + 1}" for j in range(pca.n_components_)]
        project = pca.transform
        description = f"vector properties (norm and leading principal components of {splits[0].name})"
    frames = {}
    for name, v in vectors.items():
        with limited_threads(len(v)):
            coords = project(v) if len(v) else np.zeros((0, len(names)))
        frame = pd.DataFrame(coords, columns=names)
        frame.insert(0, "norm", np.linalg.norm(v, axis=1) if len(v) else np.zeros(0))
        frames[name] = frame
    return Properties(frames, description=description)


def feature_space(
    splits: Sequence[Split],
    rows: Mapping[str, np.ndarray] | None = None,
    *,
    image_properties: ImageProperties | None = None,
    embeddings: Mapping[str, np.ndarray] | None = None,
    embedding_name: str = "embeddings",
    svd_components: int = 64,
    max_categories: int = 50,
    random_state: int | None = 0,
) -> FeatureSpace:
    """Numeric matrices (rows = chosen items) of every split in shared coordinates; reference first.

    ``embeddings`` (split name -> array aligned with the split's items, named ``embedding_name`` in the
    description), when given, are used as they are for every modality. Otherwise tables, texts and images
    use the encodings of the module docstring.
    """
    rows = rows or {}
    pick = {s.name: rows.get(s.name, np.arange(len(s))) for s in splits}
    if embeddings is not None:
        matrices = {s.name: np.asarray(embeddings[s.name], dtype=float)[pick[s.name]] for s in splits}
        d = next(iter(matrices.values())).shape[1]
        return FeatureSpace(matrices, [f"e{j}" for j in range(d)], {}, f"{embedding_name} ({d} dimensions)")
    modality = splits[0].modality
    if modality == "vector":
        matrices = {s.name: split_vectors(s, pick[s.name]) for s in splits}
        d = next(iter(matrices.values())).shape[1]
        return FeatureSpace(matrices, [f"dim_{j}" for j in range(d)], {}, f"vectors as given ({d} dimensions)")
    props = property_frames(splits, pick, image_properties=image_properties, max_categories=max_categories,
                            random_state=random_state)
    space = encode_properties(props.frames, splits[0].name,
                              log_columns=("n_chars", "n_words", "width", "height", "pixels", "aspect"))
    if modality != "text":
        space.description = f"{props.description}, numeric standardised, categoricals one-hot"
        return space
    texts = {s.name: _texts(s, pick[s.name]) for s in splits}
    svd = tfidf_svd(texts, svd_components, random_state)
    offset = svd[splits[0].name].shape[1]
    matrices = {name: np.hstack([svd[name], space.matrices[name]]) for name in texts}
    names = [f"tfidf_svd{j + 1}" for j in range(offset)] + space.names
    groups = {"tfidf": list(range(offset)), **{k: [offset + j for j in v] for k, v in space.groups.items()}}
    return FeatureSpace(matrices, names, groups,
                        f"TF-IDF character 2-4-grams reduced to {offset} SVD components, plus text properties")


def tfidf_svd(texts: Mapping[str, list[str]], n_components: int, random_state: int | None) -> dict[str, np.ndarray]:
    """TF-IDF of character 2-4-grams (fitted on all the given texts) reduced by truncated SVD."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    union = [t for values in texts.values() for t in values]
    sizes = [len(v) for v in texts.values()]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, max_features=50_000,
                                 sublinear_tf=True, dtype=np.float32)
    try:
        tfidf = vectorizer.fit_transform(union)
    except ValueError:  # no n-gram appears twice (tiny or empty texts)
        return {name: np.zeros((n, 0)) for name, n in zip(texts, sizes)}
    k = min(n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if k < 1:
        return {name: np.zeros((n, 0)) for name, n in zip(texts, sizes)}
    with limited_threads(tfidf.shape[0]):
        reduced = TruncatedSVD(n_components=k, random_state=random_state).fit_transform(tfidf).astype(float)
    out, start = {}, 0
    for name, n in zip(texts, sizes):
        out[name] = reduced[start:start + n]
        start += n
    return out


def encode_properties(frames: Mapping[str, pd.DataFrame], reference: str,
                      log_columns: Sequence[str] = ()) -> FeatureSpace:
    """Standardise numeric columns by the reference split and one-hot encode the categorical ones.

    ``log_columns`` are taken as ``log1p`` first (sizes and counts). A numeric column with missing values
    gets an extra ``<column>:missing`` indicator, and its missing values become 0 (the reference mean).
    """
    names: list[str] = []
    groups: dict[str, list[int]] = {}
    blocks: dict[str, list[np.ndarray]] = {name: [] for name in frames}
    ref = frames[reference]
    for column in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[column].dtype):
            values = {n: f[column].to_numpy(dtype=float) for n, f in frames.items()}
            if column in log_columns:
                values = {n: np.log1p(np.clip(v, 0.0, None)) for n, v in values.items()}
            ref_values = values[reference][np.isfinite(values[reference])]
            mean = float(ref_values.mean()) if ref_values.size else 0.0
            std = float(ref_values.std()) if ref_values.size else 0.0
            std = std if std > 0 else 1.0
            cols = [column]
            any_missing = any((~np.isfinite(v)).any() for v in values.values())
            if any_missing:
                cols.append(f"{column}:missing")
            for n, v in values.items():
                z = np.where(np.isfinite(v), (v - mean) / std, 0.0)
                block = [z] + ([(~np.isfinite(v)).astype(float)] if any_missing else [])
                blocks[n].append(np.column_stack(block))
        else:
            categories = sorted(set().union(*(set(f[column].astype(str)) for f in frames.values())))
            cols = [f"{column}={c}" for c in categories]
            for n, f in frames.items():
                codes = pd.Categorical(f[column].astype(str), categories=categories).codes
                onehot = np.zeros((len(f), len(categories)))
                onehot[np.arange(len(f)), codes] = 1.0
                blocks[n].append(onehot)
        groups[str(column)] = list(range(len(names), len(names) + len(cols)))
        names.extend(cols)
    matrices = {n: (np.hstack(b) if b else np.zeros((len(frames[n]), 0))) for n, b in blocks.items()}
    return FeatureSpace(matrices, names, groups, "")
