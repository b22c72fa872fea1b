"""Similarity search over signatures: faiss binary indexes for Hamming distance (dense search comes later)."""

from splitcheck.index.hamming import hamming_distances, hamming_pairs

__all__ = ["hamming_distances", "hamming_pairs"]
