"""The Python API: ``scan`` loads the splits, runs every scanner, and returns a :class:`Report`."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from splitcheck import scanners as _scanners  # noqa: F401  (registers the built-in scanners)
from splitcheck._parallel import default_jobs
from splitcheck._prefetch import Prefetch
from splitcheck.config import FAIL_ON_CHOICES, Config, config_from_mapping, load_config
from splitcheck.context import ProgressFactory, ScanContext
from splitcheck.errors import ConfigError, InputError, LeakageError
from splitcheck.executors import make_executor
from splitcheck.findings import Finding
from splitcheck.loaders import LoadOptions, check_splits_compatible, load_split
from splitcheck.report import Report, ScannerRun
from splitcheck.scanners.base import Scanner, registered_scanners
from splitcheck.scanners.near_duplicates import image_settings
from splitcheck.signatures.cache import SignatureCache, default_cache_dir
from splitcheck.splits import Split


def scan(
    train: Any = None,
    val: Any = None,
    test: Any = None,
    *,
    label_column: str | None = None,
    group_column: str | None = None,
    time_column: str | None = None,
    id_column: str | None = None,
    text_column: str | None = None,
    path_column: str | None = None,
    modality: str | None = None,
    config: str | Path | Mapping[str, Any] | Config | None = None,
    fail_on: str | None = None,
    ignore: list[str] | None = None,
    jobs: int | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool | None = None,
    losses: str | Path | None = None,
    embedder: Any = None,
    embeddings: Mapping[str, Any] | None = None,
    executor: str | None = None,
    dask_address: str | None = None,
    dask_shard_dir: str | Path | None = None,
    progress: ProgressFactory | None = None,
    **splits: Any,
) -> Report:
    """Scan the splits for leakage and sanity problems.

    ``train``, ``val``, ``test`` and any other keyword (``holdout=...``) name splits; each may be a path
    (image folder, CSV/Parquet/JSONL table or manifest, ``.npy``), a DataFrame, a numpy array or
    ``(array, labels)`` tuple, a list of image paths, or a Dataset returning ``(tensor, label)``.
    The first split given is the reference (``train``). Returns a :class:`Report`; never raises for
    findings (see :func:`check`). Raises :class:`InputError` / :class:`ConfigError` for unusable input.
    """
    started = time.perf_counter()
    cfg = _resolve_config(config)
    if fail_on is not None:
        if fail_on not in FAIL_ON_CHOICES:
            raise ConfigError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}; got {fail_on!r}")
        cfg.fail_on = fail_on
    if ignore:
        cfg.ignore = [*cfg.ignore, *(c.upper() for c in ignore)]
    if jobs is not None:
        if jobs < 1:
            raise ConfigError(f"jobs must be a positive integer; got {jobs!r}")
        cfg.jobs = jobs
    if executor is not None:
        cfg.executor = executor
    if dask_address is not None:
        cfg.dask_address = dask_address
    if dask_shard_dir is not None:
        cfg.dask_shard_dir = str(dask_shard_dir)
    if use_cache is not None:
        cfg.cache = use_cache
    if cache_dir is not None:
        cfg.cache_dir = str(cache_dir)
    named = {k: v for k, v in (("train", train), ("val", val), ("test", test)) if v is not None}
    named.update({k: v for k, v in splits.items() if v is not None})
    if not named:
        raise InputError("no split given: pass at least one split, e.g. scan(train='data/train', val='data/val')")
    options = LoadOptions(label_column=label_column, group_column=group_column, time_column=time_column,
                          id_column=id_column, text_column=text_column, path_column=path_column,
                          modality=modality)
    _refuse_same_paths(named)
    loaded = [load_split(name, source, options) for name, source in named.items()]
    check_splits_compatible(loaded)
    timings = {"load": time.perf_counter() - started}

    images = any(s.modality == "image" for s in loaded)
    cache = _open_cache(cfg) if images else None
    jobs_used = cfg.jobs or default_jobs()
    # the statistics libraries are imported while the decoding workers run (seconds saved on a first scan)
    prefetch = Prefetch(m for cls in registered_scanners().values() if loaded[0].modality in cls.modalities
                        for m in cls.imports)
    runner = make_executor(cfg.executor, jobs=jobs_used, dask_address=cfg.dask_address, on_start=prefetch.start,
                           shard_dir=cfg.dask_shard_dir, search_above=cfg.cluster_search_above) if images else None
    context = ScanContext(loaded, severities=cfg.severity, jobs=jobs_used, progress=progress,
                          max_image_pixels=cfg.max_image_pixels, image_settings=image_settings(cfg), cache=cache,
                          executor=runner)
    try:  # the cache connection and a Dask cluster are released even when loading --losses or Ctrl-C ends the scan
        if embedder is not None or embeddings:
            from splitcheck.embed.context import configure

            configure(context, embedder=embedder, embeddings=embeddings)
        findings: list[Finding] = []
        runs: list[ScannerRun] = []
        for name, cls in registered_scanners().items():
            scanner = cls(**cfg.scanners.get(name, {}))
            run = ScannerRun(name=name, status="ok", params=dict(scanner.settings))
            t0 = time.perf_counter()
            modality = loaded[0].modality
            reason = None if modality in cls.modalities else f"does not apply to {modality} splits"
            reason = reason or scanner.skip_reason(context)
            if reason:
                run.status, run.reason = "skipped", reason
            else:
                try:
                    produced = [f for f in _run_scanner(scanner, context) if not cfg.is_ignored(f.code)]
                except Exception as exc:  # a crashing scanner is recorded; the others still run
                    run.status, run.reason = "failed", f"{type(exc).__name__}: {exc}"
                else:
                    findings.extend(produced)
                    context.findings.extend(produced)
                    run.n_findings = len(produced)
            run.seconds = time.perf_counter() - t0
            timings[f"scanner:{name}"] = run.seconds
            runs.append(run)
        if losses is not None:
            from splitcheck.scanners.difficulty_gap import loss_findings

            produced = [f for f in loss_findings(context, losses, **cfg.scanners.get("difficulty_gap", {}))
                        if not cfg.is_ignored(f.code)]
            findings.extend(produced)
            context.findings.extend(produced)
        prefetch.join()
    finally:
        if cache is not None:
            cache.close()
        if runner is not None:
            runner.close()
    for split in loaded:
        signatures = context.computed_image_signatures(split)
        if signatures is not None:
            decoded = int(signatures.valid.sum()) - signatures.cache_hits
            split.notes.append(f"images: {decoded} decoded, {signatures.cache_hits} from the signature cache")
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.splits))
    timings["total"] = time.perf_counter() - started
    return Report(
        findings=findings,
        splits=[_split_summary(s) for s in loaded],
        scanners=runs,
        fail_on=cfg.fail_on,
        config=cfg.to_dict(),
        versions=_versions(),
        timings=timings,
    )


def check(*args: Any, **kwargs: Any) -> Report:
    """Like :func:`scan`, but raise :class:`LeakageError` (carrying the report) when the gate fails."""
    report = scan(*args, **kwargs)
    if not report.ok:
        raise LeakageError(report)
    return report


def _open_cache(cfg: Config) -> SignatureCache:
    if not cfg.cache:
        return SignatureCache(None)
    return SignatureCache(cfg.cache_dir or default_cache_dir())


def _resolve_config(config: str | Path | Mapping[str, Any] | Config | None) -> Config:
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return config_from_mapping(dict(config))
    if config is not None:
        return load_config(config)
    return load_config()


def _refuse_same_paths(named: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, source in named.items():
        if isinstance(source, (str, os.PathLike)):
            try:
                key = os.path.realpath(source)
            except ValueError:  # a NUL in the path: the loader names it as unusable
                continue
            if key in seen:
                raise InputError(f"{source}: splits {seen[key]!r} and {name!r} are the same path; give each split its own data")
            seen[key] = name


def _split_summary(split: Split) -> dict[str, Any]:
    summary = split.summary()
    summary["notes"] = list(split.notes)
    return summary


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("splitcheck", "numpy", "pandas", "pillow", "scikit-learn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _run_scanner(scanner: Scanner, context: ScanContext) -> list[Finding]:
    """The scanner's findings: read from the cache for a memoised scanner whose inputs did not change."""
    if not (scanner.memoise and context.cache is not None and context.cache.enabled):
        return scanner.run(context)
    from splitcheck import scanner_memo

    key = scanner_memo.memo_key(context, scanner)
    findings = scanner_memo.load(context.cache, key)
    if findings is None:
        findings = scanner.run(context)
        scanner_memo.store(context.cache, key, findings)
    return findings
