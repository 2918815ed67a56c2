#!/usr/bin/env bash
# Ours against PyTorch + cuDNN on the same GPU, in the same run (see the book's chapter 11 and
# performance appendix).
#
#   engine/benches/gpu_bench.sh build        # here (has Rust): binaries into target/gpu-bundle
#   engine/benches/gpu_bench.sh run          # on the GPU machine, from the repository root
#   DEVICE=cpu SIZES=128 STYLE_SIZES=128 E2E_EVALS=20 BIG_SIZE=1024 engine/benches/gpu_bench.sh run
#                                            # the same steps on the CPU, small (the CPU half)
#
# `build` makes `picasso` without the embedded weights (it reads engine/weights/ at run time)
# and the VGG benchmark, stripped: a few MB, so the 64 MiB working tree can carry them. The GPU
# machine needs the driver, CUDA 13's NVRTC and cuBLAS (found as gpu_check.sh finds them) and
# python3 with torch; PyTorch's twins load the same weight file (safetensors, F16 → F32).
#
# Steps, each ours against PyTorch in FP32 (TF32 off on both) and with TF32 on both:
#   1. VGG16 forward + input gradient to relu5_1 at $SIZES (default 512 1024 2048);
#   2. one style-transfer evaluation (the shared objective) at $STYLE_SIZES (512 1024);
#   3. `picasso stylize`, $E2E_EVALS (1000) L-BFGS evaluations at 512 px, end to end;
#   4. the largest size each can stylize: ours from its memory estimate, checked by a real
#      three-evaluation run at 4096 px; PyTorch by trying 4096, then smaller sizes.
# Prints one table per step with the ratio ours / PyTorch and the peak GPU memory of each.
# Under each measured figure of steps 2 and 3, a line marked `estimate`: what roofline.py
# expects of an H200 (datasheet peaks, assumed launch and round-trip costs) for that size and
# the ledger counts that run measured. Estimated, not measured.
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=target/gpu-bundle
DEVICE=${DEVICE:-cuda}
SIZES=${SIZES:-512 1024 2048}
STYLE_SIZES=${STYLE_SIZES:-512 1024}
E2E_EVALS=${E2E_EVALS:-1000}
BIG_SIZE=${BIG_SIZE:-4096}
EVALS=${EVALS:-10}
HISTORY=${HISTORY:-100}
weights=engine/weights/vgg16-imagenet-f16.safetensors
photo=engine/assets/images/tubingen.jpg
painting=engine/assets/images/starry_night.jpg

build() {
  set -e
  mkdir -p "$bundle"
  cargo build --release -p picasso-engine --no-default-features --bin picasso \
    --target-dir target/no-embed
  strip -o "$bundle/picasso" target/no-embed/release/picasso
  cargo bench --no-run -p picasso-engine --no-default-features --target-dir target/no-embed \
    --bench vgg_conv --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "vgg_conv":
        print(m["executable"])' | tail -1 | xargs -I{} strip -o "$bundle/vgg_conv" {}
  ls -la "$bundle"
}

# The roofline estimate (engine/benches/roofline.py) printed under a measured figure: the
# work of one evaluation at HEIGHT x WIDTH over the H200's datasheet peaks, plus the fixed costs
# of the launches and round trips that LEDGER (this run's counts per evaluation, a JSON file)
# holds. The CPU keeps no ledger: then the estimate has no fixed costs, and says so.
estimate() { # HEIGHT WIDTH fp32|tf32 LEDGER
  case "$1 $2" in
    *[!0-9\ ]* | 0\ * | *\ 0) echo "       estimate: none (the run above gave no image size)"; return ;;
  esac
  local ledger=()
  [ -s "$4" ] && ledger=(--ledger "$4")
  python3 engine/benches/roofline.py --height "$1" --width "$2" --precision "$3" --line \
    ${ledger[@]+"${ledger[@]}"} 2>&1 | sed 's/^/       /'
}

run() {
  if [ "$DEVICE" = cuda ]; then
    # The same library search as the device check.
    # shellcheck source=/dev/null
    export LD_LIBRARY_PATH="$(bash engine/benches/gpu_check.sh libs)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1
  fi
  local has_torch tmp
  has_torch=$(python3 -c "import torch" 2>/dev/null && echo yes || echo no)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  date -u +"%Y-%m-%d %H:%M UTC"

  echo "== 1. VGG16 forward + input gradient to relu5_1 (median ms of 5)"
  printf "%-6s %-5s %10s %10s %7s %10s %10s\n" size prec "ours ms" "torch ms" ratio "ours MB" "torch MB"
  for size in $SIZES; do
    for prec in fp32 tf32; do
      flag=$([ $prec = tf32 ] && echo --tf32 || true)
      ours=$("$bundle/vgg_conv" --net vgg16 --size "$size" --iters 5 --device "$DEVICE" $flag 2>&1 | awk '/^ours/{print $4, $6}')
      theirs=nan
      if [ "$has_torch" = yes ]; then
        theirs=$(python3 engine/benches/vgg_conv_pytorch.py --net vgg16 --size "$size" --iters 5 --device "$DEVICE" $flag 2>&1 | awk '/^pytorch/{print $4, $6}')
      fi
      # fields: size prec ours_ms ours_MB torch_ms torch_MB
      echo "$size $prec ${ours:-nan nan} ${theirs:-nan nan}" |
        awk '{r = ($5 + 0 > 0) ? sprintf("%.2f", $3 / $5) : "n/a"; printf "%-6s %-5s %10s %10s %7s %10s %10s\n", $1, $2, $3, $5, r, $4, $6}'
    done
  done

  # Like with like: both time evaluations EVALS+1..2·EVALS (ours as the difference of two runs,
  # PyTorch inside one), L-BFGS history HISTORY, no line search, no total variation; ours
  # without the checkpoints saved inside the loop (the report's saving_seconds), and peak
  # memory as the most bytes allocated at once on both (our device ledger, PyTorch's
  # max_memory_allocated). Our ledger's counts per evaluation follow each row, then the
  # roofline estimate from them (estimated, not measured: see estimate() below).
  echo "== 2. one style-transfer evaluation (s), evaluations $((EVALS + 1))..$((2 * EVALS)), history $HISTORY"
  printf "%-6s %-5s %12s %12s %7s %10s %10s\n" size prec "ours s/eval" "torch s/eval" ratio "ours MB" "torch MB"
  for size in $STYLE_SIZES; do
    for prec in fp32 tf32; do
      flag=$([ $prec = tf32 ] && echo --tf32 || true)
      for n in "$EVALS" $((2 * EVALS)); do
        "$bundle/picasso" stylize "$photo" "$painting" -o "$tmp/o.png" --size "$size" --iters "$n" --single-scale \
          --precondition none --history-precision f32 --tv-weight 0 --unbounded --history "$HISTORY" --device "$DEVICE" $flag \
          --report "$tmp/r$n.json" --quiet >/dev/null 2>"$tmp/err" ||
          { echo "picasso failed: $(tail -1 "$tmp/err")"; }
      done
      read -r h w ours ours_mb < <(python3 -c "
import json
a, b = (json.load(open(f'$tmp/r{n}.json'))['scales'][0] for n in ($EVALS, 2 * $EVALS))
busy = lambda s: s['seconds'] - s['saving_seconds']
ledger = b.get('device_ledger')
mb = ledger['peak_bytes'] / 2**20 if ledger else float('nan')
print(b['height'], b['width'], (busy(b) - busy(a)) / (b['evaluations'] - a['evaluations']), mb)" 2>/dev/null || echo "0 0 nan nan")
      theirs="nan nan"
      if [ "$has_torch" = yes ]; then
        theirs=$(python3 engine/benches/style_eval_pytorch.py --weights "$weights" --height "$h" --width "$w" \
          --skip "$EVALS" --evals "$EVALS" --history "$HISTORY" --device "$DEVICE" $flag 2>/dev/null |
          python3 -c "import json,sys; d=json.load(sys.stdin); print(d['seconds_per_evaluation'], d['peak_mb'])" || echo "nan nan")
      fi
      echo "$size $prec $ours $theirs $ours_mb" |
        awk '{r = ($4 + 0 > 0) ? sprintf("%.2f", $3 / $4) : "n/a"; printf "%-6s %-5s %12.4f %12s %7s %10.0f %10s\n", $1, $2, $3, $4, r, $6, $5}'
      rm -f "$tmp/ledger.json"
      python3 -c "
import json
a, b = (json.load(open(f'$tmp/r{n}.json'))['scales'][0].get('device_ledger') for n in ($EVALS, 2 * $EVALS))
if a and b:
    n = $EVALS
    d = {k: (b['optimising'][k] - a['optimising'][k]) / n for k in ('launches', 'gemms', 'syncs', 'uploads', 'download_bytes', 'allocations')}
    print('       ledger per evaluation: {launches:.0f} launches, {gemms:.0f} cuBLAS calls, {syncs:.0f} round trips, {uploads:.1f} uploads, {download_bytes:.0f} B down, {allocations:.0f} allocations'.format(**d))
    json.dump(dict(d, history=$HISTORY), open('$tmp/ledger.json', 'w'))" 2>/dev/null
      estimate "$h" "$w" "$prec" "$tmp/ledger.json"
    done
  done

  echo "== 3. picasso stylize, $E2E_EVALS evaluations at 512 px, end to end"
  start=$(date +%s%N)
  "$bundle/picasso" stylize "$photo" "$painting" -o "$tmp/e2e.png" --size 512 --iters "$E2E_EVALS" --single-scale \
    --precondition none --history-precision f32 --device "$DEVICE" --report "$tmp/e2e.json" --quiet >/dev/null 2>"$tmp/err" || echo "failed: $(tail -1 "$tmp/err")"
  wall=$(bash engine/benches/gpu_check.sh elapsed "$start")
  # The measured line, then the estimate from this run's ledger (history 100, the default).
  rm -f "$tmp/ledger.json"
  echo "0 0" >"$tmp/size"
  python3 -c "
import json
r = json.load(open('$tmp/e2e.json'))
s = r['scales'][0]
print(f\"{r['evaluations']} evaluations: {r['seconds']:.1f} s optimising ({1e3 * s['seconds'] / s['evaluations']:.2f} ms each), $wall s wall, final loss {r['total']:.4e}, device {r['settings']['device']}\")
print(s['height'], s['width'], file=open('$tmp/size', 'w'))
if s.get('device_ledger'):
    json.dump(dict(s['device_ledger']['per_evaluation'], history=100), open('$tmp/ledger.json', 'w'))" 2>/dev/null
  read -r h w <"$tmp/size"
  estimate "$h" "$w" fp32 "$tmp/ledger.json"

  echo "== 4. largest stylization"
  "$bundle/picasso" stylize "$photo" "$painting" -o "$tmp/big.png" --size 16384 --iters 3 --single-scale \
    --device "$DEVICE" --quiet 2>&1 | grep -E "What fits|error" | head -3
  "$bundle/picasso" stylize "$photo" "$painting" -o "$tmp/big.png" --size "$BIG_SIZE" --iters 3 --single-scale \
    --device "$DEVICE" --report "$tmp/big.json" --quiet >/dev/null 2>"$tmp/err" &&
    python3 -c "
import json
r = json.load(open('$tmp/big.json'))
m = r['memory']
print(f\"ours at $BIG_SIZE px: ran, estimated {m['estimated_bytes'] / 1e9:.1f} GB of {m['available_bytes'] / 1e9:.1f} GB available, {r['seconds_per_evaluation']:.2f} s/eval\")" ||
    echo "ours at $BIG_SIZE px: $(tail -1 "$tmp/err")"
  if [ "$has_torch" = yes ]; then
    for size in $BIG_SIZE 3072 2048; do
      h=$((size * 3 / 4))
      if out=$(python3 engine/benches/style_eval_pytorch.py --weights "$weights" --height "$h" --width "$size" \
        --evals 3 --device "$DEVICE" 2>&1); then
        echo "pytorch at $size px: ran, peak $(echo "$out" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["peak_mb"] or 0), "MB")')"
        break
      else
        echo "pytorch at $size px: $(echo "$out" | grep -m1 -i 'out of memory' || echo failed)"
      fi
    done
  fi
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
