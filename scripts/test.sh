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

# The SARIF 2.1.0 JSON schema (Microsoft's copy in its @microsoft/jest-sarif
# npm package, sha256-pinned) validates `hone review --format sarif` in
# tests/cli_review.rs.
SARIF_DIR="${HONE_CACHE_DIR:-$HOME/.cache/hone}/sarif"
SARIF_PKG="@microsoft/jest-sarif@1.0.0-beta.0"
SARIF_TGZ_SHA256="748e2c3d1a842e7bb258416685c7ea3a0da40005b72267b2052c2856d48ad102"
SARIF_SCHEMA_SHA256="2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8"
export HONE_SARIF_SCHEMA="$SARIF_DIR/sarif-schema-2.1.0.json"
if ! echo "$SARIF_SCHEMA_SHA256  $HONE_SARIF_SCHEMA" | sha256sum -c --status 2>/dev/null; then
  printf '\n==> fetching the SARIF 2.1.0 schema (%s)\n' "$SARIF_PKG" >&2
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >&2
  fi
  rm -rf "$SARIF_DIR.tmp" && mkdir -p "$SARIF_DIR.tmp"
  (cd "$SARIF_DIR.tmp" && npm pack --silent "$SARIF_PKG" >/dev/null)
  echo "$SARIF_TGZ_SHA256  $(ls "$SARIF_DIR.tmp"/*.tgz)" | sha256sum -c --quiet
  tar -xzf "$SARIF_DIR.tmp"/*.tgz -C "$SARIF_DIR.tmp" package/lib/schemas/sarif-2.1.0-rtm.5.json
  mkdir -p "$SARIF_DIR"
  mv "$SARIF_DIR.tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$HONE_SARIF_SCHEMA"
  rm -rf "$SARIF_DIR.tmp"
  echo "$SARIF_SCHEMA_SHA256  $HONE_SARIF_SCHEMA" | sha256sum -c --quiet
fi

printf '\n==> cargo test --workspace\n' >&2
cargo test --workspace
printf '\n==> cargo test --workspace --examples\n' >&2
cargo test --workspace --examples
