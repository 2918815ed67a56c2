#!/usr/bin/env bash
# Regenerates the style-transfer pictures in the book (chapters 9 and 10).
# Usage: book/scripts/gallery.sh [defaults|article|knobs [NAME...]|rows|all]   (from the repository root)
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
  # The README's main job exactly: every setting at its default (512 px, 300 evaluations,
  # the embedded f16 VGG16).
  $P stylize "$C" "$S/starry_night.jpg" -o "$OUT/defaults_tubingen_starry_night.jpg" \
    --report "$OUT/defaults_tubingen_starry_night.json" --quiet
}

article() {
  # The article's three paintings at 512 px, coarse to fine (256 → 512), 50 evaluations each.
  for style in udnie starry_night water_lilies; do
    extra=()
    if [ "$style" = starry_night ]; then extra=(--gif "$OUT/tubingen_starry_night.gif"); fi
    $P stylize "$C" "$S/$style.jpg" -o "$OUT/tubingen_$style.jpg" --size 512 --multiscale \
      --iters 50 --report "$OUT/tubingen_$style.json" --quiet "${extra[@]}"
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

rows() {
  # Photo / painting / result side by side, for the results above (chapter 10's example).
  cargo run --release -p chapters-examples --bin ch10_gallery -- --out "$OUT"
}

case "${1:-all}" in
  defaults) defaults ;;
  article) article ;;
  knobs) shift; knobs "$@" ;;
  rows) rows ;;
  all) defaults; article; knobs; rows ;;
  *) echo "usage: $0 [defaults|article|knobs [NAME...]|rows|all]" >&2; exit 2 ;;
esac
