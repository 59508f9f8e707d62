#!/usr/bin/env bash
# Build the firmware and run its demos on an emulated Arm board (qemu-system-arm), printing the
# decoded defmt log.
#
#   firmware/run-qemu.sh                 # every demo on mps2-an386; exit 0 only if each met its bar
#   firmware/run-qemu.sh learn_digits    # one demo
#   firmware/run-qemu.sh --board mps2-an505 [demo...]   # another board (or FIRMWARE_BOARD=...)
#   firmware/run-qemu.sh --seed 2 [demo...]             # another seed (or DTP_FIRMWARE_SEED=...)
#   FIRMWARE_FEATURES=sgd firmware/run-qemu.sh   # with firmware features (here: SGD, not RMSprop)
#
# Boards (QEMU machine, core, Rust target):
#   mps2-an386  Cortex-M4F  thumbv7em-none-eabihf  (the default)
#   mps2-an500  Cortex-M7   thumbv7em-none-eabihf  (the same ELF as mps2-an386)
#   mps2-an505  Cortex-M33  thumbv7em-none-eabihf  (feature mps2-an505: its own memory map,
#                                                   boards/mps2-an505/memory.x)
#   mps2-an385  Cortex-M3   thumbv7m-none-eabi     (no FPU: soft float; runs learn_digits
#                                                   unless demos are named)
# The seed (build time, firmware/build.rs; 1 by default) drives the initial weights, the
# inverses' noise, Bernoulli samples and the order of the training stream.
#
# Each demo is an ELF that exits through semihosting: 0 only if on-device learning reached its
# stated held-out accuracy (and, where it saves, the weights reloaded after a reset). QEMU runs
# with -icount shift=0, so each run is deterministic and the instruction counts in the log are
# exact (SysTick runs at 25 MHz of virtual time = 1 tick per 40 instructions; 20 MHz = 50 on
# mps2-an505; the firmware calibrates the ratio itself).
# Needs qemu-system-arm, a way to build for the target (scripts/thumb-cargo.sh: rustup's
# thumbv7em target or Debian's rustc-web + rust-web-src) and defmt-print (installed with
# `cargo install defmt-print --locked` if missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
board=${FIRMWARE_BOARD:-mps2-an386}
demos=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --board) board=${2:?--board needs a board}; shift 2 ;;
        --board=*) board=${1#--board=}; shift ;;
        --seed) export DTP_FIRMWARE_SEED=${2:?--seed needs a number}; shift 2 ;;
        --seed=*) export DTP_FIRMWARE_SEED=${1#--seed=}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        -*) echo "run-qemu: unknown option $1" >&2; exit 2 ;;
        *) demos+=("$1"); shift ;;
    esac
done
all_demos=(learn_digits learn_digits_bernoulli adapt_digits sensor_stream)
features=${FIRMWARE_FEATURES:-}
case $board in
    mps2-an386) cpu=cortex-m4 target=thumbv7em-none-eabihf ;;
    mps2-an500) cpu=cortex-m7 target=thumbv7em-none-eabihf ;;
    mps2-an505) cpu=cortex-m33 target=thumbv7em-none-eabihf features=${features:+$features,}mps2-an505 ;;
    mps2-an385) cpu=cortex-m3 target=thumbv7m-none-eabi all_demos=(learn_digits) ;;
    *)
        echo "run-qemu: unknown board $board (mps2-an386, mps2-an500, mps2-an505, mps2-an385)" >&2
        exit 2
        ;;
esac
[[ ${#demos[@]} -gt 0 ]] || demos=("${all_demos[@]}")

command -v qemu-system-arm >/dev/null || {
    echo "run-qemu: qemu-system-arm not found (Debian: apt-get install qemu-system-arm)" >&2
    exit 2
}
[[ -d $HOME/.cargo/bin ]] && export PATH=$HOME/.cargo/bin:$PATH
if ! command -v defmt-print >/dev/null; then
    echo "run-qemu: installing defmt-print (cargo install defmt-print --locked) ..."
    cargo install defmt-print --locked --version 1.2.0 >&2
fi

echo "run-qemu: building (release) for $board ($cpu, $target, seed ${DTP_FIRMWARE_SEED:-1}${features:+, features $features}) ..."
THUMB_TARGET=$target "$repo/scripts/thumb-cargo.sh" build --manifest-path "$here/Cargo.toml" \
    --release --bins ${features:+--features "$features"}

# thumb-cargo.sh puts rustup-target builds in target/<target> and Debian-rustc builds in
# target/thumb-debian/<target>.
elf_dir=
for d in "${CARGO_TARGET_DIR:-$here/target}/thumb-debian/$target/release" \
    "${CARGO_TARGET_DIR:-$here/target}/$target/release"; do
    if [[ -f $d/${demos[0]} ]]; then elf_dir=$d; break; fi
done
[[ -n $elf_dir ]] || { echo "run-qemu: no ELF for ${demos[0]} found" >&2; exit 2; }

failed=()
for demo in "${demos[@]}"; do
    elf=$elf_dir/$demo
    echo
    echo "=== $demo on $board ($(size "$elf" 2>/dev/null | awk 'NR==2 {print "flash " $1+$2 " B, RAM " $2+$3 " B"}')) ==="
    raw=$(mktemp)
    set +e
    # Semihosting output (the defmt stream) is QEMU's stdout; serial and monitor are off.
    timeout "${FIRMWARE_TIMEOUT:-1800}" qemu-system-arm -machine "$board" -cpu "$cpu" -icount shift=0 \
        -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$raw"
    rc=$?
    set -e
    defmt-print -e "$elf" <"$raw" || true
    rm -f "$raw"
    if [[ $rc -eq 0 ]]; then
        echo "=== $demo on $board: exit 0 (met its bar) ==="
    else
        echo "=== $demo on $board: exit $rc (FAILED) ==="
        failed+=("$demo")
    fi
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run-qemu: $board: ${#failed[@]} of ${#demos[@]} demos failed: ${failed[*]}"
    exit 1
fi
echo "run-qemu: $board: all ${#demos[@]} demos met their bars"
