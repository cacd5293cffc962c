#!/usr/bin/env bash
# The real benchmark runs of docs/results (issue 11), one after another,
# with the embedded local model. Every step is a resumable `hone bench run`:
# run this script again after an interruption and it continues where each
# run stopped. Takes many hours on 2 cores.
#
#   bash scripts/bench-real-runs.sh [OUT_DIR]     (default: .hone/bench)
#
# Budget: 4 model calls per problem for every strategy but single-shot (1).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-.hone/bench}"
mkdir -p "$OUT"
cargo build --release --bin hone
HONE=target/release/hone
[ -n "${CARGO_TARGET_DIR:-}" ] && HONE="$CARGO_TARGET_DIR/release/hone"

# Four items at a time share the local model's batch (about 1.7x the
# throughput of one at a time on 2 cores).
run() { "$HONE" bench run "$@" --jobs 4; }

run humaneval --out "$OUT/he-single-shot" --strategy single-shot
run humaneval --out "$OUT/he-self-refine" --strategy self-refine --max-calls 4
run humaneval --out "$OUT/he-best-of-n" --strategy best-of-n --n 4 --max-calls 4
run humaneval --out "$OUT/he-rethink-mcts" --strategy rethink-mcts --max-calls 4
run gsm8k --limit 200 --out "$OUT/gsm-single-shot" --strategy single-shot
run gsm8k --limit 200 --out "$OUT/gsm-self-refine" --strategy self-refine --max-calls 4
run gsm8k --limit 200 --out "$OUT/gsm-best-of-n" --strategy best-of-n --n 4 --max-calls 4

for s in self-refine best-of-n rethink-mcts; do
  "$HONE" bench compare "$OUT/he-single-shot" "$OUT/he-$s"
done
for s in self-refine best-of-n; do
  "$HONE" bench compare "$OUT/gsm-single-shot" "$OUT/gsm-$s"
done
"$HONE" bench report "$OUT"/he-* --html "$OUT/humaneval.html"
"$HONE" bench report "$OUT"/gsm-* --html "$OUT/gsm8k.html"
