#!/usr/bin/env python3
"""Print a timing table of chapter 10 from the gallery's JSON reports.

Usage: gallery_table.py [DIR] [PREFIX]   e.g. `gallery_table.py book/src/images/gallery knob_`
"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book/src/images/gallery")
prefix = sys.argv[2] if len(sys.argv) > 2 else ""
# Short headings keep the table inside the page at 1280 px; ch10 says what each column is.
print("| picture | sizes | evals | seconds | s/eval | final loss |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for report in sorted(out.glob(f"{prefix}*.json")):
    r = json.loads(report.read_text())
    sizes = " → ".join(f"{s['width']}×{s['height']}" for s in r["scales"])
    print(f"| {report.stem} | {sizes} | {r['evaluations']} | {r['seconds']:.0f} | "
          f"{r['seconds_per_evaluation']:.2f} | {r['total']:.4g} |")
