#!/usr/bin/env python3
"""Thread scaling of kernelbench result files, one table row per threaded case.

Usage: python3 scripts/scaling-summary.py RESULT.json [RESULT.json ...]

For every threaded case: its median, its speedup over the 1-thread case of the
same format, matrix and N (medians of the same run, timed in the same rounds),
its partition (which names the runtime), and the FMA probe's 2-thread scaling
measured in the case's own profile rounds (how much of the cores the machine
gave while it ran), beside the run's start-up probe.
"""
import json
import re
import sys


def main(paths):
    print("| file | case | median | speedup vs 1 thread | FMA probe in its rounds | run probe | partition |")
    print("|---|---|---:|---:|---:|---:|---|")
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        peak = report["context"].get("peak") or {}
        run_probe = peak["gflopsAllCores"] / peak["gflopsOneCore"] if peak.get("gflopsOneCore") else None
        medians = {e["run_name"]: e for e in report["benchmarks"]
                   if e.get("aggregate_name") == "median" and not e.get("error_occurred")}
        for name, e in medians.items():
            if e["threads"] == 1 or e["format"] == "dense":
                continue
            one = medians.get(re.sub(r"/threads:\d+.*$", "/threads:1", name))
            speedup = one["real_time"] / e["real_time"] if one else None
            probe = (e.get("partition_profile") or {}).get("probe_scaling")
            print("| {} | {} | {:.1f} us | {} | {} | {} | {} |".format(
                path.split("/")[-1], name, e["real_time"] / 1e3,
                f"{speedup:.2f}x" if speedup else "-", f"{probe:.2f}x" if probe else "-",
                f"{run_probe:.2f}x" if run_probe else "-", e["partition"]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip())
    main(sys.argv[1:])
