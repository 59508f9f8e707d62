#!/usr/bin/env bash
# Runs every cargo-fuzz target (or those named) for SECONDS each and prints how many
# executions each made. Usage: fuzz/run.sh [SECONDS] [TARGET...]   (default: 30 s, all)
# Needs the nightly toolchain; installs cargo-fuzz if missing. New interesting inputs go to
# fuzz/corpus/TARGET (not committed); the committed seeds are fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ -d $HOME/.cargo/bin ]] && export PATH=$HOME/.cargo/bin:$PATH
secs=${1:-30}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(blob idx cifar csv checkpoint config)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Path-based readers get a fresh file per input: keep it in memory when possible.
# Only with room to spare (a container's /dev/shm may be 64 MB): the C++ part of libfuzzer-sys
# also puts its assembler files in TMPDIR.
shm_free_kb=$(df --output=avail -k /dev/shm 2>/dev/null | tail -1 | tr -d ' ' || true)
if [[ -w /dev/shm && ${shm_free_kb:-0} =~ ^[0-9]+$ && ${shm_free_kb:-0} -gt 1048576 ]]; then
    export TMPDIR=/dev/shm
fi

status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log=$(mktemp)
    # -rss_limit_mb / -malloc_limit_mb: a header claiming 2^32 images must not allocate
    # gigabytes; -timeout: no input may hang.
    if cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=5 \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo '?')
        echo "fuzz $t: ok, $runs executions in ${secs}s, corpus $(ls "corpus/$t" | wc -l) inputs"
    else
        echo "fuzz $t: FAILED"
        tail -n 40 "$log"
        status=1
    fi
    rm -f "$log"
done
exit $status
