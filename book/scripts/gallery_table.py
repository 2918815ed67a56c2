#!/usr/bin/env python3
"""Print the timing tables of chapter 10 from the gallery's JSON reports."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "book/src/images/gallery")
print("| picture | sizes | evaluations | seconds | s/evaluation | final loss (α·Lc + β·Ls + γ·Ltv) |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for report in sorted(out.glob("*.json")):
    r = json.loads(report.read_text())
    sizes = " → ".join(f"{s['width']}×{s['height']}" for s in r["scales"])
    print(f"| {report.stem} | {sizes} | {r['evaluations']} | {r['seconds']:.0f} | "
          f"{r['seconds_per_evaluation']:.2f} | {r['total']:.4g} |")
