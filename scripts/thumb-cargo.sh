#!/usr/bin/env bash
# Run cargo for thumbv7em-none-eabihf (Cortex-M4F), on any machine we use.
#
#   scripts/thumb-cargo.sh <cargo subcommand> [args...]
#   scripts/thumb-cargo.sh build -p dtp-core --release
#   scripts/thumb-cargo.sh build --manifest-path firmware/Cargo.toml --release
#   THUMB_TARGET=thumbv7m-none-eabi scripts/thumb-cargo.sh build ...   # another Arm target
#                                              # (here: Cortex-M3, no FPU, soft float)
#   THUMB_TARGET=thumbv6m-none-eabi scripts/thumb-cargo.sh build ...   # Cortex-M0/M0+
#   scripts/thumb-cargo.sh clippy --manifest-path firmware/Cargo.toml --bins -- -D warnings
#                                              # (Debian path: needs rust-web-clippy)
#
# thumbv6m-none-eabi is linked through flip-link (knurling-rs; `cargo install flip-link
# --locked`), which moves the statics to the top of RAM and the stack under them, so a stack
# overflow leaves RAM and faults instead of overwriting the statics (on a Cortex-M0 there is
# no MPU to guard the stack otherwise). THUMB_FLIP_LINK=1 requires it (exit 2 if it is not
# installed), THUMB_FLIP_LINK=0 links without it; unset, it is used when installed and a
# warning is printed when not. flip-link runs `rust-lld` from PATH: the rust-lld found below
# is put there. Other targets are linked as before.
#
# Two ways to get a core library for the target:
#   1. rustup: `rustup target add thumbv7em-none-eabihf` was done -> plain
#      `cargo <args> --target thumbv7em-none-eabihf`.
#   2. Debian (rustup cannot download targets here): rustc-web + rust-web-src
#      give a rustc with the core sources, so core is built from source:
#      RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo <args> -Zbuild-std=core ...
#      Artifacts go to <workspace>/target/thumb-debian so they never mix with
#      rustup-rustc artifacts. Debian's rustc ships no rust-lld, so the one in
#      the rustup toolchain is used as the linker (exported as RUST_LLD and
#      CARGO_TARGET_<TARGET>_LINKER unless already set).
# Neither available -> prints what to install and exits 2.
#
# Works from any directory. --manifest-path may be relative to the caller's
# directory or to the repo root. When a --manifest-path is given, cargo runs
# from that manifest's directory, so its .cargo/config.toml (runner, rustflags,
# linker script) is honoured; cargo reads config from the cwd, not the manifest.
set -euo pipefail

TARGET=${THUMB_TARGET:-thumbv7em-none-eabihf}
DEBIAN_RUSTC=/usr/bin/rustc

if [[ $# -eq 0 ]]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi

caller_dir=$(pwd)
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# --- Resolve --manifest-path and pick the directory cargo runs in. ---------
args=("$@")
run_dir=$repo_root
for i in "${!args[@]}"; do
    a=${args[$i]}
    [[ $a == -- ]] && break
    mp=
    if [[ $a == --manifest-path ]]; then
        mp=${args[$((i + 1))]:-}
    elif [[ $a == --manifest-path=* ]]; then
        mp=${a#--manifest-path=}
    fi
    [[ -z $mp ]] && continue
    if [[ $mp != /* ]]; then
        if [[ -f $caller_dir/$mp ]]; then mp=$caller_dir/$mp; else mp=$repo_root/$mp; fi
    fi
    if [[ ! -f $mp ]]; then
        echo "thumb-cargo: manifest not found: $mp" >&2
        exit 2
    fi
    mp=$(cd "$(dirname "$mp")" && pwd)/$(basename "$mp")
    run_dir=$(dirname "$mp")
    if [[ $a == --manifest-path ]]; then args[i + 1]=$mp; else args[i]=--manifest-path=$mp; fi
done
cd "$run_dir"

# Insert extra cargo flags before a `--` (flags after it belong to the binary).
run_cargo() {
    local extra=("$@") before=() after=() seen=0 a
    for a in "${args[@]}"; do
        if [[ $seen -eq 0 && $a == -- ]]; then seen=1; fi
        if [[ $seen -eq 0 ]]; then before+=("$a"); else after+=("$a"); fi
    done
    # `clippy` on the Debian path: Debian's cargo-clippy (package rust-web-clippy), whose
    # clippy-driver matches the Debian rustc that builds core (rustup's would not load it).
    if [[ ${before[0]:-} == clippy && ${THUMB_DEBIAN_CLIPPY:-} == 1 ]]; then
        if [[ ! -x /usr/bin/cargo-clippy ]]; then
            echo "thumb-cargo: clippy needs Debian's rust-web-clippy (apt-get install rust-web-clippy)" >&2
            exit 2
        fi
        exec /usr/bin/cargo-clippy "${before[@]}" "${extra[@]}" "${after[@]}"
    fi
    exec cargo "${before[@]}" "${extra[@]}" "${after[@]}"
}

# flip-link for thumbv6m-none-eabi (see above): sets CARGO_TARGET_<T>_LINKER=flip-link and
# puts the rust-lld given as $1 on PATH under that name. Returns 1 if flip-link is not used.
use_flip_link() {
    local lld=$1 want=${THUMB_FLIP_LINK:-} var
    [[ $TARGET == thumbv6m-none-eabi && $want != 0 ]] || return 1
    [[ -d $HOME/.cargo/bin ]] && PATH=$PATH:$HOME/.cargo/bin
    if ! command -v flip-link >/dev/null 2>&1; then
        if [[ $want == 1 ]]; then
            echo "thumb-cargo: THUMB_FLIP_LINK=1 but flip-link is not installed" \
                "(cargo install flip-link --locked)" >&2
            exit 2
        fi
        echo "thumb-cargo: warning: flip-link not installed (cargo install flip-link --locked):" \
            "$TARGET linked without stack overflow protection" >&2
        return 1
    fi
    if [[ $(basename "$lld") != rust-lld ]]; then
        local dir
        dir=$(mktemp -d)
        ln -s "$lld" "$dir/rust-lld"
        lld=$dir/rust-lld
    fi
    export PATH=$(dirname "$lld"):$PATH
    var=CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$TARGET")_LINKER
    export "$var=flip-link"
}

# --- 1. rustup with the target installed. ----------------------------------
if command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    rustup_rustc=$(rustup which rustc)
    use_flip_link "$("$rustup_rustc" --print sysroot)/lib/rustlib/$("$rustup_rustc" -vV |
        sed -n 's/^host: //p')/bin/rust-lld" || true
    run_cargo --target "$TARGET"
fi

# --- 2. Debian rustc-web + rust-web-src, core built from source. -----------
missing=()
[[ -x $DEBIAN_RUSTC ]] || missing+=(rustc-web)
if [[ -x $DEBIAN_RUSTC ]]; then
    sysroot=$("$DEBIAN_RUSTC" --print sysroot)
    [[ -d $sysroot/lib/rustlib/src/rust/library/core ]] || missing+=(rust-web-src)
else
    missing+=(rust-web-src)
fi
command -v cargo >/dev/null 2>&1 || missing+=(cargo)

# rust-lld: from the rustup toolchain, else from PATH (Debian's rust-web-llvm).
lld=${RUST_LLD:-}
if [[ -z $lld ]] && command -v rustup >/dev/null 2>&1; then
    rustup_rustc=$(rustup which rustc 2>/dev/null || true)
    if [[ -n $rustup_rustc ]]; then
        host=$("$rustup_rustc" -vV | sed -n 's/^host: //p')
        cand=$("$rustup_rustc" --print sysroot)/lib/rustlib/$host/bin/rust-lld
        [[ -x $cand ]] && lld=$cand
    fi
fi
if [[ -z $lld ]]; then
    lld=$(command -v rust-lld || command -v ld.lld || true)
fi
[[ -n $lld ]] || missing+=(rust-lld)

if [[ ${#missing[@]} -gt 0 ]]; then
    cat >&2 <<EOF
thumb-cargo: no way to build for $TARGET on this machine (missing: ${missing[*]}).
Install either
  rustup target add $TARGET            (needs the rustup dist server)
or, on Debian 12 (as root):
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y rustc-web rust-web-src
plus a rust-lld: the rustup toolchain's (rustup + any stable toolchain), or
  apt-get install -y rust-web-llvm      (gives /usr/bin/rust-lld)
EOF
    exit 2
fi

# Debian's rustc must meet the workspace's `rust-version` (its MSRV): a machine whose package
# lists are stale installs an older rustc-web (1.85 on Debian 12 before `apt-get update`),
# and cargo would refuse every crate with "rustc 1.85.0 is not supported by dtp-core".
# THUMB_SKIP_VERSION_CHECK=1 skips this check.
msrv_of() {
    sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$1" | head -n 1
}
msrv=$(msrv_of "$repo_root/Cargo.toml")
have=$("$DEBIAN_RUSTC" --version | sed -n 's/^rustc \([0-9][0-9.]*\).*/\1/p')
if [[ ${THUMB_SKIP_VERSION_CHECK:-} != 1 && -n $msrv && -n $have ]] &&
    [[ $(printf '%s\n%s\n' "$msrv" "$have" | sort -V | head -n 1) != "$msrv" ]]; then
    cat >&2 <<EOF
thumb-cargo: Debian's rustc is $have, below the workspace's rust-version $msrv
($repo_root/Cargo.toml). The package lists are probably stale; as root:
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y rustc-web rust-web-src
(THUMB_SKIP_VERSION_CHECK=1 skips this check.)
EOF
    exit 2
fi

if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
    target_dir=$CARGO_TARGET_DIR/thumb-debian
else
    ws_manifest=$(cargo locate-project --workspace --message-format plain)
    target_dir=$(dirname "$ws_manifest")/target/thumb-debian
fi

export RUSTC=$DEBIAN_RUSTC
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=$target_dir
export RUST_LLD=$lld
# The target's default linker flavour is gnu-lld; rust-lld or ld.lld both fit (or flip-link
# in front of them, for thumbv6m-none-eabi).
linker_var=CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$TARGET")_LINKER
if [[ -z ${!linker_var:-} ]]; then
    use_flip_link "$lld" || export "$linker_var=$lld"
fi
THUMB_DEBIAN_CLIPPY=1 run_cargo -Zbuild-std=core --target "$TARGET"
