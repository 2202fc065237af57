#!/usr/bin/env python3
"""Thread scaling of kernelbench result files: one table per threaded case.

Usage: python3 scripts/scaling-summary.py RESULT.json [RESULT.json ...]

A threaded bsr or csr case (and its /dispatch twin, from `--runtime
team,dispatch`) gets one row per file: the 1-thread median of the same run,
each runtime's speedup over it and the team's over dispatch (medians timed
in the same rounds), the FMA probe's scaling measured in the case's own
profile rounds (how much of the cores the machine gave while it ran), and
the run's start-up probe. Below each table: the median and range of the
team speedups, and the runs that had a probe of at least 1.9x (and their median).
"""
import json
import re
import statistics
import sys


def medians(path):
    with open(path) as f:
        report = json.load(f)
    peak = report["context"].get("peak") or {}
    run_probe = peak["gflopsAllCores"] / peak["gflopsOneCore"] if peak.get("gflopsOneCore") else None
    cases = {e["run_name"]: e for e in report["benchmarks"]
             if e.get("aggregate_name") == "median" and not e.get("error_occurred")}
    return cases, run_probe


def fmt(x, unit="x"):
    return "-" if x is None else f"{x:.2f}{unit}"


def main(paths):
    tables = {}  # case name (distribution) -> rows
    for path in paths:
        cases, run_probe = medians(path)
        for name, e in cases.items():
            m = re.match(r"(.*)/threads:(\d+)$", name)  # the default variant: balanced, team
            if not m or e["format"] == "dense" or m.group(2) == "1":
                continue
            one = cases.get(m.group(1) + "/threads:1")
            if not one:
                continue
            dispatch = cases.get(name + "/dispatch")
            probe = (e.get("partition_profile") or {}).get("probe_scaling")
            tables.setdefault(f"{name} ({e['distribution']})", []).append((
                "/".join(path.split("/")[-2:]), one["real_time"] / 1e3, one["real_time"] / e["real_time"],
                one["real_time"] / dispatch["real_time"] if dispatch else None,
                dispatch["real_time"] / e["real_time"] if dispatch else None,
                probe, run_probe, e["partition"], dispatch["partition"] if dispatch else "-"))
    for name, rows in tables.items():
        print(f"\n#### {name}\n")
        print("| file | 1 thread | team vs 1 thread | dispatch vs 1 thread | team vs dispatch "
              "| FMA probe in the team case's rounds | run probe | partition (team; dispatch) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]:.1f} us | {fmt(r[2])} | {fmt(r[3])} | {fmt(r[4])} | {fmt(r[5])} "
                  f"| {fmt(r[6])} | {r[7]}; {r[8]} |")
        team = [r[2] for r in rows]
        quiet = [r for r in rows if r[5] is not None and r[5] >= 1.9]
        print(f"\nTeam vs 1 thread: median {statistics.median(team):.2f}x, range {min(team):.2f}-{max(team):.2f}x "
              f"over {len(rows)} run(s); {len(quiet)} run(s) with the probe >= 1.9x in the case's rounds"
              + (": " + ", ".join(f"{r[2]:.2f}x" for r in quiet) if quiet else "")
              + (f" (median {statistics.median(r[2] for r in quiet):.2f}x)" if len(quiet) > 1 else "") + ".")
        paired = [r[4] for r in rows if r[4] is not None]
        if paired:
            print(f"Team vs dispatch: median {statistics.median(paired):.2f}x, "
                  f"range {min(paired):.2f}-{max(paired):.2f}x.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip())
    main(sys.argv[1:])
