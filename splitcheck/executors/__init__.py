"""Where signature computation runs: this machine's process pool (``local``) or a Dask cluster (``dask``).

An executor computes the :class:`~splitcheck.signatures.images.ImageSignatures` of a list of image paths;
every executor returns exactly the same signatures for the same files, so the scanners never know which
one ran. ``local`` is the default and needs nothing beyond splitcheck; ``dask`` needs the optional extra
(``pip install 'splitcheck[dask]'``) and is imported only when asked for.

An executor also provides the scan's :class:`~splitcheck.search.Search` (:meth:`Executor.search_for`): the
local one searches in this process; the Dask one, when it writes signature shards and the scan is large,
searches on the cluster, and then returns signatures without hashes (``hashes=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from splitcheck.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    from splitcheck.search import Search
    from splitcheck.signatures.cache import SignatureCache
    from splitcheck.signatures.decode import DecodeSettings
    from splitcheck.signatures.images import ImageSignatures

#: Names accepted by ``--executor`` and :func:`make_executor`.
EXECUTORS = ("local", "dask")


class Executor(Protocol):
    """Computes signatures; ``close`` releases what it started (worker pools, a local Dask cluster)."""

    name: str

    def image_signatures(self, paths: Sequence[str], settings: DecodeSettings, cache: SignatureCache | None = None,
                         progress: Callable[[int], None] | None = None, *, hashes: bool = True) -> ImageSignatures: ...

    def search_for(self, n_items: int) -> Search:
        """The search for a scan of ``n_items`` images (its ``needs_hashes`` says what to pass as ``hashes``)."""
        ...

    def close(self) -> None: ...


def make_executor(name: str = "local", *, jobs: int = 1, dask_address: str | None = None,
                  on_start: Callable[[], None] | None = None, **options: Any) -> Executor:
    """The executor called ``name``: ``local`` (``jobs`` processes) or ``dask`` (``dask_address`` or a
    local cluster of ``jobs`` workers started for the run; ``options`` go to
    :class:`~splitcheck.executors.dask.DaskExecutor`, those that are None are left at their defaults).
    ``on_start`` runs once the local workers exist (the Dask executor does not call it)."""
    options = {k: v for k, v in options.items() if v is not None}
    if name == "local":
        if dask_address is not None:
            raise ConfigError("dask-address is set but the executor is 'local'; use --executor dask "
                              "(or drop --dask-address)")
        if options.get("shard_dir") is not None:
            raise ConfigError("dask-shard-dir is set but the executor is 'local'; use --executor dask "
                              "(or drop dask-shard-dir)")
        from splitcheck.executors.local import LocalExecutor

        return LocalExecutor(jobs=jobs, on_start=on_start)
    if name == "dask":
        try:
            from splitcheck.executors.dask import DaskExecutor
        except ImportError as exc:
            raise MissingExtraError(f"the dask executor needs Dask ({exc.name or exc} is not installed): "
                                    "pip install 'splitcheck[dask]'") from None
        options.setdefault("n_workers", jobs)
        return DaskExecutor(dask_address, **options)
    raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}; got {name!r}")


__all__ = ["EXECUTORS", "Executor", "make_executor"]
