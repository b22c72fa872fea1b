"""The whole scan at 10k, 100k and 1M images: wall, CPU, peak memory and cost per image, phase by phase.

Runs ``splitcheck scan TRAIN VAL --format json`` (every default scanner, a fresh signature cache) and then the
same command again (the cached rescan) on tiny-image sets made by ``tiny_images.py`` (32 x 32 PNGs, 10
classes, 1% of validation planted copies), with ``--jobs`` processes. Per run: wall and CPU seconds (the scan
and its workers), peak RSS of the largest process and the peak summed PSS of the process tree, microseconds
of wall and of CPU per image, the report's own phase timings, and whether exactly the planted copies were
found. Results are appended to ``results/end_to_end.jsonl``::

    python benchmarks/scaling/tiny_images.py --train 9000 --val 1000 --out benchmarks/_work/tiny10k
    python benchmarks/scaling/end_to_end.py benchmarks/_work/tiny10k benchmarks/_work/tiny100k ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "image_leakage"))

from common import RESULTS, append, machine, markdown  # noqa: E402
from measure import run_measured  # noqa: E402
from score import Truth, score, splitcheck_pairs  # noqa: E402


def scan_once(command: list[str], folder: Path, cache: Path, jobs: int, report: Path) -> dict:
    argv = [*command, "scan", str(folder / "train"), str(folder / "val"), "--format", "json", "--exit-zero",
            "--no-progress", "--cache-dir", str(cache), "--jobs", str(jobs), "--output", str(report)]
    m = run_measured(argv)
    if m.returncode != 0 or not report.exists():
        return {"error": (m.stderr.strip().splitlines() or ["?"])[-1]}
    data = json.loads(report.read_text(encoding="utf-8"))
    truth = Truth.load(folder / "truth.json")
    n = truth.n_train + truth.n_val
    result = score(splitcheck_pairs(data), truth)
    cpu = m.user_s + m.sys_s
    return {"images": n, "wall_s": round(m.wall_s, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(m.peak_rss_mb),
            "peak_tree_mb": round(m.peak_tree_mb), "us_wall_per_image": round(m.wall_s / n * 1e6, 1),
            "us_cpu_per_image": round(cpu / n * 1e6, 1), "tp": result.tp, "fp": result.fp,
            "planted": len(truth.pairs), "timings": data.get("timings", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "end_to_end.jsonl")
    args = parser.parse_args()
    script = Path(sys.executable).parent / "splitcheck"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "splitcheck"]
    rows = []
    for folder in args.sets:
        work = Path(tempfile.mkdtemp(prefix="splitcheck-e2e-"))
        try:
            for name in ("first scan", "cached rescan"):
                row = {"set": folder.name, "run": name, **scan_once(command, folder, work / "cache", args.jobs,
                                                                      work / "report.json"),
                       "machine": machine()}
                append(args.out, row)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k not in ("timings", "machine")}), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(markdown(rows, [("set", "set"), ("run", "run"), ("images", "images"), ("wall_s", "wall s"),
                          ("cpu_s", "CPU s"), ("us_wall_per_image", "µs wall / image"),
                          ("us_cpu_per_image", "µs CPU / image"), ("peak_rss_mb", "peak RSS MB"),
                          ("peak_tree_mb", "tree MB"), ("tp", "copies found"), ("fp", "false pairs")]))


if __name__ == "__main__":
    main()
