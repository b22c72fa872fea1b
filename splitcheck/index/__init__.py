"""Similarity search: faiss binary indexes for Hamming distance (:mod:`.hamming`), dense k-NN (:mod:`.knn`)."""

from splitcheck.index.hamming import hamming_distances, hamming_pairs

__all__ = ["hamming_distances", "hamming_pairs"]
