#!/usr/bin/env python3
"""The appendix's tables against PyTorch, taken from the benchmark log.

engine/benches/RESULTS.md is where every benchmark run is recorded, with its command. The
appendix includes the latest table of each kind from it, so the book never holds a copy of its
own: after logging a new run, run this script (no argument) to write book/src/outputs/.

Usage: bench_tables.py          write book/src/outputs/bench_NAME.md
       bench_tables.py NAME     print one table (the book test compares it with the file)
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
LOG = ROOT / "engine/benches/RESULTS.md"
# Each table: the header it starts with in the log. The last one in the log is the latest.
TABLES = {
    "vgg_compare": "| net | size | ours ms/iter | ours GFLOP/s | ours peak MB |",
    "style_compare": "| size | ours s/eval | PyTorch s/eval |",
    "heap": "| malloc | median wall s |",
    "bf16": "| bf16 variant | paired wall, variant / f32 |",
    "gram": "| C × M | general SGEMM ms | symmetric panels ms |",
    "gram_runs": "| round | before s/eval | Gram s/eval |",
    "gram_backward": "| C × M | (Ḡ + Ḡᵀ)·F, general SGEMM ms |",
    "gram_backward_runs": "| round | before s/eval | panel backward s/eval |",
    "release_pages": "| run | peak before MiB | peak after MiB |",
    "schedules": "| variant (Tübingen / Starry Night, 512 px) |",
    "change_spectrum": "| frame (512 px evaluations done) | RMS change to come |",
    "winograd_blocks": "| measured (512 px) | bands, median | blocks, median |",
    "preconditioner": "| preconditioner M (single size, 512 px) |",
    "preconditioner_schedule": "| pair (the default schedule) | M |",
    "precondition_runs": "| pair (default schedule) | `--precondition` |",
    "preconditioner_levels": "| M (the engine's block means, single size, 512 px) |",
    "pool_gemm_mask": "| change (session 12, 512 px) |",
    "winograd_tiles": "| tile (512 px) | `vgg_conv` pass ms, 2 rounds |",
    "band_weights": "| change (512 px, 30 evaluations) | rounds |",
    "bf16_again": "| `--bf16` (session 13, 512 px, 30 evaluations) |",
    "bf16_curves": "| pair (quality curve, session 13) |",
    "history_bf16_step": "| history of 100 pairs at 512 × 384 |",
    "history_bf16_runs": "| round (512 px, 160 evaluations) |",
    "history_bf16_quality": "| pair (default schedule) | history |",
}


def latest(header: str) -> str:
    lines = LOG.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    if not starts:
        raise SystemExit(f"{LOG}: no table starting with {header!r}")
    table = []
    for line in lines[starts[-1]:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table) + "\n"


def main(args: list[str]) -> int:
    if args:
        if args[0] not in TABLES:
            print(f"unknown table {args[0]!r}; tables: {', '.join(TABLES)}", file=sys.stderr)
            return 2
        sys.stdout.write(latest(TABLES[args[0]]))
        return 0
    for name, header in TABLES.items():
        path = ROOT / f"book/src/outputs/bench_{name}.md"
        path.write_text(latest(header))
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
