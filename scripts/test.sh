#!/usr/bin/env bash
# The whole test suite, after installing what it needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Headless Chromium renders `hone bench report --html` in tests/bench_report.rs.
if ! command -v chromium >/dev/null 2>&1; then
  printf '\n==> installing chromium (for the HTML report test)\n' >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi
printf '\n==> validating deploy/kubernetes/*.yaml (kubernetes-validate --strict)\n' >&2
KV_VENV="${HONE_CACHE_DIR:-$HOME/.cache/hone}/venv-kubernetes-validate"
if ! "$KV_VENV/bin/kubernetes-validate" --version >/dev/null 2>&1; then
  python3 -m venv "$KV_VENV"
  "$KV_VENV/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0
fi
"$KV_VENV/bin/kubernetes-validate" --strict --quiet deploy/kubernetes/*.yaml
bash -n deploy/slurm/hone-bench.sbatch

printf '\n==> cargo test --workspace\n' >&2
cargo test --workspace
printf '\n==> cargo test --workspace --examples\n' >&2
cargo test --workspace --examples
