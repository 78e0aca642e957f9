"""Benchmark of the analysis pipeline on one CPU core: per-stage latency, throughput, cold start.

    uv run python bench/analysis.py                 # Markdown tables
    uv run python bench/analysis.py --json          # the same numbers as one JSON object
    uv run python bench/analysis.py -n 200 --cold-runs 5
    uv run python bench/analysis.py --cold-python /tmp/analyze-venv/bin/python   # image-like venv

Warm numbers: the bundled astronaut photo upscaled to 1 MP and 2 MP JPEGs, analysed ``-n`` times
after ``--warmup`` runs; per-stage medians and p95 come from the result's ``timings_ms``, images/s
from wall-clock time around ``analyze``; the ratio of the whole analysis to decode + landmarks
alone (what finding the face costs, before anything is measured), and what three photos of one
person cost through ``analyze_person`` against one. Cold start: a fresh Python process
(interpreter start, imports, ``warm_up()``, first result), timed from spawn to answer; its own
peak RSS (VmHWM).
``--cold-python`` runs that process with another interpreter, e.g. a virtual environment
installed the way the analyze image is (docs/benchmarks.md says how), so the cold start measured
is the image's, without the development tools.
Everything is pinned to one core with single-threaded BLAS/OpenMP, as a Knative pod with
``cpu: 1`` would run. The numbers depend on the machine: they are printed with it, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

# The child process of the cold-start measurement: reads the JPEG from stdin, reports on stdout.
_COLD_START = r"""
import json, resource, sys, time
started = time.perf_counter()

def peak_rss_mb():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's
    # (larger) footprint at the fork instead of this process's own peak.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

from colorseason.analysis import analyze, warm_up
imported = time.perf_counter()
warm_up()
warmed = time.perf_counter()
result = analyze(sys.stdin.buffer.read())
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - started,
    "warm_up_s": warmed - imported,
    "first_result_s": done - warmed,
    "max_rss_mb": peak_rss_mb(),
    "season": result["season"]["id"],
}))
"""


def pin_to_one_core() -> None:
    """One core, one thread per library; call before numpy, OpenCV or onnxruntime load.

    Child processes inherit both the environment and the CPU affinity.
    """
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p95": statistics.quantiles(values, n=100, method="inclusive")[94],
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:  # noqa: PTH123 - Linux only
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "onnxruntime": version("onnxruntime"),
        "mediapipe": version("mediapipe"),
        "opencv": version("opencv-python-headless"),
        "numpy": version("numpy"),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def warm(data: bytes, iterations: int, warmup: int) -> dict[str, Any]:
    """Per-stage and end-to-end latency of ``analyze(data)`` in this (warm) process."""
    from colorseason.analysis import analyze

    for _ in range(warmup):
        analyze(data)
    stages: dict[str, list[float]] = {}
    wall: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        result = analyze(data)
        wall.append((time.perf_counter() - start) * 1000)
        for stage, ms in result["timings_ms"].items():
            stages.setdefault(stage, []).append(ms)
    return {
        "stages_ms": {stage: _stats(values) for stage, values in stages.items()},
        "wall_ms": _stats(wall),
        "images_per_s": 1000 * len(wall) / sum(wall),
    }


def person_cost(data: bytes, iterations: int) -> dict[str, float]:
    """``analyze_person`` with three copies of the photo against ``analyze`` with one."""
    from colorseason.analysis import analyze, analyze_person

    one, three = [], []
    for _ in range(iterations):
        start = time.perf_counter()
        analyze(data)
        one.append(time.perf_counter() - start)
        start = time.perf_counter()
        analyze_person([data, data, data])
        three.append(time.perf_counter() - start)
    return {
        "one_ms": statistics.median(one) * 1000,
        "three_ms": statistics.median(three) * 1000,
        "ratio": statistics.median(three) / statistics.median(one),
    }


def cold(data: bytes, runs: int, python: str = sys.executable) -> dict[str, Any]:
    """Process cold start: spawn → imports → warm_up → first result, ``runs`` times."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.run(
            [python, "-c", _COLD_START],
            input=data,
            capture_output=True,
            check=True,
        )
        total = time.perf_counter() - start
        samples.append({"total_s": total, **json.loads(child.stdout.decode().splitlines()[-1])})
    keys = ("total_s", "import_s", "warm_up_s", "first_result_s", "max_rss_mb")
    return {
        "runs": runs,
        "python": python,
        **{key: statistics.median(sample[key] for sample in samples) for key in keys},
        "max_rss_mb_max": max(sample["max_rss_mb"] for sample in samples),
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables (for the README or docs/benchmarks.md)."""
    sizes = list(report["warm"])
    info = report["machine"]
    lines = [
        f"Machine: {info['cpu']} ({info['cores']} cores, pinned to 1), Python {info['python']}, "
        f"onnxruntime {info['onnxruntime']}, mediapipe {info['mediapipe']}, "
        f"OpenCV {info['opencv']}, numpy {info['numpy']}; {info['date']}.",
        f"Photo: {report['sample']}; {report['iterations']} runs after {report['warmup']} "
        "warm-up runs.",
        "",
        "| stage | " + " | ".join(f"{size} median ms | {size} p95 ms" for size in sizes) + " |",
        "|---|" + "---:|---:|" * len(sizes),
    ]
    stages = list(next(iter(report["warm"].values()))["stages_ms"])
    for stage in stages:
        cells = []
        for size in sizes:
            stats = report["warm"][size]["stages_ms"].get(stage)
            cells += [f"{stats['median']:.2f}", f"{stats['p95']:.2f}"] if stats else ["–", "–"]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    walls = [report["warm"][size]["wall_ms"] for size in sizes]
    lines.append(
        "| **wall (analyze call)** | "
        + " | ".join(f"**{wall['median']:.2f}** | {wall['p95']:.2f}" for wall in walls)
        + " |"
    )
    lines.append(
        "| **images/s (1 core)** | "
        + " | ".join(f"**{report['warm'][size]['images_per_s']:.1f}** | " for size in sizes)
        + " |"
    )
    largest = sizes[-1]
    stages_ms = report["warm"][largest]["stages_ms"]
    finding = stages_ms["decode"]["median"] + stages_ms["landmarks"]["median"]
    total = report["warm"][largest]["wall_ms"]["median"]
    lines += [
        "",
        f"{largest}: the whole analysis costs **{total / finding:.2f}×** decode + landmarks "
        f"alone ({total:.1f} ms against {finding:.1f} ms).",
    ]
    if "person" in report:
        person = report["person"]
        lines.append(
            f"Three photos of one person (`analyze_person`, {largest}): "
            f"**{person['three_ms']:.1f} ms**, {person['ratio']:.2f}× one photo "
            f"({person['one_ms']:.1f} ms)."
        )
    if "cold" in report:
        cold_start = report["cold"]
        lines += [
            "",
            f"Cold start ({cold_start['runs']} runs, median, {cold_start['python']}): "
            f"**{cold_start['total_s']:.2f} s** from process spawn to first result "
            f"(imports {cold_start['import_s']:.2f} s, warm_up {cold_start['warm_up_s']:.2f} s, "
            f"first analysis {cold_start['first_result_s'] * 1000:.0f} ms); "
            f"peak RSS **{cold_start['max_rss_mb']:.0f} MB** "
            f"(max {cold_start['max_rss_mb_max']:.0f} MB).",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--iterations", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=3, help="0 skips the cold start")
    parser.add_argument(
        "--cold-python",
        default=sys.executable,
        help="interpreter of the cold-start process (default: this one)",
    )
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--sample", default="astronaut", help="astronaut or grace_hopper")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()

    info = machine()
    pin_to_one_core()
    from colorseason.analysis import warm_up
    from colorseason.testing import sample_jpeg

    warm_up()
    report: dict[str, Any] = {
        "machine": info,
        "sample": args.sample,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "warm": {},
    }
    for megapixels in args.megapixels:
        data = sample_jpeg(args.sample, megapixels=megapixels)
        report["warm"][f"{megapixels:g} MP"] = warm(data, args.iterations, args.warmup)
    largest = sample_jpeg(args.sample, megapixels=max(args.megapixels))
    report["person"] = person_cost(largest, max(5, args.iterations // 5))
    if args.cold_runs:
        report["cold"] = cold(largest, args.cold_runs, args.cold_python)
    print(json.dumps(report, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
