#!/usr/bin/env python3
"""Chapter 10's timing tables, made from the gallery's JSON reports.

Usage:
  gallery_table.py                 write every table to book/src/outputs/gallery_NAME.md
  gallery_table.py NAME            print one table (the book test compares it with the file)
                                   NAME: article, defaults, knobs, control, or bounds (chapter
                                   9's clamping gap; needs the shared PyTorch reference)
  gallery_table.py --dir DIR ...   read the reports from DIR (default book/src/images/gallery)

The chapter includes the files, so its numbers are the reports' numbers: after
`book/scripts/gallery.sh` has made pictures again, run this script with no argument.
"""
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Which runs each table of chapter 10 shows, in order.
TABLES = {
    "article": ["tubingen_starry_night", "tubingen_udnie", "tubingen_water_lilies"],
    "defaults": ["defaults_tubingen_starry_night"],
    "knobs": [
        "knob_adam", "knob_avg_pool", "knob_baseline", "knob_blend", "knob_luminance_only",
        "knob_noise_init", "knob_original_colors", "knob_shallow_layers", "knob_style_1e1",
        "knob_style_1e5", "knob_style_scale_05", "knob_tv_100",
    ],
    "control": [
        "knob_color_histogram", "knob_color_mean-cov", "mask_sky_starry_night",
        "mask_udnie_water_lilies",
    ],
}


def table(reports: pathlib.Path, names: list[str], steps: bool = False) -> str:
    # Short headings keep the table inside the page at 1280 px; ch10 says what each column is.
    # With `steps`, also how the evaluations were spent: L-BFGS's steps (the evaluations less
    # each size's start and the line search's extra trials) and how often it forgot its
    # history, over all sizes.
    head = "| picture | sizes | evals | seconds | s/eval | final loss |"
    rule = "| --- | --- | ---: | ---: | ---: | ---: |"
    if steps:
        head, rule = head + " steps | history restarts |", rule + " ---: | ---: |"
    lines = [head, rule]
    for name in names:
        r = json.loads((reports / f"{name}.json").read_text())
        sizes = " → ".join(f"{s['width']}×{s['height']}" for s in r["scales"])
        row = (
            f"| {name} | {sizes} | {r['evaluations']} | {r['seconds']:.0f} | "
            f"{r['seconds_per_evaluation']:.2f} | {r['total']:.4g} |"
        )
        if steps:
            row += (
                f" {sum(s['steps'] for s in r['scales'])} |"
                f" {sum(s['history_restarts'] for s in r['scales'])} |"
            )
        lines.append(row)
    return "\n".join(lines) + "\n"


def bounds_table(reports: pathlib.Path) -> str:
    """Chapter 9's clamping gap: what each run reports, and what its saved file scores when read
    back (`gallery.sh bounds`), against PyTorch's run of the shared problem."""
    shared = pathlib.Path(os.environ.get("PICASSO_SHARED", ROOT.parent / "shared"))
    reference = json.loads((shared / "reference/tubingen_starry_pytorch_256.json").read_text())
    total = lambda name: json.loads((reports / f"{name}.json").read_text())["total"]
    rows = [
        ("PyTorch (unconstrained)", reference["total"], total("bounds_pytorch_saved")),
        ("picasso `--unbounded`", total("bounds_unbounded"), total("bounds_unbounded_saved")),
        ("picasso (bounded, strong-Wolfe: the default)", total("bounds_bounded"),
         total("bounds_bounded_saved")),
    ]
    lines = [
        "| run | loss it reports | loss of the saved PNG | saved / reported "
        "| saved / PyTorch's reported |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, reported, saved in rows:
        lines.append(
            f"| {name} | {reported:,.0f} | {saved:,.0f} | {saved / reported:.2f} "
            f"| {saved / reference['total']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def make(reports: pathlib.Path, name: str) -> str:
    if name == "bounds":
        return bounds_table(reports)
    return table(reports, TABLES[name], steps=name == "defaults")


def main(args: list[str]) -> int:
    reports = ROOT / "src/images/gallery"
    if args[:1] == ["--dir"]:
        reports, args = pathlib.Path(args[1]), args[2:]
    if args:
        if args[0] not in [*TABLES, "bounds"]:
            print(f"unknown table {args[0]!r}; tables: {', '.join(TABLES)}, bounds", file=sys.stderr)
            return 2
        sys.stdout.write(make(reports, args[0]))
        return 0
    for name in [*TABLES, "bounds"]:
        path = ROOT / f"src/outputs/gallery_{name}.md"
        path.write_text(make(reports, name))
        print(f"wrote {path.relative_to(ROOT.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
