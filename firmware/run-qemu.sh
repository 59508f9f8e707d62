#!/usr/bin/env bash
# Build the firmware for thumbv7em-none-eabihf and run its demos on an emulated Cortex-M4
# (qemu-system-arm -machine mps2-an386), printing the decoded defmt log.
#
#   firmware/run-qemu.sh                 # every demo; exit 0 only if each met its bar
#   firmware/run-qemu.sh learn_digits    # one demo
#   FIRMWARE_FEATURES=sgd firmware/run-qemu.sh   # with firmware features (here: SGD, not RMSprop)
#
# Each demo is an ELF that exits through semihosting: 0 only if on-device learning reached its
# stated held-out accuracy (and, where it saves, the weights reloaded after a reset). QEMU runs
# with -icount shift=0, so each run is deterministic and the instruction counts in the log are
# exact (SysTick runs at 25 MHz of virtual time = 1 tick per 40 instructions).
# Needs qemu-system-arm, a way to build for the target (scripts/thumb-cargo.sh: rustup's
# thumbv7em target or Debian's rustc-web + rust-web-src) and defmt-print (installed with
# `cargo install defmt-print --locked` if missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
demos=("$@")
[[ ${#demos[@]} -gt 0 ]] || demos=(learn_digits learn_digits_bernoulli adapt_digits sensor_stream)

command -v qemu-system-arm >/dev/null || {
    echo "run-qemu: qemu-system-arm not found (Debian: apt-get install qemu-system-arm)" >&2
    exit 2
}
[[ -d $HOME/.cargo/bin ]] && export PATH=$HOME/.cargo/bin:$PATH
if ! command -v defmt-print >/dev/null; then
    echo "run-qemu: installing defmt-print (cargo install defmt-print --locked) ..."
    cargo install defmt-print --locked --version 1.2.0 >&2
fi

echo "run-qemu: building (release) ..."
"$repo/scripts/thumb-cargo.sh" build --manifest-path "$here/Cargo.toml" --release --bins \
    ${FIRMWARE_FEATURES:+--features "$FIRMWARE_FEATURES"}

# thumb-cargo.sh puts rustup-target builds in target/thumbv7em-none-eabihf and Debian-rustc
# builds in target/thumb-debian/thumbv7em-none-eabihf.
elf_dir=
for d in "${CARGO_TARGET_DIR:-$here/target}/thumb-debian/thumbv7em-none-eabihf/release" \
    "${CARGO_TARGET_DIR:-$here/target}/thumbv7em-none-eabihf/release"; do
    if [[ -f $d/${demos[0]} ]]; then elf_dir=$d; break; fi
done
[[ -n $elf_dir ]] || { echo "run-qemu: no ELF for ${demos[0]} found" >&2; exit 2; }

failed=()
for demo in "${demos[@]}"; do
    elf=$elf_dir/$demo
    echo
    echo "=== $demo ($(size "$elf" 2>/dev/null | awk 'NR==2 {print "flash " $1+$2 " B, RAM " $2+$3 " B"}')) ==="
    raw=$(mktemp)
    set +e
    # Semihosting output (the defmt stream) is QEMU's stdout; serial and monitor are off.
    timeout 900 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -icount shift=0 \
        -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$raw"
    rc=$?
    set -e
    defmt-print -e "$elf" <"$raw" || true
    rm -f "$raw"
    if [[ $rc -eq 0 ]]; then
        echo "=== $demo: exit 0 (met its bar) ==="
    else
        echo "=== $demo: exit $rc (FAILED) ==="
        failed+=("$demo")
    fi
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run-qemu: ${#failed[@]} of ${#demos[@]} demos failed: ${failed[*]}"
    exit 1
fi
echo "run-qemu: all ${#demos[@]} demos met their bars"
