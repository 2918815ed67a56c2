#!/usr/bin/env bash
# Run the Rust and the PyTorch VGG benchmarks on the same settings and print them side by side.
#   engine/benches/compare.sh [vgg16|vgg19] [256|512] [iters]
# Uses CARGO_TARGET_DIR if set. Without torch, only our row is printed.
set -euo pipefail
net=${1:-vgg19}
size=${2:-256}
iters=${3:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

ours=$(cargo bench -q -p picasso-engine --bench vgg_conv -- --net "$net" --size "$size" --iters "$iters" 2>/dev/null | grep '^ours')
theirs=$(python3 engine/benches/vgg_conv_pytorch.py --net "$net" --size "$size" --iters "$iters" 2>/dev/null | grep '^pytorch' || true)

echo "$ours" | awk '{printf "%-8s %-6s %5s %9s %8s %8s\n", "impl", "net", "size", "ms/iter", "GFLOP/s", "peak_MB"}'
echo "$ours" | awk '{printf "%-8s %-6s %5s %9s %8s %8s\n", $1, $2, $3, $4, $5, $6}'
if [ -n "$theirs" ]; then
  echo "$theirs" | awk '{printf "%-8s %-6s %5s %9s %8s %8s\n", $1, $2, $3, $4, $5, $6}'
  o=$(echo "$ours" | awk '{print $4}')
  t=$(echo "$theirs" | awk '{print $4}')
  awk -v o="$o" -v t="$t" 'BEGIN {printf "ratio ours/PyTorch (time): %.2f\n", o / t}'
else
  echo "pytorch: torch not importable, no measurement"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
