#!/usr/bin/env python3
"""Which spatial frequencies a run still changes: the power spectrum of `final − frame`.

When a long run creeps towards its end, is it still moving large areas (low frequencies, which
a coarser size or a smoothing preconditioner would reach sooner) or refining strokes and texture
(high frequencies, which only the full size holds)? Give it the final picture and the frames a
run saved on the way (`picasso stylize … --save-every 50`); for each frame it prints the RMS
change still to come, in 8-bit levels, and how that change's power splits over octaves of
radial frequency (cycles per pixel; 0.5 is the finest a row of pixels holds). White noise would
put about 80 % in the last band; a change of large areas puts most of it in the first ones.

Usage: change_spectrum.py FINAL.png FRAME.png [FRAME.png ...]   (needs numpy and Pillow)
"""
import sys

import numpy as np
from PIL import Image

EDGES = [0, 1 / 128, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1]
LABELS = ["<1/128", "<1/64", "<1/32", "<1/16", "<1/8", "<1/4", "≥1/4"]


def load(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def octave_shares(change: np.ndarray) -> list[float]:
    """Fraction of the change's power in each band of radial frequency, all channels."""
    power = np.abs(np.fft.fft2(change, axes=(0, 1))) ** 2
    h, w, _ = change.shape
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    total = power.sum()
    return [power[(radius >= lo) & (radius < hi)].sum() / total for lo, hi in zip(EDGES, EDGES[1:])]


def main(args: list[str]) -> int:
    if len(args) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    final = load(args[0])
    print(f"| frame | RMS change to come | {' | '.join(LABELS)} |")
    print("| --- | ---: |" + " ---: |" * len(LABELS))
    for path in args[1:]:
        frame = load(path)
        if frame.shape != final.shape:
            print(f"{path}: {frame.shape[1]}×{frame.shape[0]}, not the final picture's size", file=sys.stderr)
            return 2
        change = final - frame
        shares = " | ".join(f"{s:.2f}" for s in octave_shares(change))
        print(f"| {path} | {np.sqrt((change ** 2).mean()):.2f} | {shares} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
