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

row() { awk '{printf "%-8s %-6s %5s %9s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7}'; }
echo "impl net size ms/iter GFLOP/s peak_MB cpu_ms" | row
echo "$ours" | row
if [ -n "$theirs" ]; then
  echo "$theirs" | row
  paste <(echo "$ours") <(echo "$theirs") | awk '{printf "ours/PyTorch: wall time %.2f, CPU time %.2f, peak memory %.2f\n", $4 / $11, $7 / $14, $6 / $13}'
else
  echo "pytorch: torch not importable, no measurement"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
