#!/usr/bin/env bash
# Installs everything hone needs on a fresh Debian machine. Safe to run again:
# every step checks what is already there (sha256-pinned) and skips it.
#
#   - apt packages for building llama.cpp (cmake, clang, libclang-dev)
#   - the Python and JavaScript Wasm guests (scripts/build-guests.sh)
#   - the local models (hone model fetch), sha256-checked
#
# Environment: HONE_CACHE_DIR (default ~/.cache/hone) holds guests, models and
# the response cache; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

need_apt=()
for pkg in cmake clang libclang-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  step "installing apt packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
else
  step "apt packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
fi

step "Wasm guests (Python via componentize-py, JavaScript via QuickJS)"
bash scripts/build-guests.sh

step "local models"
cargo run -q --bin hone -- model fetch qwen2.5-coder-0.5b
cargo run -q --bin hone -- model fetch smollm2-135m
