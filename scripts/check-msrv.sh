#!/usr/bin/env bash
# The declared minimum supported Rust version (`rust-version` of the published crates, from
# [workspace.package]) must be at least every dependency's own `rust-version`, and README.md
# must state it. Cheap (one `cargo metadata`, no build): catches a dependency update that
# raises the MSRV without the manifest saying so.
#
# What it cannot catch: a language feature or std API newer than the MSRV in our own code.
# The std APIs are covered by clippy's `incompatible_msrv` lint (it reads `rust-version`; the
# clippy step denies warnings). A compile with the old toolchain itself is not done: rustup
# cannot download older toolchains on the CI machine.
#
# Usage: scripts/check-msrv.sh   (from anywhere; needs cargo and python3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --all-features: optional dependencies (gemm, defmt, embedded-storage) count too; the
# metadata lists every package of the lock file's resolve, for all targets, dev-dependencies
# included (the MSRV is also the oldest toolchain the tests are supported on).
cargo metadata --format-version 1 --all-features --locked | python3 -c '
import json, re, sys

def key(v):
    # "1.89" and "1.89.0" are the same version.
    parts = [int(x) for x in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))

def show(v):
    k = key(v)
    return f"{k[0]}.{k[1]}" if k[2] == 0 else f"{k[0]}.{k[1]}.{k[2]}"

meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
published = [p for p in meta["packages"] if p["id"] in members and p.get("publish") != []]
deps = [p for p in meta["packages"] if p["id"] not in members and p.get("rust_version")]
if not published:
    sys.exit("check-msrv: no published workspace member found")

need = max(key(p["rust_version"]) for p in deps)
top = sorted((p for p in deps if key(p["rust_version"]) == need), key=lambda p: p["name"])
need_s = show(top[0]["rust_version"])
print(f"dependencies need Rust {need_s}: "
      + ", ".join(p["name"] + " " + p["version"] for p in top))

failed = False
for p in published:
    name, declared = p["name"], p.get("rust_version")
    if not declared:
        print(f"FAIL: {name} declares no rust-version")
        failed = True
    elif key(declared) < need:
        print(f"FAIL: {name} declares rust-version {declared}, below its dependencies\x27 "
              f"{need_s}: raise [workspace.package] rust-version (and README.md, CHANGELOG.md)")
        failed = True
    else:
        extra = "" if key(declared) == need else f" (above the dependencies\x27 {need_s})"
        print(f"ok: {name} rust-version {declared}{extra}")

declared = {show(p["rust_version"]) for p in published if p.get("rust_version")}
readme = open("README.md", encoding="utf-8").read()
for v in sorted(declared):
    if not re.search(r"\bRust " + re.escape(v) + r"\b", readme):
        print(f"FAIL: README.md does not state the MSRV as \"Rust {v}\"")
        failed = True
sys.exit(1 if failed else 0)
'
