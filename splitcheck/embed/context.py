"""Embeddings of a scan's splits: which embedder, computed once per split and kept in ``context.memo``.

:func:`configure` records what the user chose (an embedder name, path or object; precomputed vectors per
split). :func:`embedder_for` resolves it (default per modality: ``colour-gradient`` for images, ``tfidf``
for text, ``table`` for tables, ``raw`` for vectors), fits it once when it learns from the data (on the
splits, the reference split first). :func:`embeddings_for` returns a split's ``(n, dim)`` float32 vectors;
items that could not be read are zero rows (they match nothing).

Memo keys: ``embed:embedder`` (the fitted embedder), ``embed:raw:<split>:<identity>`` (vectors before
whitening) and ``embed:<split>:<identity>`` (final vectors).

Image vectors of the default descriptor come from the signature decode pass, and those of any embedder with a
cache identity from the signature cache when it is on (:mod:`splitcheck.embed.store`); other embedders decode
the images again here (:mod:`splitcheck.embed.pixels`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from splitcheck.embed.base import Whitener, check_output
from splitcheck.errors import InputError

if TYPE_CHECKING:
    from splitcheck.context import ScanContext
    from splitcheck.splits import Split

SPEC_KEY = "embed:spec"
PRECOMPUTED_KEY = "embed:precomputed"
EMBEDDER_KEY = "embed:embedder"
#: Names accepted by ``--embedder``, per modality (the first is the default).
NAMED: dict[str, tuple[str, ...]] = {
    "image": ("colour-gradient", "learned"),
    "text": ("tfidf", "minilm"),
    "table": ("table",),
    "vector": ("raw",),
}
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit", ".pt2")
#: Items embedded per call of ``embed`` (images: also the decode chunk).
EMBED_BATCH = 1024


def configure(context: ScanContext, *, embedder: Any = None, embeddings: Mapping[str, Any] | None = None) -> None:
    """Record the user's choice: ``embedder`` (a name from :data:`NAMED`, ``LIBRARY:MODEL[@WEIGHTS]``, a
    TorchScript path, a torch module, a callable or an Embedder object) and ``embeddings`` (split name ->
    ``.npy``/``.npz``/Parquet path or array of precomputed vectors, for every split)."""
    if embedder is not None:
        context.memo[SPEC_KEY] = embedder
        if context.splits and context.splits[0].modality == "image":
            want_decoded_descriptor(context, embedder)
    if embeddings:
        unknown = [name for name in embeddings if name not in context.by_name]
        if unknown:
            raise InputError(f"embeddings given for split {unknown[0]!r}, which is not a split of this scan; "
                             f"splits are: {', '.join(context.by_name)}")
        missing = [s.name for s in context.splits if s.name not in embeddings]
        if missing:
            raise InputError(f"precomputed embeddings given for {', '.join(embeddings)} but not for "
                             f"{', '.join(missing)}; give them for every split (--embeddings SPLIT=FILE)")
        context.memo[PRECOMPUTED_KEY] = dict(embeddings)


def want_decoded_descriptor(context: ScanContext, spec: Any) -> None:
    """Ask the signature decode pass for the default image descriptor when ``spec`` names it (and not otherwise).

    Effective only before the first image is decoded (``configure`` runs before any scanner).
    """
    import dataclasses

    wanted = spec is None or (isinstance(spec, str) and spec in ("", "auto", "colour-gradient", "color-gradient"))
    if context.image_settings.descriptor != wanted:
        context.image_settings = dataclasses.replace(context.image_settings, descriptor=wanted)


def embedding_method(context: ScanContext) -> str:
    """What produced the vectors, as named in evidence (``embedding:<embedder>`` or ``embedding:precomputed``)."""
    if PRECOMPUTED_KEY in context.memo:
        return "embedding:precomputed"
    return f"embedding:{embedder_for(context).name}"


def embedder_for(context: ScanContext) -> Any:
    """The (fitted) embedder of this scan's modality; built once."""
    if EMBEDDER_KEY not in context.memo:
        modality = context.splits[0].modality
        embedder = resolve_embedder(context.memo.get(SPEC_KEY), modality)
        if hasattr(embedder, "fit"):
            ordered = [context.reference, *[s for s in context.splits if s is not context.reference]]
            fit_with_context = getattr(embedder, "fit_context", None)
            if fit_with_context is not None:
                fit_with_context(context, ordered)
            else:
                embedder.fit(ordered)
        context.memo[EMBEDDER_KEY] = embedder
    return context.memo[EMBEDDER_KEY]


def resolve_embedder(spec: Any, modality: str) -> Any:
    """Build the embedder that ``spec`` names for items of ``modality`` (None or ``"auto"``: the default)."""
    if spec is None or (isinstance(spec, str) and spec in ("", "auto")):
        spec = NAMED[modality][0]
    if isinstance(spec, (str, os.PathLike)):
        return _from_name(str(spec), modality)
    if hasattr(spec, "embed") and hasattr(spec, "identity"):
        embedder_modality = getattr(spec, "modality", modality)
        if embedder_modality != modality:
            raise InputError(f"embedder {getattr(spec, 'name', spec)!r} embeds {embedder_modality} items, "
                             f"but the splits hold {modality} items")
        return spec
    if _is_torch_module(spec):
        if modality != "image":
            raise InputError(f"a torch module embeds images here; the splits hold {modality} items "
                             "(pass a callable or precomputed embeddings instead)")
        from splitcheck.embed.images import torch_embedder

        return torch_embedder(spec)
    if callable(spec):
        from splitcheck.embed.images import CallableImageEmbedder

        return CallableImageEmbedder(spec, modality=modality)
    raise InputError(f"cannot use a {type(spec).__name__} as an embedder; give a name "
                     f"({', '.join(n for names in NAMED.values() for n in names)}), a TorchScript file, "
                     "a torch module or a callable")


def _from_name(spec: str, modality: str) -> Any:
    allowed = NAMED[modality]
    if spec in ("colour-gradient", "color-gradient") and modality == "image":
        from splitcheck.embed.images import ColourGradientEmbedder

        return ColourGradientEmbedder()
    if spec == "learned" and modality == "image":
        from splitcheck.embed.learned import LearnedCNNEmbedder

        return LearnedCNNEmbedder()
    if spec == "tfidf" and modality == "text":
        from splitcheck.embed.text import TfidfSvdEmbedder

        return TfidfSvdEmbedder()
    if spec == "minilm" and modality == "text":
        from splitcheck.embed.text import MiniLMEmbedder

        return MiniLMEmbedder()
    if spec == "table" and modality == "table":
        from splitcheck.embed.tables import TableEmbedder

        return TableEmbedder()
    if spec == "raw" and modality == "vector":
        return RawVectors()
    if modality == "image" and spec.split(":", 1)[0] in ("torchvision", "timm", "open_clip"):
        from splitcheck.embed.images import named_image_embedder

        return named_image_embedder(spec)
    if modality == "image" and (Path(spec).suffix.lower() in TORCHSCRIPT_SUFFIXES or os.sep in spec):
        from splitcheck.embed.images import torchscript_embedder

        return torchscript_embedder(spec)
    raise InputError(f"unknown embedder {spec!r} for {modality} splits; choose one of {', '.join(allowed)}"
                     + (", LIBRARY:MODEL[@WEIGHTS] (torchvision, timm, open_clip) or a TorchScript file"
                        if modality == "image" else ""))


def _is_torch_module(obj: Any) -> bool:
    torch = __import__("sys").modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


class RawVectors:
    """Vector splits as they are (flattened), for splits that already hold embeddings."""

    name = "raw"
    modality = "vector"
    identity = "raw"
    dim = 0

    def embed(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)


def embeddings_for(context: ScanContext, split: Split) -> np.ndarray:
    """``(len(split), dim)`` float32 vectors of ``split`` (computed once; zero rows for unreadable items)."""
    precomputed = context.memo.get(PRECOMPUTED_KEY)
    if precomputed is not None:
        return _precomputed(context, split, precomputed)
    embedder = embedder_for(context)
    key = f"embed:{split.name}:{embedder.identity}"
    if key in context.memo:
        return context.memo[key]
    raw = _raw(context, split, embedder)
    whiten = int(getattr(embedder, "whiten", 0) or 0)
    if whiten or getattr(embedder, "centre", False):
        wkey = f"embed:whitener:{embedder.identity}"
        if wkey not in context.memo:
            reference = raw if split is context.reference else _raw(context, context.reference, embedder)
            context.memo[wkey] = Whitener(whiten).fit(reference)
        vectors = context.memo[wkey].transform(raw)
    else:
        vectors = raw
    context.memo[key] = vectors
    return vectors


def _raw(context: ScanContext, split: Split, embedder: Any) -> np.ndarray:
    key = f"embed:raw:{split.name}:{embedder.identity}"
    if key in context.memo:
        return context.memo[key]
    if split.modality == "image":
        from splitcheck.embed.store import image_embeddings, uses_store

        if uses_store(context, embedder):  # the signature decode pass and the signature cache
            from splitcheck.embed.views import keep_windows

            context.memo[key] = keep_windows(context, split, embedder, image_embeddings(context, split, embedder))
            return context.memo[key]
    if key not in context.memo:
        context.memo[key] = compute_embeddings(split, embedder, jobs=context.jobs,
                                               max_pixels=context.max_image_pixels or None,
                                               progress=context.progress)
    return context.memo[key]


def compute_embeddings(split: Split, embedder: Any, *, jobs: int = 1, max_pixels: int | None = None,
                       progress: Callable[[str, int], Callable[[int], None]] | None = None,
                       batch: int = EMBED_BATCH) -> np.ndarray:
    """Embed every item of ``split`` in batches (images decoded across ``jobs`` processes)."""
    n = len(split)
    tick = progress(f"embed {split.name}", n) if progress else None
    parts: list[np.ndarray] = []
    name = getattr(embedder, "name", "embedder")
    if split.modality == "image":
        from splitcheck.embed.pixels import DEFAULT_MAX_PIXELS, iter_pixels

        assert split.paths is not None
        for pixels, valid in iter_pixels(split.paths, int(embedder.input_size), jobs=jobs,
                                         chunk=batch if jobs <= 1 else max(64, batch // max(1, jobs)),
                                         max_pixels=max_pixels or DEFAULT_MAX_PIXELS):
            out = check_output(embedder.embed(pixels), len(pixels), None, name)
            out[~valid] = 0.0
            parts.append(out)
            if tick:
                tick(len(pixels))
    else:
        for start in range(0, n, batch):
            chunk = _payload(split, start, min(n, start + batch))
            parts.append(check_output(embedder.embed(chunk), min(n, start + batch) - start, None, name))
            if tick:
                tick(len(parts[-1]))
    if not parts:
        return np.zeros((0, max(1, int(getattr(embedder, "dim", 1) or 1))), np.float32)
    dims = {p.shape[1] for p in parts}
    if len(dims) > 1:
        raise InputError(f"embedder {name} returned vectors of different dimensions {sorted(dims)} across batches")
    return np.concatenate(parts)


def _payload(split: Split, start: int, stop: int) -> Any:
    if split.modality == "text":
        assert split.texts is not None
        return split.texts.iloc[start:stop].tolist()
    if split.modality == "table":
        assert split.features is not None
        return split.features.iloc[start:stop]
    if split.vectors is not None:
        return split.vectors[start:stop]
    assert split.getitem is not None
    rows = [np.asarray(split.getitem(i), dtype=np.float32).ravel() for i in range(start, stop)]
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise InputError(f"split {split.name!r}: items have different sizes {sorted(widths)[:4]}; "
                         "vector items must all have one size (or pass precomputed embeddings)")
    return np.stack(rows) if rows else np.zeros((0, 1), np.float32)


def _precomputed(context: ScanContext, split: Split, sources: dict[str, Any]) -> np.ndarray:
    key = f"embed:{split.name}:precomputed"
    if key not in context.memo:
        from splitcheck.embed.precomputed import check_same_dimension, load_precomputed

        loaded = {s.name: load_precomputed(sources[s.name], s.ids, split_name=s.name) for s in context.splits}
        check_same_dimension(loaded, {k: str(v) if isinstance(v, (str, os.PathLike)) else f"<{type(v).__name__}>"
                                      for k, v in sources.items()})
        for name, vectors in loaded.items():
            context.memo[f"embed:{name}:precomputed"] = vectors
    return context.memo[key]
