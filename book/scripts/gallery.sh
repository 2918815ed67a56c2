#!/usr/bin/env bash
# Regenerates the style-transfer pictures in the book (chapters 9 and 10).
# Usage: book/scripts/gallery.sh [defaults|article|knobs [NAME...]|control|bounds|rows|all]
# (from the repository root)
# Each run writes its image and a JSON report (loss terms, timings) beside it. The inputs are the
# example photo and paintings in engine/assets/images/ (byte-for-byte the shared ones).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=book/src/images/gallery
mkdir -p "$OUT"
cargo build --release --bin picasso
P=target/release/picasso
C=engine/assets/images/tubingen.jpg
S=engine/assets/images

defaults() {
  # The README's main job exactly: every setting at its default (512 px coarse to fine: 75
  # evaluations at 256 px, then 300 at 512 px; L-BFGS with its coarse preconditioner; the
  # embedded f16 VGG16).
  $P stylize "$C" "$S/starry_night.jpg" -o "$OUT/defaults_tubingen_starry_night.jpg" \
    --report "$OUT/defaults_tubingen_starry_night.json" --quiet
}

article() {
  # The article's three paintings at 512 px, coarse to fine (256 → 512), 50 evaluations each.
  for style in udnie starry_night water_lilies; do
    extra=()
    if [ "$style" = starry_night ]; then extra=(--gif "$OUT/tubingen_starry_night.gif"); fi
    $P stylize "$C" "$S/$style.jpg" -o "$OUT/tubingen_$style.jpg" --size 512 --multiscale 256:50,512:50 \
      --report "$OUT/tubingen_$style.json" --quiet "${extra[@]}"
  done
}

knobs() {
  # One knob at a time against a 192 px baseline (Starry Night, 60 evaluations).
  # Optional arguments name the knobs to (re)make, e.g. `gallery.sh knobs tv_100 adam`.
  local wanted=" $* "
  base=(--size 192 --iters 60 --quiet)
  run() {
    local name=$1; shift
    if [ "$wanted" != "  " ] && [[ "$wanted" != *" $name "* ]]; then return; fi
    $P stylize "$C" "$@" -o "$OUT/knob_$name.jpg" --report "$OUT/knob_$name.json" "${base[@]}"
  }
  run baseline        "$S/starry_night.jpg"
  run style_1e1       "$S/starry_night.jpg" --style-weight 10
  run style_1e5       "$S/starry_night.jpg" --style-weight 100000
  run tv_100          "$S/starry_night.jpg" --tv-weight 100
  run avg_pool        "$S/starry_night.jpg" --pooling avg
  run original_colors "$S/starry_night.jpg" --original-colors
  run luminance_only  "$S/starry_night.jpg" --luminance-only
  run shallow_layers  "$S/starry_night.jpg" --style-layers relu1_1,relu2_1
  run style_scale_05  "$S/starry_night.jpg" --style-scale 0.5
  run noise_init      "$S/starry_night.jpg" --init noise --seed 1
  run adam            "$S/starry_night.jpg" --optimizer adam
  run blend           "$S/starry_night.jpg" "$S/the_scream.jpg" --style-blend 0.5,0.5
}

# A greyscale PNG, white where `python-expression(x, y, w, h)` holds (no imaging library needed).
mask() {
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import struct, sys, zlib
path, w, h, rule = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
inside = lambda x, y: eval(rule, {"x": x, "y": y, "w": w, "h": h})
rows = b"".join(b"\0" + bytes(255 if inside(x, y) else 0 for x in range(w)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
open(path, "wb").write(png + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
}

control() {
  # Chapter 10's "controlling the result": pixel bounds, masks, colour transfer.
  base=(--size 192 --iters 60 --quiet)
  # Colour: the painting recoloured to the photo's palette before the transfer.
  for mode in histogram mean-cov; do
    $P stylize "$C" "$S/starry_night.jpg" --color-transfer "$mode" -o "$OUT/knob_color_$mode.jpg" \
      --report "$OUT/knob_color_$mode.json" "${base[@]}"
  done
  # Masks (the photo is 4:3): Starry Night in the sky only; Udnie left, Water Lilies right.
  mask "$OUT/mask_sky.png" 400 300 "y < 0.42 * h"
  mask "$OUT/mask_left.png" 400 300 "x < w // 2"
  mask "$OUT/mask_right.png" 400 300 "x >= w // 2"
  $P stylize "$C" "$S/starry_night.jpg" --style-mask "starry_night.jpg=$OUT/mask_sky.png" \
    -o "$OUT/mask_sky_starry_night.jpg" --report "$OUT/mask_sky_starry_night.json" "${base[@]}"
  $P stylize "$C" "$S/udnie.jpg" "$S/water_lilies.jpg" --style-mask "udnie.jpg=$OUT/mask_left.png" \
    --style-mask "water_lilies.jpg=$OUT/mask_right.png" -o "$OUT/mask_udnie_water_lilies.jpg" \
    --report "$OUT/mask_udnie_water_lilies.json" "${base[@]}"
  bounds
}

bounds() {
  # The clamping gap on the shared comparison problem (docs/objective.md: 256 px, 100 L-BFGS
  # evaluations, beta 1000, gamma 0, the shared f32 VGG16, classic L-BFGS as PyTorch's, without
  # the preconditioner): what each run reports, and what its
  # saved file scores when read back (one evaluation starting from it). PyTorch's own saved
  # result is scored the same way. Needs ../shared (or PICASSO_SHARED).
  local R="${PICASSO_SHARED:-../shared}/reference" W="${PICASSO_SHARED:-../shared}/weights/vgg16-imagenet.safetensors"
  [ -f "$W" ] || { echo "bounds: no shared data, skipped"; return; }
  local common=("$R/tubingen_starry_content_256.png" "$R/tubingen_starry_style_256.png" --size 256
    --tv-weight 0 --precondition none --history-precision f32 --weights "$W" --device cpu --quiet)
  for mode in bounded unbounded; do
    flag=(); [ $mode = unbounded ] && flag=(--unbounded)
    $P stylize "${common[@]}" --iters 100 "${flag[@]}" -o "$OUT/bounds_$mode.png" \
      --report "$OUT/bounds_$mode.json"
    $P stylize "${common[@]}" --iters 1 --init "$OUT/bounds_$mode.png" -o "$OUT/bounds_rescore.png" \
      --report "$OUT/bounds_${mode}_saved.json"
  done
  $P stylize "${common[@]}" --iters 1 --init "$R/tubingen_starry_pytorch_256.png" \
    -o "$OUT/bounds_rescore.png" --report "$OUT/bounds_pytorch_saved.json"
  rm -f "$OUT/bounds_rescore.png" "$OUT/bounds_rescore.json"
  # The table chapter 9 includes (book/src/outputs/gallery_bounds.md), from these reports.
  python3 "$(dirname "$0")/gallery_table.py" --dir "$OUT" bounds
}

rows() {
  # Photo / painting / result side by side, for the results above (chapter 10's example).
  cargo run --release -p chapters-examples --bin ch10_gallery -- --out "$OUT"
}

case "${1:-all}" in
  defaults) defaults ;;
  article) article ;;
  knobs) shift; knobs "$@" ;;
  control) control ;;
  bounds) bounds ;;
  rows) rows ;;
  all) defaults; article; knobs; control; rows ;;
  *) echo "usage: $0 [defaults|article|knobs [NAME...]|control|bounds|rows|all]" >&2; exit 2 ;;
esac
