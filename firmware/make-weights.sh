#!/usr/bin/env bash
# Make the host-trained starting weights of the firmware's adaptation demo (adapt_digits):
# train the `digits-firmware` preset with the dtp CLI, then export its checkpoint as the
# firmware weight blob the demo includes.
#
#   firmware/make-weights.sh            # writes firmware/weights/digits-sign-64-32-32-10.dtpw
#   firmware/make-weights.sh --check    # the same into a temporary file; exit 0 iff identical
#                                       # to the committed blob (byte for byte)
#
# It runs exactly:
#   dtp train --preset digits-firmware --out runs/digits-firmware --no-plot --force
#   dtp export runs/digits-firmware --firmware firmware/weights/digits-sign-64-32-32-10.dtpw
# (dtp = cargo run --release -p dtp-std --bin dtp --). The preset is the firmware's network,
# units and settings (64-32-32-10 sign units, one sample a step, 4 epochs, seed 1) on the
# digits at the firmware's 4 bits a pixel, with the firmware's held-out digits as its test set.
# Training is deterministic: same seed, same blob.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
blob=$here/weights/digits-sign-64-32-32-10.dtpw
run=$repo/runs/digits-firmware
check=0
case ${1:-} in
    --check) check=1 ;;
    "") ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac

cd "$repo"
dtp() { cargo run --quiet --release -p dtp-std --bin dtp -- "$@"; }
dtp train --preset digits-firmware --out "$run" --no-plot --force
if [[ $check -eq 1 ]]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    dtp export "$run" --firmware "$tmp/weights.dtpw"
    if cmp "$tmp/weights.dtpw" "$blob"; then
        echo "make-weights: $blob is what the CLI makes (identical)"
    else
        echo "make-weights: $blob differs from a fresh CLI export; rerun firmware/make-weights.sh" >&2
        exit 1
    fi
else
    dtp export "$run" --firmware "$blob"
fi
