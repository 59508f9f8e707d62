#!/usr/bin/env bash
# Speed benchmark: our `dtp` CLI (Rust) against bench/dtp_torch.py (PyTorch), same algorithm,
# same MNIST data, same number of threads; 1 epoch each, alternating, several repetitions.
#
#   bench/compare.sh [--preset P] [--reps N] [--threads N] [--epochs N] [--data DIR] [--out DIR]
#
#   --preset P    mnist-7x240 (default: 784-240x7-10) or mnist-conv (Bartunov et al.'s
#                 1x28x28-c32k3s2p1-c64k3s2p1-1024-10 with learned transposed-convolution
#                 inverses; bench/dtp_torch.py --net conv)
#   --reps N      repetitions (default 3); repetition r uses seed r on both sides, and the
#                 order alternates (odd r: ours first, even r: PyTorch first)
#   --threads N   threads on both sides (default 2): `dtp train --threads N` (minibatch chunks)
#                 and torch.set_num_threads(N)
#   --epochs N    epochs per run (default 1)
#   --data DIR    MNIST IDX files (default datasets/mnist; scripts/fetch-data.sh fetches them)
#   --out DIR     keep every run's output here (default: a temporary directory)
#   --native      build ours with RUSTFLAGS="-C target-cpu=native" (into target/native):
#                 the element-wise loops (tanh, noise, RMSprop) then use AVX-512/AVX2 too;
#                 the GEMM picks its SIMD kernel at run time either way
#   PYTHON=/path/to/python  use this interpreter (must have torch and numpy) instead of
#                 bench/.venv, which is otherwise created with `pip install torch numpy`
#                 (~2-3 GB with the CUDA wheels; PIP_ARGS="--index-url
#                 https://download.pytorch.org/whl/cpu" gets the small CPU-only wheel).
#
# Throughput convention (both sides): samples/s = 2 x 50,000 x epochs / training seconds.
# Each epoch is a full pass updating the inverses plus a full pass updating the forward
# layers, and both see all 500 minibatches of 100, so one epoch processes 100,000 samples.
# Training seconds: the per-epoch shuffle plus both passes; not data loading, evaluation or
# (for ours) compilation. Ours is computed from train_seconds in RUN/metrics.jsonl, so it
# does not depend on how the CLI counts; the CLI's own samples_per_sec is shown next to it.
set -euo pipefail

die() { echo "compare: error: $*" >&2; exit 1; }
note() { echo "compare: $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reps=3 threads=2 epochs=1 data="$root/datasets/mnist" out="" native=0 preset=mnist-7x240
while [ $# -gt 0 ]; do
    case "$1" in
        --preset) preset="$2"; shift 2 ;;
        --reps) reps="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --epochs) epochs="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --native) native=1; shift ;;
        -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ "$reps" -ge 1 ] 2>/dev/null || die "--reps must be a positive integer"
case "$preset" in
    mnist-7x240) net=7x240 ;;
    mnist-conv) net=conv ;;
    *) die "--preset must be mnist-7x240 or mnist-conv, not '$preset'" ;;
esac
[ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] \
    || die "no MNIST in $data: run scripts/fetch-data.sh"
data="$(cd "$data" && pwd)"
if [ -z "$out" ]; then out="$(mktemp -d -t dtp-compare.XXXXXX)"; fi
mkdir -p "$out" && out="$(cd "$out" && pwd)"

# ---- PyTorch interpreter -------------------------------------------------------------
has_torch() { "$1" -c 'import torch, numpy' >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then
    has_torch "$PYTHON" || die "PYTHON=$PYTHON cannot import torch and numpy"
    py="$PYTHON"
else
    py="$root/bench/.venv/bin/python"
    if ! has_torch "$py"; then
        note "installing torch + numpy into bench/.venv (one-off, a few GB)"
        python3 -m venv "$root/bench/.venv" || die "python3 -m venv failed"
        # shellcheck disable=SC2086
        "$py" -m pip install --quiet ${PIP_ARGS:-} torch numpy || die "pip install torch numpy failed"
        has_torch "$py" || die "torch still not importable from bench/.venv"
    fi
fi

# ---- our CLI -------------------------------------------------------------------------
target_dir="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
if [ "$native" = 1 ]; then
    note "building the dtp CLI (release, -C target-cpu=native)"
    target_dir="$target_dir/native"
    (cd "$root" && RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=native" CARGO_TARGET_DIR="$target_dir" \
        cargo build --quiet --release -p dtp-std --bin dtp) || die "cargo build failed"
else
    note "building the dtp CLI (release)"
    (cd "$root" && cargo build --quiet --release -p dtp-std --bin dtp) || die "cargo build failed"
fi
dtp="$target_dir/release/dtp"
[ -x "$dtp" ] || die "no binary at $dtp"

run_ours() {  # rep
    local dir="$out/ours-$1"
    rm -rf "$dir"
    "$dtp" train --preset "$preset" --epochs "$epochs" --seed "$1" --threads "$threads" \
        --data "$data" --out "$dir" --quiet --no-plot > "$out/ours-$1.log" 2>&1 \
        || { cat "$out/ours-$1.log" >&2; die "dtp train failed (rep $1)"; }
    echo "  ours    rep $1: $(tail -n 1 "$out/ours-$1.log")"
}
run_torch() {  # rep
    (cd "$root" && "$py" bench/dtp_torch.py --net "$net" --data "$data" --threads "$threads" \
        --epochs "$epochs" --seed "$1" --json "$out/torch-$1.json") > "$out/torch-$1.log" 2>&1 \
        || { cat "$out/torch-$1.log" >&2; die "bench/dtp_torch.py failed (rep $1)"; }
    echo "  pytorch rep $1: $(tail -n 1 "$out/torch-$1.log")"
}

echo "dtp vs PyTorch: $preset, $reps rep(s), $epochs epoch(s), $threads thread(s), native=$native, data $data, runs in $out"
echo "load before: $(uptime)"
echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-<unset>} nice=$(nice)"
load1="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > 0.5 * n) }'; then
    echo "warning: the machine is busy (load $load1 on $(nproc) cores): figures are indicative only."
    echo "  PyTorch's OpenMP pool degrades badly when its threads are descheduled;"
    echo "  OMP_WAIT_POLICY=PASSIVE bench/compare.sh ... limits that (it is passed through)."
fi
for r in $(seq 1 "$reps"); do
    if [ $((r % 2)) -eq 1 ]; then run_ours "$r"; run_torch "$r"; else run_torch "$r"; run_ours "$r"; fi
done
echo "load after:  $(uptime)"

"$py" - "$out" "$reps" "$epochs" <<'EOF'
import json, statistics as st, sys
out, reps, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
SAMPLES = 2 * 500 * 100  # per epoch: inverse pass + forward pass over 500 batches of 100
ours, torch_, cli_sps, cli_once = [], [], [], []
for r in range(1, reps + 1):
    recs = [json.loads(l) for l in open(f"{out}/ours-{r}/metrics.jsonl") if l.strip()]
    summ = json.load(open(f"{out}/ours-{r}/summary.json"))
    secs = sum(x["train_seconds"] for x in recs)
    ours.append({"sps": SAMPLES * len(recs) / secs, "secs": secs, "err": summ["test_error"]})
    cli_sps.append(summ["samples_per_sec"])
    cli_once.append(abs(summ["samples_per_sec"] * secs / len(recs) - SAMPLES / 2) < 0.01 * SAMPLES)
    t = json.load(open(f"{out}/torch-{r}.json"))
    torch_.append({"sps": t["samples_per_sec"], "secs": t["train_seconds"], "err": t["test_error"]})

def line(name, rs):
    s = [x["sps"] for x in rs]
    e = [100 * x["err"] for x in rs]
    sd = st.stdev(e) if len(e) > 1 else 0.0
    return (f"{name:8s} samples/s median {st.median(s):8.0f}  (min {min(s):.0f}, max {max(s):.0f});"
            f"  test error after {epochs} epoch(s): mean {st.mean(e):.2f}% (sd {sd:.2f}; "
            + ", ".join(f"{v:.2f}" for v in e) + ")")

print(f"\nsamples/s = 2 x 50,000 x epochs / training seconds (inverse pass + forward pass)")
print(line("ours", ours))
print(line("pytorch", torch_))
ratio = [o["sps"] / t["sps"] for o, t in zip(ours, torch_)]
print(f"ratio ours/pytorch (per repetition): median {st.median(ratio):.2f}x  "
      f"(min {min(ratio):.2f}x, max {max(ratio):.2f}x)")
if all(cli_once):
    print("note: the dtp CLI's own samples_per_sec counts each training sample once per epoch "
          f"({', '.join(f'{v:.0f}' for v in cli_sps)}); the figures above are x2 to match PyTorch's.")
json.dump({"convention": "2 x 50,000 samples per epoch", "epochs": epochs,
           "ours": ours, "pytorch": torch_, "ratio_ours_over_pytorch": ratio,
           "ours_cli_samples_per_sec": cli_sps},
          open(f"{out}/compare.json", "w"), indent=1)
print(f"(all runs and compare.json in {out})")
EOF
