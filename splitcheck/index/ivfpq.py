"""Dense k-nearest-neighbour search over sets too large for one index: faiss IVF-PQ, shard by shard.

The index is trained once, on a sample (k-means coarse lists and a product quantiser); its trained, empty
form is a few megabytes of bytes (:attr:`ShardedIvfPq.trained`) that any process can load. The base
vectors then arrive shard by shard (from files, a generator, or Dask workers): each shard is encoded into
its own copy of the trained index, every query is searched against it, the shard's candidates are
re-ranked by their exact distance on the shard's raw vectors (``refine``), and the per-shard top-k lists
are merged into the global top-k. No process holds more than one shard of raw vectors; the memory of the
encoded base is ``n_subquantizers * n_bits / 8`` bytes per vector (16 by default) if it is kept at all.

Metrics: ``cosine`` (vectors L2-normalised, scores are cosine similarities, higher is closer) or ``l2``
(scores are squared Euclidean distances, lower is closer). With ``refine > 0`` every returned score is
exact; which neighbours are found is approximate (the recall of IVF-PQ at ``n_probe`` lists), so
measure recall against :func:`exact_topk` on a sample before trusting a threshold on huge sets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

METRICS = ("cosine", "l2")
#: Mean vectors per inverted list while there are at most CONSTANT_SIZE_LISTS lists (bases up to ~1M).
#: Lists of constant size keep the per-query scan and the recall at a fixed n_probe: recall@10 0.998 /
#: 0.991 / 0.916 at 10k / 100k / 1M in benchmarks/scaling/vectors.py (n / 50 clusters; 2 x sqrt(n) lists gave
#: 0.999 / 0.983 / 0.837). Beyond, n / 64 lists need an HNSW graph over 16k-156k centroids, which mis-assigned
#: the base on that data (10M: recall 0.53, 5.7% of planted copies missed, 137 CPU-µs per item), so larger
#: bases get LISTS_PER_SQRT x sqrt(n) lists and a flat (exact) quantiser: 10M recall 0.61, every planted copy.
LIST_SIZE = 64
CONSTANT_SIZE_LISTS = 16_384
LISTS_PER_SQRT = 2
#: Fewest and most inverted lists.
MIN_LISTS, MAX_LISTS = 16, 1 << 20
#: Base size assumed when none is given (sets the default number of lists).
DEFAULT_BASE = 1_000_000
#: Above this many lists the coarse quantiser is an HNSW graph (assignment cost ~ log(lists), not lists);
#: below it a flat quantiser (one matrix product) is as fast (64-d, 16,000 lists: 66 CPU-µs per vector
#: flat, 20-30 by the graph).
HNSW_QUANTIZER_LISTS = 8192
#: Above this many lists the coarse centroids are trained by two-level k-means (sqrt(lists) clusters, then
#: inside each), whose cost grows with sqrt(lists) instead of lists.
TWO_LEVEL_LISTS = 4096
#: Neighbours per node of that graph; its search breadth for the queries (at least EF_PER_PROBE x
#: n_probe) and for assigning the base vectors to one list each (EF_ADD: a base vector put in its
#: second-best list is still found by the queries that probe 16).
HNSW_M = 32
HNSW_EF_SEARCH = 64
EF_PER_PROBE = 4
EF_ADD = 16
#: Training vectors per list above 2 x TWO_LEVEL_LISTS lists (k-means on 16 per centroid loses ~0.02 recall
#: against faiss's 39 at 14k lists, at 40% of the training time), and the most training vectors drawn.
TRAIN_PER_LIST = 16
TRAIN_MAX = 4_000_000
#: k-means iterations of the coarse lists (faiss's default is 25; the lists' cost grows with their number).
COARSE_TRAIN_ITERATIONS = 10
#: k-means iterations, sample per centroid and minimum sample when training the product quantiser.
PQ_TRAIN_ITERATIONS = 10
PQ_TRAIN_POINTS_PER_CENTROID = 64
PQ_TRAIN_MIN = 40 * 256
#: Fewest PQ candidates re-ranked per query and shard when ``refine`` > 0 (k x refine is small for k = 1-5,
#: and 8-byte codes of 32-d vectors rank the nearest neighbour 4th or lower often enough to matter).
REFINE_MIN = 32
#: Queries searched per faiss call (bounds the candidate buffers: queries x k x refine x dim floats).
QUERY_BATCH = 4096


@dataclass(frozen=True)
class IvfPqSettings:
    """How the index is built and searched.

    ``n_lists``: inverted lists (default :func:`default_lists` of the expected base size);
    ``n_subquantizers``: bytes per encoded vector at 8 bits (must divide the dimension; default the
    largest of dim/4, dim/2, dim, ... that divides it and is at most 64); ``n_bits``: bits per
    sub-quantiser code; ``n_probe``: lists searched per query (recall against speed); ``refine``: the
    shard's top ``max(k * refine, REFINE_MIN)`` PQ candidates are re-ranked by exact distance (0: keep PQ
    estimates);
    ``metric``: ``cosine`` or ``l2``; ``seed``: k-means seed.
    """

    n_lists: int | None = None
    n_subquantizers: int | None = None
    n_bits: int = 8
    n_probe: int = 16
    refine: int = 4
    metric: str = "cosine"
    seed: int = 0


def default_lists(n_base: int) -> int:
    """Inverted lists for ``n_base`` vectors: n_base / :data:`LIST_SIZE` while that is at most
    :data:`CONSTANT_SIZE_LISTS`, else :data:`LISTS_PER_SQRT` x sqrt(n_base); within [MIN_LISTS, MAX_LISTS]."""
    n = max(n_base, 0)
    lists = n / LIST_SIZE if n / LIST_SIZE <= CONSTANT_SIZE_LISTS else LISTS_PER_SQRT * math.sqrt(n)
    return int(min(MAX_LISTS, max(MIN_LISTS, round(lists))))


def training_size(n_lists: int, n_bits: int = 8) -> int:
    """Vectors drawn to train ``n_lists`` lists and a ``2**n_bits``-centroid product quantiser: faiss's 40 per
    list up to :data:`TWO_LEVEL_LISTS`, :data:`TRAIN_PER_LIST` above (at most :data:`TRAIN_MAX`)."""
    per_list = 40 if n_lists <= TWO_LEVEL_LISTS * 2 else TRAIN_PER_LIST
    return min(max(per_list * n_lists, PQ_TRAIN_MIN, 40 * 2 ** n_bits), max(TRAIN_MAX, n_lists))


def default_subquantizers(dim: int) -> int:
    for m in (dim // 4, dim // 2, dim // 8, dim):
        if 1 <= m <= 64 and dim % m == 0:
            return m
    return 1


class ShardedIvfPq:
    """A trained IVF-PQ index searched shard by shard, merging the top-k of each shard."""

    def __init__(self, dim: int, settings: IvfPqSettings | None = None, *, expected_base: int | None = None) -> None:
        self.settings = settings or IvfPqSettings()
        if self.settings.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {self.settings.metric!r}")
        if dim < 1:
            raise ValueError(f"dimension must be positive; got {dim}")
        self.dim = dim
        self.n_lists = self.settings.n_lists or default_lists(expected_base or DEFAULT_BASE)
        self.n_subquantizers = self.settings.n_subquantizers or default_subquantizers(dim)
        if dim % self.n_subquantizers:
            raise ValueError(f"n_subquantizers ({self.n_subquantizers}) must divide the dimension ({dim})")
        #: The trained, empty index as bytes (None before :meth:`train`): ship these to workers.
        self.trained: bytes | None = None

    @property
    def higher_is_closer(self) -> bool:
        return self.settings.metric == "cosine"

    def train(self, sample: np.ndarray) -> ShardedIvfPq:
        """Train the coarse lists and the product quantiser on ``sample`` (see :func:`training_size`)."""
        import faiss

        x = prepare(sample, self.settings.metric, self.dim)
        if len(x) < self.n_lists or len(x) < 2 ** self.settings.n_bits:
            raise ValueError(f"training needs at least max(n_lists, 2**n_bits) = "
                             f"{max(self.n_lists, 2 ** self.settings.n_bits)} vectors; got {len(x)}")
        metric = faiss.METRIC_INNER_PRODUCT if self.settings.metric == "cosine" else faiss.METRIC_L2
        if self.n_lists > HNSW_QUANTIZER_LISTS:
            quantizer = faiss.IndexHNSWFlat(self.dim, HNSW_M, metric)
            quantizer.hnsw.efSearch = max(HNSW_EF_SEARCH, EF_PER_PROBE * self.settings.n_probe)
        else:
            quantizer = faiss.IndexFlatIP(self.dim) if metric == faiss.METRIC_INNER_PRODUCT \
                else faiss.IndexFlatL2(self.dim)
        index = faiss.IndexIVFPQ(quantizer, self.dim, self.n_lists, self.n_subquantizers, self.settings.n_bits, metric)
        index.cp.seed = self.settings.seed
        index.cp.niter = COARSE_TRAIN_ITERATIONS
        index.cp.min_points_per_centroid = 1  # TRAIN_PER_LIST is below faiss's 39: no warning
        index.pq.cp.seed = self.settings.seed
        # the quantiser's k-means on 4-dimensional sub-vectors is slow in faiss; 10 iterations on 64 points
        # per centroid give the same recall after refinement (measured in benchmarks/scaling)
        index.pq.cp.niter = PQ_TRAIN_ITERATIONS
        index.pq.cp.max_points_per_centroid = PQ_TRAIN_POINTS_PER_CENTROID
        index.pq.cp.min_points_per_centroid = 1  # small sets: candidates are re-ranked on exact scores anyway
        if self.n_lists > TWO_LEVEL_LISTS:  # two-level k-means: ~2 sqrt(lists) centroids per point, not lists
            quantizer.add(self._two_level_centroids(x))  # a trained quantiser: index.train fits only the PQ
        index.train(x)
        self.trained = faiss.serialize_index(index).tobytes()
        return self

    def _two_level_centroids(self, x: np.ndarray) -> np.ndarray:
        """The coarse centroids by k-means on sqrt(lists) clusters, then inside each of them (faiss contrib)."""
        from faiss.contrib.clustering import two_level_clustering

        centroids, _ = two_level_clustering(x, round(math.sqrt(self.n_lists)), self.n_lists,
                                            clustering_niter=COARSE_TRAIN_ITERATIONS, seed=self.settings.seed,
                                            spherical=self.settings.metric == "cosine", min_points_per_centroid=1)
        return np.ascontiguousarray(centroids, dtype=np.float32)

    def search(self, queries: np.ndarray, shards: Iterable[np.ndarray | tuple[np.ndarray, np.ndarray]],
               k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest base vectors of each query over all shards: ``(scores, ids)``, best first.

        Each shard is an array of vectors (ids continue from the previous shard's) or ``(ids, vectors)``.
        Missing neighbours (fewer than ``k`` base vectors) have id ``-1`` and the worst possible score.
        """
        if self.trained is None:
            raise ValueError("the index is not trained: call train(sample) first")
        q = prepare(queries, self.settings.metric, self.dim)
        assignment = self.assign(q)
        scores, ids = empty_topk(len(q), k, self.higher_is_closer)
        offset = 0
        for shard in shards:
            if isinstance(shard, tuple):
                shard_ids, vectors = np.asarray(shard[0], dtype=np.int64), shard[1]
            else:
                vectors = shard
                shard_ids = np.arange(offset, offset + len(shard), dtype=np.int64)
            offset += len(vectors)
            s, i = search_shard(self.trained, shard_ids, vectors, q, k, self.settings, prepared=True,
                                assignment=assignment)
            scores, ids = merge_topk(scores, ids, s, i, k, self.higher_is_closer)
        return scores, ids

    def assign(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``n_probe`` nearest lists of each (prepared) query and their coarse scores, computed once and
        reused by every shard (:func:`search_shard`)."""
        return assign_lists(self.trained, queries, self.settings)  # type: ignore[arg-type]


def assign_lists(trained: bytes, queries: np.ndarray, settings: IvfPqSettings) -> tuple[np.ndarray, np.ndarray]:
    """``(lists, scores)``: each prepared query's ``n_probe`` nearest inverted lists in the trained index."""
    import faiss

    whole = faiss.deserialize_index(np.frombuffer(trained, dtype=np.uint8))  # kept alive: owns the quantiser
    return assign_in(faiss.extract_index_ivf(whole), queries, settings.n_probe)


def assign_in(index, queries: np.ndarray,  # type: ignore[no-untyped-def]
              n_probe: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lists, scores)`` of the prepared queries by the coarse quantiser of the faiss IVF ``index``."""
    n_probe = min(n_probe, index.nlist)
    lists = np.empty((len(queries), n_probe), dtype=np.int64)
    scores = np.empty((len(queries), n_probe), dtype=np.float32)
    for start in range(0, len(queries), QUERY_BATCH):
        chunk = queries[start:start + QUERY_BATCH]
        scores[start:start + len(chunk)], lists[start:start + len(chunk)] = index.quantizer.search(chunk, n_probe)
    return lists, scores


def prepare(vectors: np.ndarray, metric: str, dim: int) -> np.ndarray:
    """Float32, C-contiguous, of width ``dim``; L2-normalised for cosine (zero rows stay zero)."""
    x = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}); got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("vectors hold NaN or infinite values")
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1)
        ok = norms > 0
        x[ok] /= norms[ok, None]
    return x


def search_shard(trained: bytes, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int,
                 settings: IvfPqSettings, *, prepared: bool = False,
                 assignment: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of ``queries`` among one shard (a pure function: a Dask task can run it on a worker).

    ``trained`` is :attr:`ShardedIvfPq.trained`; ``ids`` name the shard's vectors. Scores are exact when
    ``settings.refine > 0``. ``assignment`` is :func:`assign_lists` of the queries, computed once for all
    shards (without it each shard assigns the queries again; the results are the same).
    """
    dim = queries.shape[1]
    x = prepare(vectors, settings.metric, dim)
    q = queries if prepared else prepare(queries, settings.metric, dim)
    if len(x) == 0:
        return empty_topk(len(q), k, settings.metric == "cosine")
    index = encode(trained, x, settings)
    if assignment is None:
        assignment = assign_lists(trained, q, settings)
    return search_encoded(index, ids, x, q, k, settings, assignment)


def search_encoded(index, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, k: int,  # type: ignore[no-untyped-def]
                   settings: IvfPqSettings, assignment: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of the prepared ``queries`` in an index made by :func:`encode` from the prepared vectors
    ``x`` (named by ``ids``), the queries' lists given by ``assignment``; candidates re-ranked on ``x``."""
    higher = settings.metric == "cosine"
    depth = min(len(x), max(k * settings.refine, REFINE_MIN) if settings.refine > 0 else k)
    out_s, out_i = empty_topk(len(queries), k, higher)
    for start in range(0, len(queries), QUERY_BATCH):
        chunk = queries[start:start + QUERY_BATCH]
        lists, coarse = (a[start:start + QUERY_BATCH] for a in assignment)
        pq_scores, local = index.search_preassigned(chunk, depth, lists, coarse)
        if settings.refine > 0:
            safe = np.where(local >= 0, local, 0)
            exact = _exact_scores(chunk, x[safe], settings.metric)
            pq_scores = np.where(local >= 0, exact, -np.inf if higher else np.inf).astype(np.float32)
        keep = min(k, depth)
        order = _best(pq_scores, keep, higher)
        chosen = np.take_along_axis(local, order, axis=1)
        out_s[start:start + len(chunk), :keep] = np.take_along_axis(pq_scores, order, axis=1)
        out_i[start:start + len(chunk), :keep] = np.where(chosen >= 0, ids[np.where(chosen >= 0, chosen, 0)], -1)
    return out_s, out_i


def encode(trained: bytes, vectors: np.ndarray, settings: IvfPqSettings):  # type: ignore[no-untyped-def]
    """A copy of the trained index holding the (prepared) ``vectors``, ready for ``search_preassigned``.

    An HNSW coarse quantiser assigns the base with the narrow breadth :data:`EF_ADD` (one list each), then
    gets back the queries' breadth."""
    import faiss

    index = faiss.deserialize_index(np.frombuffer(trained, dtype=np.uint8))
    index.nprobe = min(settings.n_probe, index.nlist)
    index.parallel_mode = 3  # search_preassigned runs over the queries in parallel (mode 0 would be serial)
    quantizer = faiss.downcast_index(index.quantizer)
    graph = quantizer.hnsw if isinstance(quantizer, faiss.IndexHNSW) else None
    breadth = graph.efSearch if graph is not None else 0
    if graph is not None:
        graph.efSearch = EF_ADD
    index.add(vectors)
    if graph is not None:
        graph.efSearch = breadth
    return index


def merge_topk(scores_a: np.ndarray, ids_a: np.ndarray, scores_b: np.ndarray, ids_b: np.ndarray, k: int,
               higher_is_closer: bool) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of two per-query top lists (ties: the smaller id first)."""
    scores = np.concatenate([scores_a, scores_b], axis=1)
    ids = np.concatenate([ids_a, ids_b], axis=1)
    key = -scores if higher_is_closer else scores
    key = np.where(ids >= 0, key, np.inf)
    order = np.lexsort((np.where(ids >= 0, ids, np.iinfo(np.int64).max), key), axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def empty_topk(n: int, k: int, higher_is_closer: bool) -> tuple[np.ndarray, np.ndarray]:
    worst = -np.inf if higher_is_closer else np.inf
    return np.full((n, k), worst, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)


def exact_topk(queries: np.ndarray, base: np.ndarray, k: int, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by faiss flat search (the reference that IVF-PQ recall is measured against)."""
    import faiss

    dim = base.shape[1]
    x, q = prepare(base, metric, dim), prepare(queries, metric, dim)
    index = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
    index.add(x)
    scores, ids = index.search(q, min(k, len(x)))
    full_s, full_i = empty_topk(len(q), k, metric == "cosine")
    full_s[:, :scores.shape[1]], full_i[:, :ids.shape[1]] = scores, ids
    return full_s, full_i


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true neighbours (``truth`` ids, ``-1`` ignored) that ``found`` holds, per query row."""
    hits = total = 0
    for f, t in zip(found, truth):
        wanted = set(t[t >= 0].tolist())
        total += len(wanted)
        hits += len(wanted & set(f.tolist()))
    return hits / total if total else math.nan


def _exact_scores(queries: np.ndarray, candidates: np.ndarray, metric: str) -> np.ndarray:
    """Cosine similarity (vectors normalised) or squared L2 distance of each query to its candidates."""
    if metric == "cosine":
        return np.einsum("qd,qkd->qk", queries, candidates)
    diff = candidates - queries[:, None, :]
    return np.einsum("qkd,qkd->qk", diff, diff)


def _best(scores: np.ndarray, k: int, higher: bool) -> np.ndarray:
    """Column order of the ``k`` best scores of each row, best first (stable on ties)."""
    return np.argsort(-scores if higher else scores, axis=1, kind="stable")[:, :k]
