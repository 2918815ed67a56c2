#!/usr/bin/env bash
# Seconds per style-transfer evaluation: `picasso stylize` against PyTorch, same machine,
# same run, same objective (VGG16 to relu5_1, content + 5 Gram terms, L-BFGS history 100 without a
# preconditioner, as PyTorch's).
# Usage (from the repository root): engine/benches/style_compare.sh [EVALS] [SIZES...]
# ROUNDS=N (default 3) alternates the two programs N times per size and reports medians and
# the median of the round-by-round ratios: these machines' speed drifts by ±20 % from one
# minute to the next, so single runs are not worth quoting. OURS_FLAGS adds settings to ours
# (e.g. OURS_FLAGS="--bf16 backward").
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${PICASSO_SHARED:-../shared}"
EVALS="${1:-10}"; shift || true
SIZES=("${@:-256 512}")
THREADS="${THREADS:-$(nproc)}"
ROUNDS="${ROUNDS:-3}"
cargo build --release --bin picasso >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
has_torch=$(python3 -c "import torch" 2>/dev/null && echo yes || echo no)

# Ours: EVALS and 2·EVALS evaluations, and the difference, so that start-up and the first
# evaluation's one-off costs (loading and transforming the weights) are left out — as the
# PyTorch script leaves out its warm-up call. `--unbounded` runs the same method as the PyTorch
# script (unconstrained L-BFGS, fixed steps).
ours() {
  local size=$1 n
  for n in "$EVALS" $((2 * EVALS)); do
    target/release/picasso stylize "$SHARED/images/content/tubingen.jpg" \
      "$SHARED/images/style/starry_night.jpg" -o "$tmp/out.png" --size "$size" \
      --iters "$n" --single-scale --precondition none --history-precision f32 --tv-weight 0 --unbounded --weights "$SHARED/weights/vgg16-imagenet.safetensors" \
      --report "$tmp/r$n.json" --quiet ${OURS_FLAGS:-} 2>/dev/null >/dev/null
  done
  python3 -c "
import json
a, b = (json.load(open(f'$tmp/r{n}.json')) for n in ($EVALS, 2 * $EVALS))
s = b['scales'][0]
print(s['height'], s['width'], (b['seconds'] - a['seconds']) / (b['evaluations'] - a['evaluations']))"
}

theirs() {
  python3 engine/benches/style_eval_pytorch.py --weights "$SHARED/weights/vgg16-imagenet.safetensors" \
    --height "$1" --width "$2" --evals "$EVALS" --threads "$THREADS" 2>/dev/null \
    | python3 -c "import json,sys;print(json.load(sys.stdin)['seconds_per_evaluation'])"
}

printf "%-6s %-10s %14s %14s %8s   %s\n" size "HxW" "ours s/eval" "torch s/eval" ratio "(medians of $ROUNDS rounds; ratio = median of per-round ratios)"
for size in ${SIZES[@]}; do
  : >"$tmp/rounds"
  for _ in $(seq "$ROUNDS"); do
    read -r h w o < <(ours "$size")
    t=$([ "$has_torch" = yes ] && theirs "$h" "$w" || echo nan)
    echo "$h $w $o $t" >>"$tmp/rounds"
  done
  python3 - "$tmp/rounds" "$size" <<'EOF'
import math, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
h, w = rows[0][0], rows[0][1]
ours = [float(r[2]) for r in rows]
theirs = [float(r[3]) for r in rows]
med = statistics.median
if any(math.isnan(t) for t in theirs):
    print(f"{sys.argv[2]:<6} {h + 'x' + w:<10} {med(ours):14.3f} {'n/a':>14} {'n/a (no torch)':>8}")
else:
    ratio = med(o / t for o, t in zip(ours, theirs))
    print(f"{sys.argv[2]:<6} {h + 'x' + w:<10} {med(ours):14.3f} {med(theirs):14.3f} {ratio:8.2f}"
          f"   ours {[round(o, 3) for o in ours]}, torch {[round(t, 3) for t in theirs]}")
EOF
done
