#!/usr/bin/env bash
# ThreadSanitizer over the thread team and the chunk-parallel trainer (issue 29, item 5):
# dtp-core's lib tests (the team's, the claim-order test) and tests/tests/parallel.rs, built
# with -Zsanitizer=thread and a std rebuilt the same way (nightly with rust-src:
# `rustup component add rust-src --toolchain nightly`). A reported race fails the run
# (halt_on_error). Not in .ci/run yet: about 5 minutes on two cores, most of it building std.
#
#   scripts/tsan.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1"
tsan() { cargo +nightly test -Zbuild-std --target "$host" --target-dir target/tsan "$@"; }
tsan -p dtp-core --features std --lib
tsan -p dtp-tests --test parallel
