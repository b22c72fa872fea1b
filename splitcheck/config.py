"""Configuration: ``[tool.splitcheck]`` in ``pyproject.toml`` or a ``splitcheck.toml``, validated.

Lookup: an explicit ``--config FILE``; else the nearest ``splitcheck.toml`` or ``pyproject.toml`` with a
``[tool.splitcheck]`` table, from the current directory upwards; else the defaults. Options given on
the command line or to :func:`splitcheck.scan` override the file. Keys may use ``-`` or ``_``.

::

    [tool.splitcheck]
    fail-on = "error"            # gate: error | warning | info | never
    ignore = ["DS103"]           # rule codes or prefixes (e.g. "DS") to leave out of the report
    jobs = 2                     # processes for decoding (default: available cores)
    max-image-pixels = 178956970 # larger images are refused as decompression bombs (DQ101)
    cache = true                 # keep image signatures in a cache so an unchanged dataset rescans fast
    cache-dir = "~/.cache/splitcheck"  # where (default: $SPLITCHECK_CACHE_DIR, $XDG_CACHE_HOME/splitcheck)
    executor = "local"           # where image signatures are computed: local processes or a Dask cluster
    dask-address = "tcp://scheduler:8786"  # with executor = "dask" (default: a local cluster for the run)
    dask-shard-dir = "s3://bucket/shards"  # with executor = "dask": where workers keep signature shards
    cluster-search-above = 1000000  # with a shard dir: above this many images, search on the cluster

    [tool.splitcheck.severity]   # per rule code
    LK301 = "warning"

    [tool.splitcheck.class-distribution]   # per scanner settings (``splitcheck rules`` lists them)
    alpha = 0.01
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitcheck.errors import ConfigError
from splitcheck.findings import Severity
from splitcheck.search import CLUSTER_SEARCH_ABOVE
from splitcheck.signatures.digests import DEFAULT_MAX_IMAGE_PIXELS

FAIL_ON_CHOICES = ("error", "warning", "info", "never")


@dataclass
class Config:
    """The effective configuration of a scan."""

    fail_on: str = "error"
    ignore: list[str] = field(default_factory=list)
    jobs: int | None = None
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    cache: bool = True
    cache_dir: str | None = None
    executor: str = "local"
    dask_address: str | None = None
    dask_shard_dir: str | None = None
    cluster_search_above: int = CLUSTER_SEARCH_ABOVE
    severity: dict[str, Severity] = field(default_factory=dict)
    scanners: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "defaults"

    def to_dict(self) -> dict[str, Any]:
        return {
            "fail_on": self.fail_on,
            "ignore": list(self.ignore),
            "jobs": self.jobs,
            "max_image_pixels": self.max_image_pixels,
            "cache": self.cache,
            "cache_dir": self.cache_dir,
            "executor": self.executor,
            "dask_address": self.dask_address,
            "dask_shard_dir": self.dask_shard_dir,
            "cluster_search_above": self.cluster_search_above,
            "severity": {k: v.value for k, v in self.severity.items()},
            "scanners": self.scanners,
            "source": self.source,
        }

    def is_ignored(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.ignore)


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest splitcheck.toml, or pyproject.toml with [tool.splitcheck], from ``start`` upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "splitcheck.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                continue
            if "splitcheck" in data.get("tool", {}):
                return pyproject
    return None


def load_config(path: str | Path | None = None, *, search: bool = True) -> Config:
    """Read and validate a configuration file (or the defaults when there is none)."""
    file = Path(path) if path is not None else (find_config_file() if search else None)
    if file is None:
        return Config()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    if file.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("splitcheck")
        if table is None:
            if path is not None:
                raise ConfigError(f"{file}: has no [tool.splitcheck] table")
            return Config()
        where = "[tool.splitcheck]"
    else:
        table, where = data, "top level"
    return config_from_mapping(table, source=str(file), where=where)


def config_from_mapping(table: dict[str, Any], *, source: str = "<dict>", where: str = "config") -> Config:
    from splitcheck.scanners import all_rules, registered_scanners

    config = Config(source=source)
    scanners = {cls.name.replace("_", "-"): cls for cls in registered_scanners().values()}
    rules = all_rules()
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key == "fail-on":
            if value not in FAIL_ON_CHOICES:
                raise ConfigError(f"{source}: {where} fail-on must be one of {', '.join(FAIL_ON_CHOICES)}; got {value!r}")
            config.fail_on = value
        elif key == "ignore":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: {where} ignore must be a list of rule codes; got {value!r}")
            config.ignore = [v.upper() for v in value]
        elif key == "jobs":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{source}: {where} jobs must be a positive integer; got {value!r}")
            config.jobs = value
        elif key == "max-image-pixels":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{source}: {where} max-image-pixels must be a positive integer; got {value!r}")
            config.max_image_pixels = value
        elif key == "cache":
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: {where} cache must be true or false; got {value!r}")
            config.cache = value
        elif key == "cache-dir":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: {where} cache-dir must be a folder path; got {value!r}")
            config.cache_dir = str(Path(value).expanduser())
        elif key == "executor":
            if value not in ("local", "dask"):
                raise ConfigError(f"{source}: {where} executor must be 'local' or 'dask'; got {value!r}")
            config.executor = value
        elif key == "dask-address":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: {where} dask-address must be a scheduler address such as "
                                  f"'tcp://host:8786'; got {value!r}")
            config.dask_address = value
        elif key == "dask-shard-dir":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: {where} dask-shard-dir must be a folder or URI every worker can "
                                  f"write, such as 's3://bucket/shards'; got {value!r}")
            config.dask_shard_dir = value
        elif key == "cluster-search-above":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{source}: {where} cluster-search-above must be a non-negative integer "
                                  f"(images); got {value!r}")
            config.cluster_search_above = value
        elif key == "severity":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {where} severity must be a table of CODE = \"level\"")
            for code, level in value.items():
                if code.upper() not in rules:
                    raise ConfigError(f"{source}: unknown rule code {code!r} in {where}.severity; "
                                      f"known codes: {', '.join(sorted(rules))}")
                try:
                    config.severity[code.upper()] = Severity.parse(level, what=f"severity of {code}")
                except ValueError as exc:
                    raise ConfigError(f"{source}: {exc}") from None
        elif key in scanners:
            config.scanners[scanners[key].name] = validate_params(scanners[key], value, source=source,
                                                                  where=f"{where}.{key}")
        else:
            known = ["cache", "cache-dir", "cluster-search-above", "dask-address", "dask-shard-dir", "executor",
                     "fail-on", "ignore", "jobs", "max-image-pixels", "severity", *sorted(scanners)]
            raise ConfigError(f"{source}: unknown key {raw_key!r} in {where}; known keys: {', '.join(known)}")
    return config


def validate_params(cls: type, values: Any, *, source: str, where: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {where} must be a table of settings")
    out = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        param = cls.params.get(key)  # type: ignore[attr-defined]
        if param is None:
            known = ", ".join(k.replace("_", "-") for k in cls.params) or "(none)"  # type: ignore[attr-defined]
            raise ConfigError(f"{source}: unknown setting {raw_key!r} in {where}; known settings: {known}")
        problem = param.check(value) if param.check else None
        if problem:
            raise ConfigError(f"{source}: {where}.{raw_key} {problem}; got {value!r}")
        out[key] = value
    return out
