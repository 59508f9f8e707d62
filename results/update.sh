#!/usr/bin/env bash
# Refreshes results/ from finished (or running) runs: copies each run's metrics.jsonl (and
# summary.json) under its RESULTS.md name, redraws the comparison plots, prints the summary rows.
#
#   bash results/update.sh [RUNS_DIR]      # default: runs/, named as in RESULTS.md's commands
#
# Runs that are missing are skipped (a plot is drawn from the runs that exist). Needs the dtp
# binary: $DTP, else target/release/dtp (cargo build --release -p dtp-std --bin dtp).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
dtp=${DTP:-target/release/dtp}
[ -x "$dtp" ] || { echo "no dtp binary at $dtp: cargo build --release -p dtp-std --bin dtp" >&2; exit 2; }

have() { [ -f "$runs/$1/metrics.jsonl" ]; }

copy() {
    for n in "$@"; do
        have "$n" || continue
        cp "$runs/$n/metrics.jsonl" "results/$n.metrics.jsonl"
        if [ -f "$runs/$n/summary.json" ]; then cp "$runs/$n/summary.json" "results/$n.summary.json"; fi
    done
}

plot() { # OUT.png RUN...
    local out=$1; shift
    local dirs=()
    for n in "$@"; do if have "$n"; then dirs+=("$runs/$n"); fi; done
    if [ ${#dirs[@]} -gt 0 ]; then "$dtp" plot "${dirs[@]}" --out "results/$out"; fi
}

group() { # NAME RUN... -> NAME=runs/a,runs/b for summarise.py
    local name=$1; shift
    local list=()
    for n in "$@"; do if have "$n"; then list+=("$runs/$n"); fi; done
    if [ ${#list[@]} -gt 0 ]; then (IFS=,; echo "$name=${list[*]}"); fi
}

s=(s1 s2 s3)
continuous_dtp=("${s[@]/#/mnist-7x240-dtp-}")
continuous_bp=("${s[@]/#/mnist-7x240-bp-lr1e-3-}")
discrete_dtp=("${s[@]/#/mnist-discrete-dtp-}")
discrete_ste=("${s[@]/#/mnist-discrete-bp-ste-}")
discrete_exact=("${s[@]/#/mnist-discrete-bp-exact-}")
discrete_tanh=("${s[@]/#/mnist-discrete-tanh-bp-}")
discrete_bp=("${discrete_ste[@]}" "${discrete_exact[@]}" "${discrete_tanh[@]}")
stochastic_dtp=("${s[@]/#/mnist-stochastic-dtp-}")
stochastic_ste=("${s[@]/#/mnist-stochastic-bp-ste-}")
stochastic=("${stochastic_dtp[@]}" "${stochastic_ste[@]}")
# 200-epoch search on seed 3 beside seed 3's first 200 epochs (a copy of its epoch-200
# checkpoint and metrics, evaluated with 100 passes below).
stochastic_search=(mnist-stochastic-dtp-s3-at200 mnist-stochastic-search-lrf6.17e-3-s3
    mnist-stochastic-search-eta116.9-s3 mnist-stochastic-search-lrinv2.7e-5-s3)
fashion_dtp=("${s[@]/#/fashion-7x240-dtp-}")
fashion_bp=("${s[@]/#/fashion-7x240-bp-lr1e-3-}")
fashion_search=(fashion-search-lrf1.49e-2 fashion-search-lrf5e-3 fashion-search-lrf1.5e-3)
ae_dtp=("${s[@]/#/mnist-ae-dtp-}")
ae_bp=("${s[@]/#/mnist-ae-bp-}")
ae=("${ae_dtp[@]}" "${ae_bp[@]}")
# Controls and DTP's successors on the continuous net (issues 16, 17).
continuous_control=("${s[@]/#/mnist-7x240-control-}")
continuous_fwdtp=("${s[@]/#/mnist-7x240-fwdtp-}")
continuous_drl=("${s[@]/#/mnist-7x240-drl-}")
discrete_control=("${s[@]/#/mnist-discrete-control-}")
discrete_fwdtp=("${s[@]/#/mnist-discrete-fwdtp-}")
stochastic_control=("${s[@]/#/mnist-stochastic-control-}")
fashion_fwdtp=("${s[@]/#/fashion-7x240-fwdtp-}")
discrete_drl=("${s[@]/#/mnist-discrete-drl-}")
fashion_drl=("${s[@]/#/fashion-7x240-drl-}")
# Settings searches of DTP's successors (issue 16): seed 1, short runs, chosen by the last
# epoch's validation error (results/search.py ranks them). The finalists' seed-1 runs are the
# search runs continued to 100 epochs (--resume); seeds 2 and 3 are new runs.
continuous_fwdtp_search=(mnist-7x240-fwdtp-search-eta0.1-lrf5e-3 mnist-7x240-fwdtp-search-eta0.1-lrf1.49e-2
    mnist-7x240-fwdtp-search-eta0.328-lrf5e-3 mnist-7x240-fwdtp-search-eta0.328-lrf1.49e-2
    mnist-7x240-fwdtp-search-eta1-lrf5e-3 mnist-7x240-fwdtp-search-eta1-lrf1.49e-2
    mnist-7x240-fwdtp-search-eta3-lrf1.5e-3 mnist-7x240-fwdtp-search-eta3-lrf5e-3
    mnist-7x240-fwdtp-search-eta3-lrf1.49e-2 mnist-7x240-fwdtp-search-eta10-lrf1.5e-3
    mnist-7x240-fwdtp-search-eta10-lrf5e-3)
continuous_fwdtp_finalists=(mnist-7x240-fwdtp-eta3-lrf5e-3-s1 mnist-7x240-fwdtp-eta10-lrf5e-3-s1)
continuous_fwdtp_searched=("${s[@]/#/mnist-7x240-fwdtp-eta10-lrf5e-3-}")
continuous_drl_search=(mnist-7x240-drl-search-lrinv5e-3 mnist-7x240-drl-search-lrinv1.5e-3
    mnist-7x240-drl-search-lrinv5e-4 mnist-7x240-drl-search-lrinv1.5e-4 mnist-7x240-drl-search-lrinv5e-5
    mnist-7x240-drl-search-lrinv5e-4-eta1 mnist-7x240-drl-search-lrinv5e-4-eta3
    mnist-7x240-drl-search-lrinv5e-4-sigma0.36)
continuous_drl_searched=("${s[@]/#/mnist-7x240-drl-lrinv5e-4-eta1-}")
discrete_fwdtp_search=(mnist-discrete-fwdtp-search-eta28-lrf6.6e-4 mnist-discrete-fwdtp-search-eta28-lrf2e-3
    mnist-discrete-fwdtp-search-eta80-lrf2e-3 mnist-discrete-fwdtp-search-eta10-lrf6.6e-4
    mnist-discrete-fwdtp-search-eta80-lrf6.6e-4 mnist-discrete-fwdtp-search-eta28-lrf2e-4)
discrete_fwdtp_searched=("${s[@]/#/mnist-discrete-fwdtp-eta80-}")
discrete_fwdtp_searched_200=(mnist-discrete-fwdtp-eta80-s1-e200 mnist-discrete-fwdtp-eta80-s2-e200
    mnist-discrete-fwdtp-eta80-s3-e200)   # the same three runs continued to 200 epochs (copies)
# Meulemans et al. 2020's setup with their released settings (issue 30 item 3's second table).
meulemans_dtp=("${s[@]/#/mnist-5x256-dtp-}")
meulemans_bp=("${s[@]/#/mnist-5x256-bp-}")
meulemans_ddtp_linear=("${s[@]/#/mnist-5x256-ddtp-linear-}")
meulemans_ddtp_rhl=("${s[@]/#/mnist-5x256-ddtp-rhl-}")
meulemans_dtp_output=("${s[@]/#/mnist-5x256-dtp-output-}")   # their DTPNetwork (--algo dtp-output)
meulemans=("${meulemans_dtp[@]}" "${meulemans_bp[@]}" "${meulemans_ddtp_linear[@]}" "${meulemans_ddtp_rhl[@]}"
    "${meulemans_dtp_output[@]}")
# The third party's setup (Kao & Hariharan 2024's rerun; issue 30 item 3's first table):
# 784-256x6-10 tanh, MNIST and Fashion-MNIST. Settings search: seed 1, 10 epochs, two or more
# candidates per algorithm, chosen by the last epoch's validation error (results/search.py);
# then three seeds of 100 epochs with the chosen settings.
# Stage 1 names its candidates D-6x256-search-C, stage 2 the winner's D-6x256-search-C-lrf{x3,d3}:
# every such run found in RUNS_DIR or already in results/.
mapfile -t third_search < <( { (cd "$runs" 2>/dev/null && ls -d -- *-6x256-search-* 2>/dev/null) || true
    (cd results && ls -- *-6x256-search-*.metrics.jsonl 2>/dev/null | sed 's/\.metrics\.jsonl$//') || true; } | sort -u)
third=()
for d in mnist fashion; do
    for a in bp dtp drl fwdtp ddtp-linear ddtp-rhl; do
        for n in "${s[@]}"; do third+=("$d-6x256-$a-$n"); done
    done
done
# Issue 30 item 5: screening DTP's successors on the discrete net (seed 1, 20 epochs).
discrete_screen=(mnist-discrete-screen-ddtp-linear mnist-discrete-screen-dtp-fb6-1 mnist-discrete-screen-dtp-output)

copy "${continuous_dtp[@]}" "${continuous_bp[@]}" "${discrete_dtp[@]}" "${discrete_bp[@]}" \
    "${stochastic[@]}" "${stochastic_search[@]}" "${fashion_dtp[@]}" "${fashion_bp[@]}" "${fashion_search[@]}" "${ae[@]}" \
    "${continuous_control[@]}" "${continuous_fwdtp[@]}" "${continuous_drl[@]}" \
    "${discrete_control[@]}" "${discrete_fwdtp[@]}" "${stochastic_control[@]}" "${fashion_fwdtp[@]}" \
    "${discrete_drl[@]}" "${fashion_drl[@]}" \
    "${continuous_fwdtp_search[@]}" "${continuous_fwdtp_finalists[@]}" "${continuous_fwdtp_searched[@]}" \
    "${continuous_drl_search[@]}" "${continuous_drl_searched[@]}" "${discrete_fwdtp_search[@]}" \
    "${discrete_fwdtp_searched[@]}" "${discrete_fwdtp_searched_200[@]}" "${meulemans[@]}" \
    "${third_search[@]}" "${third[@]}" "${discrete_screen[@]}"
# The discrete row's continuous baseline, tested with sign units (needs the MNIST files: see
# scripts/fetch-data.sh, or DTP_DATA_DIR).
for n in "${discrete_tanh[@]}"; do
    if [ -f "$runs/$n/summary.json" ]; then
        "$dtp" eval "$runs/$n" --units discrete --json > "results/$n.eval-sign.json"
    fi
done
plot mnist-7x240.png "${continuous_dtp[@]}" "${continuous_bp[@]}"
plot mnist-7x240-variants.png mnist-7x240-dtp-s1 mnist-7x240-fwdtp-s1 mnist-7x240-drl-s1 \
    mnist-7x240-control-s1 mnist-7x240-bp-lr1e-3-s1
plot mnist-discrete.png "${discrete_dtp[@]}" mnist-discrete-bp-ste-s1 mnist-discrete-bp-exact-s1 \
    mnist-discrete-tanh-bp-s1
n=mnist-stochastic-dtp-s3-at200
if [ -f "$runs/$n/checkpoint.safetensors" ]; then
    "$dtp" eval "$runs/$n" --passes 100 --json > "results/$n.eval100.json"
fi
plot mnist-stochastic.png "${stochastic[@]}"
plot mnist-stochastic-search.png "${stochastic_search[@]}"
plot fashion-7x240.png "${fashion_dtp[@]}" "${fashion_bp[@]}"
plot fashion-search.png "${fashion_search[@]}"
plot mnist-ae.png "${ae[@]}"
plot mnist-5x256.png mnist-5x256-dtp-s1 mnist-5x256-bp-s1 mnist-5x256-ddtp-linear-s1 \
    mnist-5x256-ddtp-rhl-s1 mnist-5x256-dtp-output-s1
plot mnist-6x256.png mnist-6x256-bp-s1 mnist-6x256-dtp-s1 mnist-6x256-drl-s1 mnist-6x256-fwdtp-s1 \
    mnist-6x256-ddtp-linear-s1 mnist-6x256-ddtp-rhl-s1
plot fashion-6x256.png fashion-6x256-bp-s1 fashion-6x256-dtp-s1 fashion-6x256-drl-s1 \
    fashion-6x256-fwdtp-s1 fashion-6x256-ddtp-linear-s1 fashion-6x256-ddtp-rhl-s1
plot mnist-7x240-successors-searched.png mnist-7x240-dtp-s1 mnist-7x240-fwdtp-s1 \
    mnist-7x240-fwdtp-eta10-lrf5e-3-s1 mnist-7x240-drl-s1 mnist-7x240-drl-lrinv5e-4-eta1-s1

args=()
for g in "continuous DTP=${continuous_dtp[*]}" "continuous BP=${continuous_bp[*]}" \
    "discrete DTP=${discrete_dtp[*]}" "discrete BP straight-through=${discrete_ste[*]}" \
    "discrete BP exact=${discrete_exact[*]}" "discrete-tanh BP (tanh)=${discrete_tanh[*]}" \
    "stochastic DTP=${stochastic_dtp[*]}" "stochastic BP straight-through=${stochastic_ste[*]}" \
    "Fashion DTP=${fashion_dtp[*]}" "Fashion BP=${fashion_bp[*]}" \
    "continuous control (eta-hat 0)=${continuous_control[*]}" \
    "continuous FW-DTP=${continuous_fwdtp[*]}" "continuous DRL=${continuous_drl[*]}" \
    "discrete control (eta-hat 0)=${discrete_control[*]}" "discrete FW-DTP=${discrete_fwdtp[*]}" \
    "stochastic control (eta-hat 0)=${stochastic_control[*]}" \
    "Fashion FW-DTP=${fashion_fwdtp[*]}" "discrete DRL=${discrete_drl[*]}" \
    "Fashion DRL=${fashion_drl[*]}" \
    "continuous FW-DTP searched (eta-hat 10, lr-forward 0.005)=${continuous_fwdtp_searched[*]}" \
    "continuous DRL searched (lr-inverse 5e-4, eta-hat 1)=${continuous_drl_searched[*]}" \
    "discrete FW-DTP searched (eta-hat 80)=${discrete_fwdtp_searched[*]}" \
    "discrete FW-DTP searched (eta-hat 80), continued=${discrete_fwdtp_searched_200[*]}" \
    "5x256 DTP (Meulemans et al.'s settings)=${meulemans_dtp[*]}" \
    "5x256 BP (Meulemans et al.'s settings)=${meulemans_bp[*]}" \
    "5x256 DDTP-linear (Meulemans et al.'s settings)=${meulemans_ddtp_linear[*]}" \
    "5x256 DDTP-RHL (Meulemans et al.'s settings)=${meulemans_ddtp_rhl[*]}" \
    "5x256 DTP with the output inverse (their DTPNetwork, DTP's settings)=${meulemans_dtp_output[*]}" \
    "6x256 MNIST BP=${s[*]/#/mnist-6x256-bp-}" "6x256 MNIST DTP=${s[*]/#/mnist-6x256-dtp-}" \
    "6x256 MNIST DRL=${s[*]/#/mnist-6x256-drl-}" "6x256 MNIST FW-DTP=${s[*]/#/mnist-6x256-fwdtp-}" \
    "6x256 MNIST DDTP-linear=${s[*]/#/mnist-6x256-ddtp-linear-}" \
    "6x256 MNIST DDTP-RHL=${s[*]/#/mnist-6x256-ddtp-rhl-}" \
    "6x256 Fashion BP=${s[*]/#/fashion-6x256-bp-}" "6x256 Fashion DTP=${s[*]/#/fashion-6x256-dtp-}" \
    "6x256 Fashion DRL=${s[*]/#/fashion-6x256-drl-}" "6x256 Fashion FW-DTP=${s[*]/#/fashion-6x256-fwdtp-}" \
    "6x256 Fashion DDTP-linear=${s[*]/#/fashion-6x256-ddtp-linear-}" \
    "6x256 Fashion DDTP-RHL=${s[*]/#/fashion-6x256-ddtp-rhl-}"; do
    # shellcheck disable=SC2086
    line=$(group "${g%%=*}" ${g#*=})
    if [ -n "$line" ]; then args+=("$line"); fi
done
python3 results/summarise.py "${args[@]}"
# The settings searches (issue 16), each ranked by the last epoch's validation error.
mnist_third_search=() fashion_third_search=()
for n in "${third_search[@]}"; do
    case $n in mnist-*) mnist_third_search+=("$n") ;; fashion-*) fashion_third_search+=("$n") ;; esac
done
for search in "continuous_fwdtp_search[@]" "continuous_fwdtp_finalists[@]" "continuous_drl_search[@]" \
    "discrete_fwdtp_search[@]" "mnist_third_search[@]" "fashion_third_search[@]" "discrete_screen[@]"; do
    list=()
    for n in "${!search}"; do if [ -f "results/$n.metrics.jsonl" ]; then list+=("results/$n.metrics.jsonl"); fi; done
    if [ ${#list[@]} -gt 0 ]; then echo; echo "${search%\[@\]}:"; python3 results/search.py "${list[@]}"; fi
done
# The tanh nets tested with sign units (the last row's weights, evaluated by dtp eval --units).
python3 - "${discrete_tanh[@]}" <<'PY'
import json, os, statistics as st, sys
errs = [100 * json.load(open(f"results/{n}.eval-sign.json"))["test"]["error"]
        for n in sys.argv[1:] if os.path.exists(f"results/{n}.eval-sign.json")]
if errs:
    spread = f" ± {st.stdev(errs):.2f}" if len(errs) > 1 else ""
    print(f"discrete-tanh BP tested with sign: {st.mean(errs):.2f}{spread} % test "
          f"({', '.join(f'{e:.2f}' for e in errs)})")
PY
# The auto-encoder's figures of merit (summary.json): reconstruction error and the linear probes.
python3 - "${ae_dtp[@]}" -- "${ae_bp[@]}" <<'PY'
import json, os, statistics as st, sys
args = sys.argv[1:]
cut = args.index("--")
def pm(v, unit=""):
    return f"{st.mean(v):.2f}{f' ± {st.stdev(v):.2f}' if len(v) > 1 else ''}{unit}"
for name, runs in (("auto-encoder DTP", args[:cut]), ("auto-encoder BP", args[cut + 1:])):
    s = [json.load(open(f"results/{n}.summary.json")) for n in runs
         if os.path.exists(f"results/{n}.summary.json")]
    if not s:
        continue
    rec = [x["reconstruction"]["test"] for x in s]
    probe = [100 * x["test_error"] for x in s]
    pixels = [100 * x["pixel_probe"]["test_error"] for x in s]
    print(f"{name} ({len(s)} seeds): reconstruction (test) {pm(rec)} "
          f"({', '.join(f'{v:.2f}' for v in rec)}); probe on the codes {pm(probe, ' %')} "
          f"({', '.join(f'{v:.2f}' for v in probe)}); raw-pixel probe {pm(pixels, ' %')}")
PY
