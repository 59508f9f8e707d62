#!/usr/bin/env python3
"""Summarise runs' metrics for RESULTS.md: final and best-valid errors, mean ± std over seeds.

    python3 results/summarise.py GROUP=RUN_OR_JSONL[,RUN_OR_JSONL...] [GROUP=...]

Each argument names a group (e.g. one preset and algorithm) and its seeds, each a run
directory (holding metrics.jsonl) or a metrics.jsonl file. Prints one Markdown row per group:
epochs reached, test error after the last epoch (mean ± sample std over seeds, and each seed),
the test error at the epoch of best validation error, the final evaluation of the finished
runs (their summary.json: for stochastic nets the mean of eval_passes sampled passes), for
runs with multi-pass evaluations during training (--eval-every) the multi-pass test error at
the epoch of best multi-pass validation error, and the median training seconds per epoch and
training samples per second. Standard library only.
"""
import json
import os
import statistics as st
import sys


def records(path):
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(path):
    """The run's summary.json (beside metrics.jsonl, or NAME.summary.json beside
    NAME.metrics.jsonl), or None while the run is unfinished."""
    if os.path.isdir(path):
        path = os.path.join(path, "summary.json")
    else:
        path = path.replace("metrics.jsonl", "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def pm(values):
    if len(values) == 1:
        return f"{values[0]:.2f} %"
    return f"{st.mean(values):.2f} ± {st.stdev(values):.2f} %"


def main(argv):
    if not argv or any("=" not in a for a in argv):
        sys.exit(__doc__)
    print("| group | seeds | epochs | test error, last epoch | each seed | test at best valid "
          "| final test (passes) | multi-pass test at best multi-pass valid (epoch) "
          "| s/epoch (median) | samples/s (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for arg in argv:
        name, paths = arg.split("=", 1)
        runs = [records(p) for p in paths.split(",")]
        sums = [summary(p) for p in paths.split(",")]
        done = [x for x in sums if x is not None]
        final = "—"
        if done:
            passes = sorted({x["hyper"]["eval_passes"] for x in done})
            final = (f"{pm([100 * x['test_error'] for x in done])} "
                     f"({'/'.join(map(str, passes))}; {len(done)} run{'s' * (len(done) > 1)})")
        last = [100 * r[-1]["test_error"] for r in runs]
        best = [100 * min(r, key=lambda e: (e["valid_error"], e["epoch"]))["test_error"]
                for r in runs]
        multi = []
        for r in runs:
            evals = [e for e in r if e.get("test_error_passes") is not None]
            if evals:
                b = min(evals, key=lambda e: (e["valid_error_passes"], e["epoch"]))
                multi.append((100 * b["test_error_passes"], b["epoch"], evals[0]["epoch"]))
        at_best = "—"
        if multi:
            at_best = (f"{pm([m[0] for m in multi])} "
                       f"({', '.join(f'{m[1]} of {m[2]}..' for m in multi)})")
        epochs = sorted({r[-1]["epoch"] for r in runs})
        secs = st.median(e["train_seconds"] for r in runs for e in r)
        rate = st.median(e["samples_per_sec"] for r in runs for e in r)
        print(f"| {name} | {len(runs)} | {'/'.join(map(str, epochs))} | {pm(last)} | "
              f"{', '.join(f'{v:.2f}' for v in last)} | {pm(best)} | {final} | {at_best} | {secs:.1f} | {rate:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
