#!/usr/bin/env bash
# Link-time proof that the on-device training step and loop contain no panic path: dtp-core
# as the firmware runs it, on any input (firmware/no-panic/src/main.rs says what is covered),
# and the firmware's own demos as they ship.
#
#   firmware/check-no-panic.sh                  # the proof (CI runs this)
#   firmware/check-no-panic.sh --list-firmware  # not a proof: lists the panic calls left in
#                                               # the real firmware ELFs (needs llvm-objdump
#                                               # and llvm-addr2line)
#                                               # (THUMB_TARGET=thumbv7m-none-eabi: the
#                                               # soft-float ELFs)
#
# Builds firmware/no-panic for thumbv7em-none-eabihf in the firmware's release profile (fat
# LTO, opt-level 3, panic = "abort") through scripts/thumb-cargo.sh. Its panic handler calls
# `__dtp_training_loop_can_panic`, which is defined nowhere, and the linker's --gc-sections
# keeps only what the program can reach: the link succeeds only if no panic survives.
#   1. negative control: `--features canary` adds one bounds check the optimiser cannot
#      remove; that link must fail naming the symbol (so a passing check means something);
#   2. the proof: the build without it must link.
# If the proof fails, the program is rebuilt with a panic handler that links and, when
# llvm-objdump and llvm-addr2line are available, every surviving panic call is listed with
# its inlined source chain.
# Then the same for the firmware's four demos (feature `no-panic-proof`: their panic handler
# is the undefined `__dtp_firmware_can_panic`): 3. the canary (`no-panic-canary`, a bounds
# check in the training loop) must fail to link; 4. the demos must link, for
# thumbv7em-none-eabihf and for the soft-float thumbv7m-none-eabi build. Their deliberate
# error exits (`defmt::panic!`: a failed step, a corrupt save, a static taken twice) end in
# defmt's panic handler, not in core's, so they are what remains. Then the micro:bit's
# Cortex-M0 demos (thumbv6m-none-eabi, feature microbit: learn_small, flash_check,
# stack_overflow) must link the same way. Exit 0 only if all four steps behave.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
manifest=$here/no-panic/Cargo.toml
symbol=__dtp_training_loop_can_panic
[[ -d $HOME/.cargo/bin ]] && export PATH=$HOME/.cargo/bin:$PATH
# The firmware's .cargo/config.toml (a parent directory) adds cortex-m-rt/defmt linker
# scripts this program does not use: RUSTFLAGS replaces config rustflags.
export RUSTFLAGS="-C link-arg=--entry=_start"

build() {
    "$repo/scripts/thumb-cargo.sh" build --manifest-path "$manifest" --release "$@"
}

# Every call or branch into a panic entry point of ELF, with its inlined source chain.
list_sites() {
    local elf=$1 addr
    local pat='panicking|slice_index_fail|unwrap_failed|expect_failed|assert_failed|panic_bounds|str_index_overflow_fail|slice_end_index|slice_start_index|panic_const'
    "$objdump" -d --no-show-raw-insn "$elf" | awk -v pat="$pat" '
        /^[0-9a-f]+ </ { inpanic = ($0 ~ pat); next }
        !inpanic && $0 ~ ("<[^>]*(" pat ")") { sub(":", "", $1); print $1 }' |
        while read -r addr; do
            echo "panic call at 0x$addr, inlined from:"
            "$addr2line" -e "$elf" -f -i -C "0x$addr" | paste - - | grep -v '/library/core/' |
                awk -F'\t' '{ printf "    %s  (%s)\n", $2, $1 }' || true
        done
}
objdump=$(command -v llvm-objdump || compgen -c llvm-objdump- | sort -V | tail -n 1 || true)
addr2line=$(command -v llvm-addr2line || compgen -c llvm-addr2line- | sort -V | tail -n 1 || true)

if [[ ${1:-} == --list-firmware ]]; then
    [[ -n $objdump && -n $addr2line ]] || { echo "needs llvm-objdump and llvm-addr2line" >&2; exit 2; }
    unset RUSTFLAGS
    "$repo/scripts/thumb-cargo.sh" build --manifest-path "$here/Cargo.toml" --release --bins >&2
    t=${THUMB_TARGET:-thumbv7em-none-eabihf}
    for d in "${CARGO_TARGET_DIR:-$here/target}/thumb-debian/$t/release" \
        "${CARGO_TARGET_DIR:-$here/target}/$t/release"; do
        [[ -f $d/learn_digits ]] || continue
        for elf in "$d"/learn_digits "$d"/learn_digits_bernoulli "$d"/adapt_digits "$d"/sensor_stream; do
            echo "=== $(basename "$elf")"
            list_sites "$elf"
        done
        exit 0
    done
    echo "no firmware ELF found" >&2
    exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "check-no-panic: negative control (a deliberate bounds check must fail the link) ..."
if build --features canary >"$log" 2>&1; then
    tail -n 20 "$log"
    echo "check-no-panic: FAILED: the canary linked, so the check cannot detect a panic path" >&2
    exit 1
fi
if ! grep -q "undefined symbol: $symbol" "$log"; then
    tail -n 40 "$log"
    echo "check-no-panic: FAILED: the canary build failed for another reason" >&2
    exit 1
fi
echo "check-no-panic: canary rejected (undefined symbol: $symbol), as it must be"

# The firmware's demos, built with an undefined panic handler (`extra` features added).
firmware_build() {
    local extra=$1
    shift
    env -u RUSTFLAGS "$repo/scripts/thumb-cargo.sh" build --manifest-path "$here/Cargo.toml" \
        --release --features "no-panic-proof$extra" "$@"
}
fsymbol=__dtp_firmware_can_panic

check_firmware() {
    echo "check-no-panic: firmware negative control (a bounds check in its loop must fail the link) ..."
    if firmware_build ,no-panic-canary --bin learn_digits >"$log" 2>&1; then
        tail -n 20 "$log"
        echo "check-no-panic: FAILED: the firmware canary linked" >&2
        exit 1
    fi
    if ! grep -q "undefined symbol: $fsymbol" "$log"; then
        tail -n 40 "$log"
        echo "check-no-panic: FAILED: the firmware canary build failed for another reason" >&2
        exit 1
    fi
    echo "check-no-panic: firmware canary rejected (undefined symbol: $fsymbol), as it must be"
    echo "check-no-panic: building the firmware's demos with an undefined panic handler ..."
    if firmware_build "" --bins >"$log" 2>&1; then
        echo "check-no-panic: PASS: no panic path in the firmware's demos (learn_digits," \
            "learn_digits_bernoulli, adapt_digits, sensor_stream, learn_digits_int," \
            "learn_digits_conv, stack_overflow); only their deliberate" \
            "error exits (defmt::panic!) remain"
        echo "check-no-panic: the same for the soft-float build (thumbv7m-none-eabi, Cortex-M3) ..."
        if THUMB_TARGET=thumbv7m-none-eabi firmware_build "" --bins >"$log" 2>&1; then
            echo "check-no-panic: PASS: no panic path in the soft-float demos either"
            echo "check-no-panic: the same for the Cortex-M0 micro:bit build (thumbv6m-none-eabi:" \
                "learn_small, flash_check, stack_overflow); its canary first ..."
            if THUMB_TARGET=thumbv6m-none-eabi firmware_build ,microbit,no-panic-canary \
                --bin learn_small >"$log" 2>&1 || ! grep -q "undefined symbol: $fsymbol" "$log"; then
                tail -n 40 "$log"
                echo "check-no-panic: FAILED: the Cortex-M0 canary linked, or failed for" \
                    "another reason" >&2
                exit 1
            fi
            echo "check-no-panic: Cortex-M0 canary rejected (undefined symbol: $fsymbol)"
            if THUMB_TARGET=thumbv6m-none-eabi firmware_build ,microbit --bin learn_small --bin learn_digits_int \
                --bin flash_check --bin stack_overflow >"$log" 2>&1; then
                echo "check-no-panic: PASS: no panic path in the Cortex-M0 demos either"
                return
            fi
            tail -n 40 "$log"
            echo "check-no-panic: FAILED: the Cortex-M0 demos do not link with an undefined" \
                "panic handler" >&2
            exit 1
        fi
        tail -n 40 "$log"
        echo "check-no-panic: FAILED: the soft-float demos do not link with an undefined" \
            "panic handler (list the sites: THUMB_TARGET=thumbv7m-none-eabi and --list-firmware)" >&2
        exit 1
    fi
    grep -q "undefined symbol: $fsymbol" "$log" || {
        tail -n 40 "$log"
        echo "check-no-panic: FAILED: firmware build error" >&2
        exit 1
    }
    echo "check-no-panic: FAILED: a panic path survives in the firmware; its sites:" >&2
    [[ -n $objdump && -n $addr2line ]] || {
        echo "check-no-panic: install llvm (llvm-objdump, llvm-addr2line) to list them" >&2
        exit 1
    }
    "$0" --list-firmware >&2 || true
    exit 1
}

echo "check-no-panic: building the training loop with an undefined panic handler ..."
if build >"$log" 2>&1; then
    echo "check-no-panic: PASS: no panic path in the DTP step, init, evaluation, blob and" \
        "flash save/load (any Config, any data)"
    check_firmware
    exit 0
fi
grep -q "undefined symbol: $symbol" "$log" || {
    tail -n 40 "$log"
    echo "check-no-panic: FAILED: build error" >&2
    exit 1
}
echo "check-no-panic: FAILED: a panic path survives; locating it ..." >&2
CARGO_PROFILE_RELEASE_DEBUG=2 build --features locate >"$log" 2>&1 || {
    tail -n 40 "$log"
    exit 1
}
if [[ -z $objdump || -z $addr2line ]]; then
    echo "check-no-panic: install llvm (llvm-objdump, llvm-addr2line) to list the panic sites" >&2
    exit 1
fi
target_dir=${CARGO_TARGET_DIR:-$here/no-panic/target}
elf=
for d in "$target_dir/thumb-debian/thumbv7em-none-eabihf/release" \
    "$target_dir/thumbv7em-none-eabihf/release"; do
    [[ -f $d/dtp-no-panic ]] && elf=$d/dtp-no-panic && break
done
[[ -n $elf ]] || { echo "check-no-panic: ELF not found" >&2; exit 1; }
list_sites "$elf" >&2
exit 1
