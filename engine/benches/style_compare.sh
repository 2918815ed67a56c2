#!/usr/bin/env bash
# Seconds per style-transfer evaluation: `picasso stylize` against PyTorch, same machine,
# same run, same objective (VGG16 to relu5_1, content + 5 Gram terms, L-BFGS history 100).
# Usage (from the repository root): engine/benches/style_compare.sh [EVALS] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${PICASSO_SHARED:-../shared}"
EVALS="${1:-10}"; shift || true
SIZES=("${@:-256 512}")
THREADS="${THREADS:-$(nproc)}"
cargo build --release --bin picasso >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf "%-6s %-10s %14s %14s %8s\n" size "HxW" "ours s/eval" "torch s/eval" ratio
for size in ${SIZES[@]}; do
  target/release/picasso stylize "$SHARED/images/content/tubingen.jpg" \
    "$SHARED/images/style/starry_night.jpg" -o "$tmp/out.png" --size "$size" \
    --iters "$EVALS" --tv-weight 0 --weights "$SHARED/weights/vgg16-imagenet.safetensors" \
    --report "$tmp/r.json" --quiet 2>/dev/null >/dev/null
  read -r h w ours < <(python3 -c "import json;r=json.load(open('$tmp/r.json'));s=r['scales'][0];print(s['height'],s['width'],r['seconds_per_evaluation'])")
  if python3 -c "import torch" 2>/dev/null; then
    theirs=$(python3 engine/benches/style_eval_pytorch.py --weights "$SHARED/weights/vgg16-imagenet.safetensors" \
      --height "$h" --width "$w" --evals "$EVALS" --threads "$THREADS" 2>/dev/null \
      | python3 -c "import json,sys;print(json.load(sys.stdin)['seconds_per_evaluation'])")
    ratio=$(python3 -c "print(f'{$ours/$theirs:.2f}')")
  else
    theirs="n/a"; ratio="n/a (no torch)"
  fi
  printf "%-6s %-10s %14.3f %14s %8s\n" "$size" "${h}x${w}" "$ours" "$theirs" "$ratio"
done
