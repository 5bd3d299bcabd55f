#!/usr/bin/env python3
"""Compile time of #[monitor] and #[business_metric] against their peers (issue 8).

    python3 benches/compile/run.py [REPO_ROOT] [--rounds 7] [--out DIR] [--fresh]

Generates one crate per variant (gen.py) under DIR (default REPO_ROOT/target/compile-bench),
depending on REPO_ROOT/runtime by absolute path, builds every dependency once, then for
each round and each variant, in an order rotated every round:

  clean build   `cargo clean -p <crate>` then `cargo build -p <crate>`: the crate alone,
                its dependencies already built;
  incremental   one constant in the first function's body changed, `cargo build -p <crate>`.

Prints a Markdown table (median wall time, min-max, median CPU time of cargo and rustc)
and writes every sample to DIR/results-<date>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402  (the generator sits next to this script)

# Proc-macro crates whose own build time is reported from the warm-up's --timings page.
MACRO_CRATES = [
    "flext-observability-macros",
    "flext-observability-naming",
    "autometrics-macros",
    "tracing-attributes",
    "prometheus-client-derive-encode",
    "syn",
]


def cargo(root: Path, *args: str) -> tuple[float, float]:
    """Runs cargo in `root`; returns (wall seconds, CPU seconds of cargo and its rustcs).

    `os.wait4` gives the rusage of the child including every descendant it waited for,
    so the CPU time counts rustc too and is less sensitive than wall time to other jobs
    sharing the cores.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["cargo", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "CARGO_TERM_COLOR": "never"},
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
        raise SystemExit(f"cargo {' '.join(args)} failed in {root}")
    return wall, usage.ru_utime + usage.ru_stime


def unit_times(root: Path) -> dict[str, float]:
    """Seconds per compiled unit from the last `cargo build --timings` page
    (the page embeds its data as `const UNIT_DATA = [...]`)."""
    page = root / "target" / "cargo-timings" / "cargo-timing.html"
    if not page.exists():
        return {}
    match = re.search(r"const UNIT_DATA = (\[.*?\]);\n", page.read_text(), re.S)
    if not match:
        return {}
    times: dict[str, float] = {}
    for unit in json.loads(match.group(1)):
        # Units that were already fresh are listed too, with no duration.
        if float(unit.get("duration", 0.0)) > 0.0:
            key = f"{unit['name']} {unit['version']}"
            times[key] = times.get(key, 0.0) + float(unit["duration"])
    return times


def warm_up(root: Path, variants: list[str]) -> dict[str, dict[str, float]]:
    """Builds each variant alone (the same command as measured, so the same feature set
    of every dependency), then once more from a clean crate so caches are warm."""
    macro_times: dict[str, dict[str, float]] = {}
    for v in variants:
        print(f"warm-up: building {gen.crate_name(v)} and its dependencies", flush=True)
        cargo(root, "build", "-p", gen.crate_name(v), "--timings")
        times = unit_times(root)
        macro_times[v] = {
            k: t for k, t in times.items() if k.split(" ")[0] in MACRO_CRATES
        }
    for v in variants:
        cargo(root, "clean", "-p", gen.crate_name(v))
        cargo(root, "build", "-p", gen.crate_name(v))
    return macro_times


def measure(root: Path, repo: Path, variants: list[str], rounds: int) -> dict:
    runtime = (repo / "runtime").resolve()
    samples: dict[str, dict[str, list[float]]] = {
        v: {"clean": [], "clean_cpu": [], "incr": [], "incr_cpu": []} for v in variants
    }
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for v in order:
            name = gen.crate_name(v)
            cargo(root, "clean", "-p", name)
            wall, cpu = cargo(root, "build", "-p", name)
            samples[v]["clean"].append(wall)
            samples[v]["clean_cpu"].append(cpu)
            # A new value each round: every incremental build sees a real edit.
            gen.write_crate(root, v, runtime, touch=r + 1)
            wall, cpu = cargo(root, "build", "-p", name)
            samples[v]["incr"].append(wall)
            samples[v]["incr_cpu"].append(cpu)
        line = "  ".join(
            f"{v} {samples[v]['clean'][-1]:.2f}/{samples[v]['incr'][-1]:.2f}s" for v in variants
        )
        print(f"round {r + 1}/{rounds} (clean/incr): {line}", flush=True)
    return samples


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "rustc": rustc,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def describe(xs: list[float]) -> tuple[float, float, float]:
    return statistics.median(xs), min(xs), max(xs)


def report(samples: dict, variants: list[str], info: dict, macro_times: dict) -> str:
    out = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['os']}, {info['rustc']}; "
        f"load average at start {info['load_start']}, at end {info['load_end']}.",
        "",
        "| variant | clean build, median (min–max) | CPU | incremental, median (min–max) | CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in variants:
        s = samples[v]
        c, cmin, cmax = describe(s["clean"])
        i, imin, imax = describe(s["incr"])
        out.append(
            f"| {v} | {c:.2f} s ({cmin:.2f}–{cmax:.2f}) | {statistics.median(s['clean_cpu']):.2f} s "
            f"| {i:.2f} s ({imin:.2f}–{imax:.2f}) | {statistics.median(s['incr_cpu']):.2f} s |"
        )

    def med(v: str, key: str) -> float:
        return statistics.median(samples[v][key])

    keys = ["clean", "clean_cpu", "incr", "incr_cpu"]
    rows: list[str] = []
    for a, b in [("monitor", "autometrics"), ("monitor", "instrument"),
                 ("monitor_nospan", "autometrics"), ("monitor_nospan", "instrument"),
                 ("business", "business_pc")]:
        if a in samples and b in samples:
            cells = " | ".join(f"{med(a, k) / med(b, k):.2f}×" for k in keys)
            rows.append(f"| {a} / {b} | {cells} |")
    # What the attribute itself adds: the time above the same crate without it.
    if "bare" in samples:
        for a, b in [("monitor", "autometrics"), ("monitor", "instrument")]:
            if a in samples and b in samples:
                cells = " | ".join(
                    f"{(med(a, k) - med('bare', k)) / (med(b, k) - med('bare', k)):.2f}×" for k in keys
                )
                rows.append(f"| ({a} − bare) / ({b} − bare) | {cells} |")
    if rows:
        out += ["", "| ratio of medians | clean | clean CPU | incremental | incremental CPU |",
                "|---|---:|---:|---:|---:|", *rows]
    if any(macro_times.values()):
        out += ["", "Macro crates built during the warm-up (`--timings`, seconds, 2 jobs in parallel):", ""]
        seen: dict[str, float] = {}
        for times in macro_times.values():
            seen.update(times)
        for k in sorted(seen):
            out.append(f"- {k}: {seen[k]:.2f} s")
    return "\n".join(out)


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", nargs="?", type=Path, default=here.parent.parent,
                        help="repository root whose runtime/ is measured (default: this script's)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, help="generated workspace (default REPO/target/compile-bench)")
    parser.add_argument("--variants", default=",".join(gen.VARIANTS),
                        help=f"comma-separated subset of {','.join(gen.VARIANTS)}")
    parser.add_argument("--fresh", action="store_true",
                        help="delete the generated workspace's target first (times the macro crates' own build)")
    args = parser.parse_args()

    repo = args.repo.resolve()
    root = (args.out or repo / "target" / "compile-bench").resolve()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in gen.VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}: choose from {gen.VARIANTS}")
    if args.fresh and (root / "target").exists():
        shutil.rmtree(root / "target")
    gen.write_workspace(root, repo, variants)

    info = machine()
    info["load_start"] = info.pop("load")
    macro_times = warm_up(root, variants)
    samples = measure(root, repo, variants, args.rounds)
    info["load_end"] = machine()["load"]
    # Leave the sources as generated (touch 0), so a re-run starts from the same text.
    for v in variants:
        gen.write_crate(root, v, (repo / "runtime").resolve())

    text = report(samples, variants, info, macro_times)
    # One file per run: a later run (or a subset) never overwrites the samples of another.
    results = root / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    results.write_text(
        json.dumps({"machine": info, "rounds": args.rounds, "samples": samples,
                    "macro_crates": macro_times}, indent=2)
    )
    print()
    print(text)
    print(f"\nraw samples: {results}")


if __name__ == "__main__":
    main()
