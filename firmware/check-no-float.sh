#!/usr/bin/env bash
# Link-time proof that the integer demo (`learn_digits_int`: dtp_core::int's DTP step, its
# training loop, evaluation, flash save and log) uses no floating point on a Cortex-M0.
#
#   firmware/check-no-float.sh     # the proof (CI runs this)
#
# A Cortex-M0 has no FPU: every f32/f64 operation compiles to a call of the soft-float library
# (`__aeabi_fadd`, `__aeabi_f2iz`, `__aeabi_dmul`, … and their GNU names), and the float maths
# functions (`expf`, `tanhf`, `sqrtf`, …) are built from those. The demo is linked for
# thumbv6m-none-eabi (feature microbit) with `--wrap=SYMBOL` for every one of them: a
# reference to SYMBOL then resolves to `__wrap_SYMBOL`, which exists nowhere — the program is
# linked as if the float library did not exist. The compiler's library calls are weak
# references, so the linker does not stop at them (it would leave a call to address 0): the
# check reads the ELF's symbol table and fails on any `__wrap_` symbol, naming it.
#   1. negative control: `--features float-canary` adds one f32 division to the training
#      loop; its ELF must hold `__wrap___aeabi_fdiv`;
#   2. the proof: the ELF without it holds no `__wrap_` symbol.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
[[ -d $HOME/.cargo/bin ]] && export PATH=$HOME/.cargo/bin:$PATH

single="fadd fsub frsub fmul fdiv fcmpeq fcmplt fcmple fcmpge fcmpgt fcmpun cfcmpeq cfcmple
    cfrcmple f2iz f2uiz f2lz f2ulz i2f ui2f l2f ul2f f2d d2f"
double="dadd dsub drsub dmul ddiv dcmpeq dcmplt dcmple dcmpge dcmpgt dcmpun cdcmpeq cdcmple
    cdrcmple d2iz d2uiz d2lz d2ulz i2d ui2d l2d ul2d"
gnu="addsf3 subsf3 mulsf3 divsf3 adddf3 subdf3 muldf3 divdf3 eqsf2 nesf2 ltsf2 lesf2 gesf2
    gtsf2 unordsf2 eqdf2 nedf2 ltdf2 ledf2 gedf2 gtdf2 unorddf2 fixsfsi fixunssfsi fixsfdi
    fixunssfdi fixdfsi fixunsdfsi fixdfdi fixunsdfdi floatsisf floatunsisf floatdisf
    floatundisf floatsidf floatunsidf floatdidf floatundidf extendsfdf2 truncdfsf2 powisf2
    powidf2"
maths="expf exp exp2f exp2 logf log log2f log2 powf pow sqrtf sqrt tanhf tanh sinf sin cosf cos
    fmaf fma floorf floor ceilf ceil truncf trunc roundf round fmodf fmod"
symbols=()
for s in $single $double; do symbols+=("__aeabi_$s"); done
for s in $gnu; do symbols+=("__$s"); done
for s in $maths; do symbols+=("$s"); done
flags=
for s in "${symbols[@]}"; do flags+="${flags:+, }\"-C\", \"link-arg=--wrap=$s\""; done

build() {
    # Cargo appends these to the target's rustflags of .cargo/config.toml (arrays of several
    # configuration sources are joined).
    THUMB_TARGET=thumbv6m-none-eabi "$repo/scripts/thumb-cargo.sh" build \
        --manifest-path "$here/Cargo.toml" --release --bin learn_digits_int \
        --config "target.thumbv6m-none-eabi.rustflags = [$flags]" \
        --features "microbit$1"
}
elf=
for d in "${CARGO_TARGET_DIR:-$here/target}/thumb-debian/thumbv6m-none-eabi/release" \
    "${CARGO_TARGET_DIR:-$here/target}/thumbv6m-none-eabi/release"; do
    [[ -d $d ]] && { elf=$d/learn_digits_int; break; }
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The float functions the ELF at $elf calls (its undefined `__wrap_` symbols), one a line.
calls() {
    nm "$elf" | awk '$NF ~ /^__wrap_/ { sub(/^__wrap_/, "", $NF); print $NF }' | sort -u
}

echo "check-no-float: negative control (one f32 division in the loop) ..."
build ,float-canary >"$log" 2>&1 || { tail -n 40 "$log"; echo "check-no-float: FAILED: build error" >&2; exit 1; }
[[ -z $elf ]] && elf=$(find "$here/target" -path '*thumbv6m-none-eabi/release/learn_digits_int' | head -1)
if ! calls | grep -qx __aeabi_fdiv; then
    echo "check-no-float: FAILED: the float canary's division was not seen (calls: $(calls | tr '\n' ' '))" >&2
    exit 1
fi
echo "check-no-float: canary seen: it calls $(calls | tr '\n' ' ')(as it must)"
echo "check-no-float: linking learn_digits_int without any of ${#symbols[@]} soft-float and float-maths functions ..."
build "" >"$log" 2>&1 || { tail -n 40 "$log"; echo "check-no-float: FAILED: build error" >&2; exit 1; }
left=$(calls | tr '\n' ' ')
if [[ -z $left ]]; then
    echo "check-no-float: PASS: no floating-point call in the integer demo (DTP step, loop," \
        "evaluation, flash save, log) on the Cortex-M0"
    exit 0
fi
echo "check-no-float: FAILED: the integer demo calls floating point: $left" >&2
exit 1
