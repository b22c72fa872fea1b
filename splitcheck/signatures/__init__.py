"""Per-item signatures computed once and reused by every scanner: digests, perceptual hashes, properties."""
