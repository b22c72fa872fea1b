"""Run splitcheck and its peers on one generated set and compare speed, memory and accuracy.

In one run, on the same files (``DIR/train``, ``DIR/val``, ``DIR/truth.json`` from ``generate.py``), each
tool as a child process measured by :mod:`measure` (wall time, images/s, peak memory):

``decode floor``         PIL open + draft + convert("L") of every file with ``--jobs`` processes (baselines.py)
``splitcheck``           ``splitcheck scan DIR/train DIR/val --format json --exit-zero --no-progress`` with a
                         fresh ``--cache-dir``; pairs from the LK101 and LK102 findings
``splitcheck (cached)``  the same command again on the same cache: the rescan of an unchanged dataset
``imagehash loop``       ``imagehash.phash`` per image in ONE process + faiss IndexBinaryFlat, Hamming <= 10
``imagededup``           PHash cross-set (encode both, search all pairs, keep train-val), own venv
``fastdup``              ``fastdup.run(input_dir=train, test_dir=val)``, pairs from similarity.csv, own venv

Every tool's pairs are scored with :mod:`score` (per-transform recall, precision, F1). The page cache is
warmed (every file read once) before the first measurement so that no tool pays for cold reads alone.
The peers' venvs come from ``setup_peers.sh``; a peer whose venv is missing is reported as skipped.

Usage::

    python benchmarks/image_leakage/run.py DIR [--jobs 2] [--peers imagehash,imagededup,fastdup] --json results.json
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baselines import list_images
from measure import Measurement, run_measured
from score import Truth, at_precision, score, splitcheck_pairs

PEERS = ("imagehash", "imagededup", "fastdup")
#: Peers whose pairs carry a score, and whether a higher score means closer (similarity) or farther (distance).
SCORED_PEERS = {"imagededup": False, "fastdup": True}
DEFAULT_VENVS = HERE.parent / "_work" / "venvs"
#: Targets of issue 9 (at default settings, 2 cores).
RECALL_TARGETS = {"exact": 0.99, "jpeg": 0.99, "resize": 0.99, "brightness": 0.99,
                  "crop": 0.95, "noise": 0.95, "flip": 0.95, "rotation": 0.95}
PRECISION_TARGET = 0.99
FLOOR_RATIO_TARGET = 1.25
LOOP_SPEEDUP_TARGET = 4.0
CACHE_SPEEDUP_TARGET = 20.0
SHORT = {"exact": "exact", "jpeg": "jpeg", "resize": "resize", "crop": "crop", "brightness": "bright",
         "noise": "noise", "flip": "flip", "rotation": "rot"}


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)), "cpu_model": model,
            "platform": platform.platform(), "python": platform.python_version(),
            "loadavg_at_start": list(os.getloadavg())}


def compile_package() -> None:
    """Write splitcheck's bytecode caches before timing, as a wheel install does (pip compiles on install).

    With PYTHONDONTWRITEBYTECODE set (as on some CI machines) an editable install would otherwise compile
    every module from source on every run: about 0.25 s of each scan, a fifth of a cached rescan.
    """
    spec = importlib.util.find_spec("splitcheck")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            compileall.compile_dir(folder, quiet=1)


def warm_page_cache(paths: list[Path]) -> float:
    t0 = time.perf_counter()
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    return time.perf_counter() - t0


class Bench:
    """Runs the tools one after another and collects one result record per tool."""

    def __init__(self, data: Path, work: Path, jobs: int, venvs: Path, timeout: float) -> None:
        self.data, self.work, self.jobs, self.venvs, self.timeout = data, work, jobs, venvs, timeout
        self.train, self.val = data / "train", data / "val"
        self.truth = Truth.load(data / "truth.json")
        self.n_images = len(list_images(self.train)) + len(list_images(self.val))
        self.results: dict[str, dict[str, Any]] = {}

    def _record(self, name: str, m: Measurement | None, pairs: set[tuple[str, str]] | None,
                note: str = "", extra: dict[str, Any] | None = None, error: str = "") -> dict[str, Any]:
        rec: dict[str, Any] = {"tool": name, "note": note, "error": error}
        if m is not None:
            rec.update(wall_s=m.wall_s, images_per_s=self.n_images / m.wall_s if m.wall_s else None,
                       peak_rss_mb=m.peak_rss_mb, peak_tree_mb=m.peak_tree_mb, cpu_s=m.user_s + m.sys_s,
                       returncode=m.returncode, argv=m.argv)
        if pairs is not None:
            rec["score"] = score(pairs, self.truth).to_dict()
        rec.update(extra or {})
        self.results[name] = rec
        status = f"error: {error}" if error else f"{rec.get('wall_s', 0):.2f} s"
        print(f"  {name:<22} {status}", file=sys.stderr, flush=True)
        return rec

    def _failed(self, m: Measurement) -> str:
        if m.returncode == 0:
            return ""
        tail = " | ".join(line for line in m.stderr.strip().splitlines()[-3:])
        return f"exit {m.returncode}: {tail[:400]}"

    def _python_tool(self, name: str, python: Path, script: Path, args: list[str], note: str,
                     env: dict[str, str] | None = None) -> None:
        out = self.work / f"{name.replace(' ', '_')}.json"
        out.unlink(missing_ok=True)
        argv = [str(python), str(script), "--train", str(self.train), "--val", str(self.val), *args,
                "--out", str(out)]
        m = run_measured(argv, env=env, timeout=self.timeout)
        error = self._failed(m) or ("" if out.exists() else "no output written")
        if error:
            self._record(name, m, None, note, error=error)
            return
        data = json.loads(out.read_text(encoding="utf-8"))
        pairs = {(p[0], p[1]) for p in data["pairs"]}
        extra = {"tool_seconds": data.get("seconds", {}), "n_images_seen": data.get("n_images")}
        self._record(name, m, pairs, note, extra)
        if name in SCORED_PEERS:  # the same pairs at the peer's best cut-off with precision >= the target
            cut, at = at_precision(data["pairs"], self.truth, PRECISION_TARGET, SCORED_PEERS[name])
            self.results[f"{name} @p>={PRECISION_TARGET}"] = {
                "tool": name, "note": f"{name}'s own pairs, score cut-off {cut} (precision >= {PRECISION_TARGET})",
                "error": "" if cut is not None else "no cut-off reaches the precision", "cutoff": cut,
                "score": at.to_dict()}

    def decode_floor(self) -> None:
        self._baseline("decode-floor", "decode floor", ["--jobs", str(self.jobs)],
                       f"PIL open+draft('L',(64,64))+convert('L'), {self.jobs} processes")

    def _baseline(self, workload: str, name: str, args: list[str], note: str) -> None:
        out = self.work / f"{workload}.json"
        out.unlink(missing_ok=True)
        argv = [sys.executable, str(HERE / "baselines.py"), workload, "--train", str(self.train), "--val",
                str(self.val), *args, "--out", str(out)]
        m = run_measured(argv, timeout=self.timeout)
        error = self._failed(m) or ("" if out.exists() else "no output written")
        if error:
            self._record(name, m, None, note, error=error)
            return
        data = json.loads(out.read_text(encoding="utf-8"))
        pairs = {(p[0], p[1]) for p in data["pairs"]} if workload != "decode-floor" else None
        self._record(name, m, pairs, note, {"tool_seconds": data.get("seconds", {}),
                                            "n_images_seen": data.get("n_images")})

    def splitcheck(self, command: list[str], extra: list[str]) -> None:
        cache = self.work / "splitcheck-cache"
        shutil.rmtree(cache, ignore_errors=True)
        for name in ("splitcheck", "splitcheck (cached)"):
            out = self.work / f"{name.replace(' ', '_').replace('(', '').replace(')', '')}.json"
            out.unlink(missing_ok=True)
            argv = [*command, "scan", str(self.train), str(self.val), "--format", "json", "--exit-zero",
                    "--output", str(out), "--no-progress", "--cache-dir", str(cache), "--jobs", str(self.jobs), *extra]
            m = run_measured(argv, timeout=self.timeout)
            note = "fresh cache" if name == "splitcheck" else "same cache, unchanged files"
            error = self._failed(m) or ("" if out.exists() else "no report written")
            if error:
                self._record(name, m, None, note, error=error)
                return
            report = json.loads(out.read_text(encoding="utf-8"))
            by_code = {code: len(splitcheck_pairs(report, (code,))) for code in ("LK101", "LK102")}
            codes = sorted({f["code"] for f in report.get("findings", [])})
            self._record(name, m, splitcheck_pairs(report), note,
                         {"pairs_by_code": by_code, "finding_codes": codes, "report_timings": report.get("timings"),
                          "failed_scanners": [s for s in report.get("scanners", [])
                                              if isinstance(s, dict) and s.get("status") == "failed"]})

    def imagehash_loop(self) -> None:
        self._baseline("imagehash-loop", "imagehash loop", ["--threshold", "10"],
                       "imagehash.phash per image, 1 process (no parallel mode) + faiss IndexBinaryFlat, Hamming <= 10")

    def imagededup(self) -> None:
        python = self.venvs / "imagededup" / "bin" / "python"
        if not python.exists():
            self.results["imagededup"] = {"tool": "imagededup", "error": f"skipped: {python} missing; run "
                                          "benchmarks/image_leakage/setup_peers.sh imagededup"}
            return
        self._python_tool("imagededup", python, HERE / "peers" / "imagededup_runner.py",
                          ["--jobs", str(self.jobs), "--threshold", "10"],
                          note=f"PHash, Hamming <= 10, all-pairs search of the union, {self.jobs} processes")

    def fastdup(self) -> None:
        python = self.venvs / "fastdup" / "bin" / "python"
        if not python.exists():
            self.results["fastdup"] = {"tool": "fastdup", "error": f"skipped: {python} missing; run "
                                       "benchmarks/image_leakage/setup_peers.sh fastdup"}
            return
        work = self.work / "fastdup-work"
        shutil.rmtree(work, ignore_errors=True)
        env = {**os.environ, "SENTRY_OPT_OUT": "1"}
        self._python_tool("fastdup", python, HERE / "peers" / "fastdup_runner.py",
                          ["--jobs", str(self.jobs), "--work", str(work)], env=env,
                          note=f"bundled ONNX model, cosine >= 0.9, train vs test, {self.jobs} threads")


def _fmt(value: Any, spec: str) -> str:
    width = int(spec.split(".")[0] or 0)
    return "-".rjust(width) if value is None else format(value, spec)


def table(results: dict[str, dict[str, Any]], transforms: list[str]) -> str:
    """The comparison table as fixed-width text."""
    head = (f"{'tool':<20} {'wall s':>8} {'cpu s':>7} {'img/s':>8} {'RSS MB':>7} {'tree MB':>7} {'prec':>5} {'recall':>6} "
            f"{'F1':>5} " + " ".join(f"{SHORT.get(t, t):>6}" for t in transforms))
    lines = [head, "-" * len(head)]
    for name, rec in results.items():
        if rec.get("error") and "wall_s" not in rec:
            lines.append(f"{name:<20} {rec['error']}")
            continue
        sc = rec.get("score") or {}
        recall = sc.get("recall", {})
        lines.append(
            f"{name:<20} {_fmt(rec.get('wall_s'), '8.2f')} {_fmt(rec.get('cpu_s'), '7.2f')} "
            f"{_fmt(rec.get('images_per_s'), '8.0f')} "
            f"{_fmt(rec.get('peak_rss_mb'), '7.0f')} {_fmt(rec.get('peak_tree_mb'), '7.0f')} "
            f"{_fmt(sc.get('precision'), '5.2f')} {_fmt(sc.get('recall_all'), '6.2f')} {_fmt(sc.get('f1'), '5.2f')} "
            + " ".join(f"{_fmt(recall.get(t), '6.2f')}" for t in transforms)
            + (f"   ERROR {rec['error']}" if rec.get("error") else ""))
    return "\n".join(lines)


def target_checks(results: dict[str, dict[str, Any]], mean_side: float | None) -> list[dict[str, Any]]:
    """Issue 9's targets, each with the measured value and whether it is met (None: not measurable)."""
    checks: list[dict[str, Any]] = []

    def wall(name: str) -> float | None:
        rec = results.get(name, {})
        return None if rec.get("error") else rec.get("wall_s")

    def add(target: str, value: float | None, ok: bool | None, note: str = "") -> None:
        checks.append({"target": target, "value": value, "met": ok, "note": note})

    sc, floor, loop, cached = wall("splitcheck"), wall("decode floor"), wall("imagehash loop"), \
        wall("splitcheck (cached)")
    ratio = sc / floor if sc and floor else None
    add(f"splitcheck wall <= {FLOOR_RATIO_TARGET} x decode floor", ratio,
        None if ratio is None else ratio <= FLOOR_RATIO_TARGET)
    speedup = loop / sc if loop and sc else None
    small = mean_side is not None and mean_side < 500
    add(f"imagehash loop / splitcheck wall >= {LOOP_SPEEDUP_TARGET} (images >= 500 px)", speedup,
        None if speedup is None or small else speedup >= LOOP_SPEEDUP_TARGET,
        f"mean side {mean_side:.0f} px < 500: there the floor is the target" if small else "")
    # CPU seconds (user + sys of the tool and its workers) do not count the time other work on a shared machine
    # takes from the tool: the ratios to trust when the load average was high (they assume equal parallelism)
    cpu = {name: (None if results.get(name, {}).get("error") else results.get(name, {}).get("cpu_s"))
           for name in ("splitcheck", "decode floor", "imagehash loop")}
    if cpu["splitcheck"] and cpu["decode floor"]:
        add("(cpu) splitcheck cpu s / decode floor cpu s", cpu["splitcheck"] / cpu["decode floor"], None,
            "informative: CPU seconds, unaffected by other load")
    if cpu["splitcheck"] and cpu["imagehash loop"]:
        add("(cpu) imagehash loop cpu s / splitcheck cpu s / 2 cores", cpu["imagehash loop"] / cpu["splitcheck"] * 2,
            None, "informative: the loop uses one core, splitcheck two")
    cache_speedup = sc / cached if sc and cached else None
    add(f"first scan / cached rescan >= {CACHE_SPEEDUP_TARGET}", cache_speedup,
        None if cache_speedup is None else cache_speedup >= CACHE_SPEEDUP_TARGET)
    score_sc = results.get("splitcheck", {}).get("score")
    if score_sc:
        p = score_sc["precision"]
        add(f"precision >= {PRECISION_TARGET}", p, None if p is None else p >= PRECISION_TARGET)
        for transform, goal in RECALL_TARGETS.items():
            r = score_sc["recall"].get(transform)
            add(f"recall {transform} >= {goal}", r, None if r is None else r >= goal)
        fd = results.get("fastdup", {}).get("score")
        if fd:
            worse = [t for t, r in score_sc["recall"].items()
                     if r is not None and fd["recall"].get(t) is not None and r < fd["recall"][t]]
            add("recall per transform >= fastdup's", float(len(worse)), not worse,
                f"below fastdup on: {', '.join(worse)}" if worse else "")
        fd_best = results.get(f"fastdup @p>={PRECISION_TARGET}", {}).get("score")
        if fd_best and not results[f"fastdup @p>={PRECISION_TARGET}"].get("error"):
            worse = [t for t, r in score_sc["recall"].items()
                     if r is not None and fd_best["recall"].get(t) is not None and r < fd_best["recall"][t]]
            add(f"recall per transform >= fastdup's at precision >= {PRECISION_TARGET}", float(len(worse)), not worse,
                f"below fastdup on: {', '.join(worse)}" if worse else "")
        fd_wall = wall("fastdup")
        if fd_wall and sc:
            add("wall time a small fraction of fastdup's (splitcheck / fastdup)", sc / fd_wall, None)
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder made by generate.py (train/, val/, truth.json)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="processes for splitcheck, the decode floor and the peers (default: usable cores)")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help=f"comma-separated peers to run, of {','.join(PEERS)} (default: all; '' for none)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--work", type=Path, help="scratch folder (default: benchmarks/_work/run-<data name>)")
    parser.add_argument("--venvs", type=Path, default=DEFAULT_VENVS, help="where setup_peers.sh put the venvs")
    parser.add_argument("--splitcheck", default=None,
                        help="splitcheck command (default: the splitcheck script beside this Python)")
    parser.add_argument("--splitcheck-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for splitcheck scan (repeatable), e.g. --splitcheck-arg=--ignore=DS")
    parser.add_argument("--no-splitcheck", action="store_true", help="run only the floor and the peers")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds allowed per tool")
    args = parser.parse_args(argv)

    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; expected some of {', '.join(PEERS)}")
    if not (args.data / "truth.json").is_file():
        parser.error(f"{args.data}: no truth.json; make the set with generate.py first")
    data = args.data.resolve()
    work = (args.work or HERE.parent / "_work" / f"run-{data.name}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    script = Path(sys.executable).parent / "splitcheck"
    command = args.splitcheck.split() if args.splitcheck else (
        [str(script)] if script.exists() else [sys.executable, "-m", "splitcheck"])

    bench = Bench(data, work, args.jobs, args.venvs, args.timeout)
    compile_package()
    files = [bench.train / p for p in list_images(bench.train)] + [bench.val / p for p in list_images(bench.val)]
    machine = machine_info()
    print(f"{data}: {bench.n_images} images ({bench.truth.n_train} train, {bench.truth.n_val} val, "
          f"{len(bench.truth.pairs)} planted pairs); jobs={args.jobs}, {machine['usable_cores']} usable cores, "
          f"load {machine['loadavg_at_start'][0]:.2f}", file=sys.stderr)
    warm_s = warm_page_cache(files)
    bench.decode_floor()
    if not args.no_splitcheck:
        bench.splitcheck(command, args.splitcheck_arg)
    if "imagehash" in peers:
        bench.imagehash_loop()
    if "imagededup" in peers:
        bench.imagededup()
    if "fastdup" in peers:
        bench.fastdup()

    floor = bench.results.get("decode floor", {})
    mean_pixels = None
    floor_out = work / "decode-floor.json"
    if floor_out.exists():
        mean_pixels = json.loads(floor_out.read_text()).get("mean_decoded_pixels")
    generator = json.loads((data / "truth.json").read_text()).get("generator", {})
    size_range = generator.get("size_range")
    mean_side = sum(size_range) / 2 if size_range else None
    checks = target_checks(bench.results, mean_side)

    print()
    print(f"{bench.n_images} images ({bench.truth.n_train} train + {bench.truth.n_val} val), sides "
          f"{size_range} px, {len(bench.truth.pairs)} planted pairs, {len(bench.truth.distractors)} distractors; "
          f"jobs={args.jobs} on {machine['usable_cores']} cores ({machine['cpu_model']})")
    print(table(bench.results, bench.truth.transforms))
    print("RSS MB: largest single process; tree MB: peak summed PSS of the process tree (sampled).")
    print()
    for check in checks:
        met = {True: "met", False: "NOT met", None: "n/a"}[check["met"]]
        value = "-" if check["value"] is None else f"{check['value']:.3g}"
        print(f"  [{met:>7}] {check['target']}: {value}" + (f"  ({check['note']})" if check["note"] else ""))

    if args.json:
        out = {"data": str(data), "n_images": bench.n_images, "n_train": bench.truth.n_train,
               "n_val": bench.truth.n_val, "planted_pairs": len(bench.truth.pairs),
               "planted_by_transform": {t: bench.truth.planted_count(t) for t in bench.truth.transforms},
               "distractors": len(bench.truth.distractors), "generator": generator, "jobs": args.jobs,
               "machine": machine, "page_cache_warm_s": warm_s, "mean_decoded_pixels_floor": mean_pixels,
               "tools": bench.results, "targets": checks, "floor_note": floor.get("note")}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
