#!/usr/bin/env bash
# The whole test suite, after installing what it needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n==> cargo test --workspace\n' >&2
cargo test --workspace
printf '\n==> cargo test --workspace --examples\n' >&2
cargo test --workspace --examples
