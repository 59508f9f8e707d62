#!/usr/bin/env bash
# Runs a queue of `dtp train` runs one at a time (one thread, one chunk each, under nice), so a
# settings search can run in the background on a shared machine.
#
#   nohup bash results/queue.sh QUEUE_FILE [RUNS_DIR] > queue.log 2>&1 &
#
# QUEUE_FILE holds lines "NAME ARGS...": NAME is the run directory under RUNS_DIR (default runs/),
# ARGS are `dtp train` flags (--preset, --algo, --seed, --epochs, settings). The file is read again
# after every run, so lines may be appended while the queue runs; a run whose directory already
# holds summary.json is skipped, one that failed is not retried. A line with --resume continues
# the run in NAME (e.g. a copy of a short search run, its summary.json removed) to --epochs;
# other lines start over (--force). Needs $DTP, else
# target/release/dtp, and the data ($DTP_DATA_DIR).
set -uo pipefail
cd "$(dirname "$0")/.."
queue=$1
runs=${2:-runs}
dtp=${DTP:-target/release/dtp}
failed=" "
while :; do
    next=""
    while read -r name args; do
        case "$name" in ''|'#'*) continue ;; esac
        [ -f "$runs/$name/summary.json" ] && continue
        case "$failed" in *" $name "*) continue ;; esac
        next="$name"; nextargs="$args"; break
    done < "$queue"
    [ -n "$next" ] || { echo "$(date -u +%T) queue empty"; exit 0; }
    echo "$(date -u +%T) start $next: $nextargs"
    fresh=--force
    case " $nextargs " in *" --resume "*) fresh= ;; esac
    # shellcheck disable=SC2086
    if nice -n 10 "$dtp" train $nextargs --threads 1 --chunks 1 --checkpoint-every 1 -q --no-plot \
        $fresh --out "$runs/$next"; then
        echo "$(date -u +%T) done $next"
    else
        echo "$(date -u +%T) FAILED $next"; failed="$failed$next "
    fi
done
