#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench, llama-batched-bench and llama-server
# from the llama.cpp tree inside the pinned llama-cpp-python source
# distribution, for side-by-side anchors in `cargo bench -p hone-local
# --bench local_model`. Idempotent: the binaries are cached under
# ${HONE_CACHE_DIR:-~/.cache/hone}/llamacpp/; prints their directory.
set -euo pipefail
VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CACHE="${HONE_CACHE_DIR:-$HOME/.cache/hone}/llamacpp"
SRC="$CACHE/llama_cpp_python-$VERSION"
BUILD="$CACHE/build-$VERSION-avx2"
BIN="$BUILD/bin"
mkdir -p "$CACHE"
if [[ -x "$BIN/llama-bench" && -x "$BIN/llama-batched-bench" && -x "$BIN/llama-server" ]]; then
  echo "$BIN"
  exit 0
fi
command -v cmake >/dev/null || { echo "cmake is needed (apt-get install cmake)" >&2; exit 1; }
TARBALL="$CACHE/llama_cpp_python-$VERSION.tar.gz"
if ! echo "$SHA256  $TARBALL" | sha256sum -c --status 2>/dev/null; then
  python3 -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$CACHE.tmp" >&2
  mv "$CACHE.tmp/llama_cpp_python-$VERSION.tar.gz" "$TARBALL"
  rmdir "$CACHE.tmp" 2>/dev/null || true
  echo "$SHA256  $TARBALL" | sha256sum -c --status || {
    echo "llama-cpp-python $VERSION: sha256 mismatch" >&2; exit 1; }
fi
[[ -d "$SRC" ]] || tar xzf "$TARBALL" -C "$CACHE"
# Build-info reads the commit from git; the sdist carries a .git of its
# own, so say which llama.cpp this is explicitly.
# The CPU level hone's own llama.cpp gets from llama-cpp-sys-2
# (GGML_NATIVE=OFF with ggml's default AVX, AVX2, FMA, F16C), so the
# comparison is of the engines, not of compiler flags. (A GGML_NATIVE=ON
# build's llama-bench died with SIGILL on these virtual machines.)
cmake -S "$SRC/vendor/llama.cpp" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON >&2
cmake --build "$BUILD" -j "$(nproc)" --target llama-bench llama-batched-bench llama-server >&2
echo "$BIN"
