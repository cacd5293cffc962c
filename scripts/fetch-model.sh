#!/bin/sh
# Downloads pinned local models into ${HONE_CACHE_DIR:-$HOME/.cache/hone}/models
# without the hone CLI. Usage: scripts/fetch-model.sh [qwen2.5-coder-0.5b|smollm2-135m|all]
set -eu
cd "$(dirname "$0")/.."
exec cargo run --quiet -p hone-local --no-default-features --example fetch -- "${1:-all}"
