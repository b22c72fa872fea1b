"""The default executor: this machine's process pool (:func:`compute_image_signatures` as it is)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Self

from splitcheck._parallel import WorkerPool
from splitcheck.search.local import LocalSearch
from splitcheck.signatures.cache import SignatureCache
from splitcheck.signatures.decode import DecodeSettings
from splitcheck.signatures.images import ImageSignatures, compute_image_signatures


@dataclass
class LocalExecutor:
    """Decode and hash in ``jobs`` worker processes of this machine, reading and filling the SQLite cache.

    The workers are started when the first split needs them and serve every later split of the scan;
    ``on_start`` runs once they exist (the scan imports its statistics libraries then, in the background).
    """

    jobs: int = 1
    name: str = "local"
    on_start: Callable[[], None] | None = None
    _pool: WorkerPool | None = field(default=None, init=False, repr=False)

    def image_signatures(self, paths: Sequence[str], settings: DecodeSettings, cache: SignatureCache | None = None,
                         progress: Callable[[int], None] | None = None, *, hashes: bool = True) -> ImageSignatures:
        """The signatures of ``paths``, hashes always included (the local search reads them)."""
        if self._pool is None:
            self._pool = WorkerPool(self.jobs, self.on_start)
        return compute_image_signatures(paths, settings, cache=cache, jobs=self.jobs, progress=progress,
                                        pool=self._pool)

    def search_for(self, n_items: int) -> LocalSearch:
        """Searches run in this process, whatever the size."""
        return LocalSearch()

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
