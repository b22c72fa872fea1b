"""The default executor: this machine's process pool (:func:`compute_image_signatures` as it is)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.signatures.images import ImageSignatures, compute_image_signatures


@dataclass
class LocalExecutor:
    """Decode and hash in ``jobs`` worker processes of this machine, reading and filling the SQLite cache."""

    jobs: int = 1
    name: str = "local"

    def image_signatures(self, paths: Sequence[str], settings: DecodeSettings, cache: SignatureCache | None = None,
                         progress: Callable[[int], None] | None = None) -> ImageSignatures:
        return compute_image_signatures(paths, settings, cache=cache, jobs=self.jobs, progress=progress)

    def close(self) -> None:
        """Nothing to release: each call starts and joins its own pool."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
