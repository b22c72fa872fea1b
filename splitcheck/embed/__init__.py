"""Embeddings for nearest-neighbour leakage search: embedders per modality, and the per-scan cache.

See :mod:`splitcheck.embed.base` for the Embedder contract and :mod:`splitcheck.embed.context` for how a
scan picks, fits and memoises them. Torch, sentence-transformers, torchvision, timm and open_clip are
optional and imported only when their embedder is asked for.
"""

from splitcheck.embed.base import Embedder, FittedEmbedder, Whitener
from splitcheck.embed.calibration import Calibration, calibrate
from splitcheck.embed.context import configure, embedder_for, embeddings_for, resolve_embedder

__all__ = ["Calibration", "Embedder", "FittedEmbedder", "Whitener", "calibrate", "configure", "embedder_for",
           "embeddings_for", "resolve_embedder"]
