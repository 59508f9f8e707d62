#!/usr/bin/env python3
"""Table of a settings search: one row per short run, ranked by validation error.

    python3 results/search.py RUN_OR_JSONL [RUN_OR_JSONL ...]

Each argument is a run directory (metrics.jsonl, summary.json, config.toml) or a
NAME.metrics.jsonl file beside its NAME.summary.json. Prints a Markdown row per run: the settings
searched (η̂, forward and feedback learning rates, DRL's σ, from summary.json's "hyper"), the
epochs run, the validation error after the last epoch (the choice's criterion), the lowest
validation error and its epoch, and the test error after the last epoch (shown, never used to
choose). Rows are sorted by the last epoch's validation error. Standard library only.
"""
import json
import os
import sys


def paths(arg):
    if os.path.isdir(arg):
        return os.path.join(arg, "metrics.jsonl"), os.path.join(arg, "summary.json")
    return arg, arg.replace("metrics.jsonl", "summary.json")


def main(argv):
    if not argv:
        sys.exit(__doc__)
    rows = []
    for arg in argv:
        m, s = paths(arg)
        if not os.path.exists(m):
            continue
        with open(m) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        if not recs:
            continue
        hyper = json.load(open(s))["hyper"] if os.path.exists(s) else None
        name = os.path.basename(arg.rstrip("/")).replace(".metrics.jsonl", "")
        last = recs[-1]
        best = min(recs, key=lambda e: (e["valid_error"], e["epoch"]))
        if hyper:
            fb = "—" if hyper["algo"] == "fw-dtp" else f"{hyper['inverse']['lr']:.3g}"
            sigma = f"{hyper['drl_sigma']:.3g}" if hyper["algo"] == "drl" else "—"
            settings = (hyper["algo"], f"{hyper['eta_hat']:.3g}", f"{hyper['forward']['lr']:.3g}",
                        fb, sigma)
        else:
            settings = ("?", "?", "?", "?", "?")
        rows.append((last["valid_error"], name, settings, last["epoch"], best, last,
                     hyper is not None))
    print("| run | algo | η̂ | forward lr | feedback lr | DRL σ | epochs | valid, last epoch "
          "| best valid (epoch) | test, last epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for valid, name, st, ep, best, last, done in sorted(rows, key=lambda r: (r[0], r[1])):
        print(f"| {name}{'' if done else ' (unfinished)'} | {' | '.join(st)} | {ep} | "
              f"{100 * valid:.2f} % | {100 * best['valid_error']:.2f} % ({best['epoch']}) | "
              f"{100 * last['test_error']:.2f} % |")


if __name__ == "__main__":
    main(sys.argv[1:])
