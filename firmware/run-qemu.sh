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
#   microbit    Cortex-M0   thumbv6m-none-eabi     (nRF51: 256 KiB flash, 16 KiB RAM; feature
#                                                   microbit, boards/microbit/memory.x; linked
#                                                   through flip-link; runs the demos of
#                                                   `microbit_demos` below, then the stack
#                                                   overflow check)
# The seed (build time, firmware/build.rs; 1 by default) drives the initial weights, the
# inverses' noise, Bernoulli samples and the order of the training stream.
#
# Each demo is an ELF that exits through semihosting: 0 only if on-device learning reached its
# stated held-out accuracy (and, where it saves, the weights reloaded after a reset). QEMU runs
# with -icount shift=0, so each run is deterministic and the instruction counts in the log are
# exact (SysTick runs at 25 MHz of virtual time = 1 tick per 40 instructions; 20 MHz = 50 on
# mps2-an505; 16 MHz = 62.5 on the microbit; the firmware calibrates the ratio itself).
#
# Boards linked through flip-link (the microbit) also run the ELFs of `fault_checks`, which must
# fail: `stack_overflow` overflows its stack on purpose and passes only if it exits 1 within a
# minute with the HardFault handler's "stack overflow" line saying no static was overwritten.
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
all_demos=(learn_digits learn_digits_bernoulli adapt_digits sensor_stream learn_digits_int learn_digits_conv)
# The micro:bit's demos: bins of firmware/ that link with feature `microbit` (16 KiB of RAM:
# statics + stack; flip-link gives the stack all RAM the statics leave: 16,384 B - 92 B of
# logger, tick counter and flags - the demo's own statics). A new demo: src/bin/NAME.rs with a [[bin]] entry
# (code only the small parts run goes behind a feature that `microbit` enables, as `small`
# does), `measure::paint_stack()` first and the "stack high-water mark" line at the end, exit
# through `dtp_firmware::exit`; then its name here.
microbit_demos=(learn_digits_int learn_small flash_check)
features=${FIRMWARE_FEATURES:-}
fault_checks=()
case $board in
    mps2-an386) cpu=cortex-m4 target=thumbv7em-none-eabihf ;;
    mps2-an500) cpu=cortex-m7 target=thumbv7em-none-eabihf ;;
    mps2-an505) cpu=cortex-m33 target=thumbv7em-none-eabihf features=${features:+$features,}mps2-an505 ;;
    mps2-an385) cpu=cortex-m3 target=thumbv7m-none-eabi all_demos=(learn_digits learn_digits_int) ;;
    microbit)
        cpu=cortex-m0 target=thumbv6m-none-eabi features=${features:+$features,}microbit
        all_demos=("${microbit_demos[@]}") fault_checks=(stack_overflow)
        # flip-link is required here (THUMB_FLIP_LINK=0 only to see the check fail without it).
        export THUMB_FLIP_LINK=${THUMB_FLIP_LINK:-1}
        ;;
    *)
        echo "run-qemu: unknown board $board (mps2-an386, mps2-an500, mps2-an505, mps2-an385, microbit)" >&2
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

if [[ ${THUMB_FLIP_LINK:-} == 1 ]] && ! command -v flip-link >/dev/null; then
    echo "run-qemu: installing flip-link (cargo install flip-link --locked) ..."
    cargo install flip-link --locked --version 0.1.12 >&2
fi

# Every bin, except on a board where only some fit: its demos and fault checks.
bins=(--bins)
if [[ ${#fault_checks[@]} -gt 0 ]]; then
    bins=()
    for b in "${demos[@]}" "${fault_checks[@]}"; do bins+=(--bin "$b"); done
fi
echo "run-qemu: building (release) for $board ($cpu, $target, seed ${DTP_FIRMWARE_SEED:-1}${features:+, features $features}) ..."
THUMB_TARGET=$target "$repo/scripts/thumb-cargo.sh" build --manifest-path "$here/Cargo.toml" \
    --release "${bins[@]}" ${features:+--features "$features"}

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

# The checks that must fail, and fail clearly.
for check in "${fault_checks[@]}"; do
    elf=$elf_dir/$check
    echo
    echo "=== $check on $board (must fail: a stack overflow must end in a message and exit 1) ==="
    raw=$(mktemp)
    set +e
    timeout 60 qemu-system-arm -machine "$board" -cpu "$cpu" -icount shift=0 \
        -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$raw"
    rc=$?
    set -e
    log=$(defmt-print -e "$elf" <"$raw" 2>&1 || true)
    rm -f "$raw"
    echo "$log"
    if [[ $rc -eq 1 ]] && grep -q 'stack overflow: HardFault.*none was overwritten' <<<"$log"; then
        echo "=== $check on $board: exit 1 with the overflow reported, statics untouched (as it must) ==="
    else
        echo "=== $check on $board: exit $rc$([[ $rc -eq 124 ]] && echo ': a silent hang'), no clear overflow report (FAILED) ==="
        failed+=("$check")
    fi
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run-qemu: $board: ${#failed[@]} of $((${#demos[@]} + ${#fault_checks[@]})) demos and checks failed: ${failed[*]}"
    exit 1
fi
echo "run-qemu: $board: all ${#demos[@]} demos met their bars${fault_checks[*]:+; the overflow check failed clearly, as it must}"
