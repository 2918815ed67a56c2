#!/usr/bin/env python3
"""Full-resolution loss against wall-clock time: picasso's default (coarse to fine, L-BFGS with
its preconditioner and its history in bf16), picasso single-scale with the classic L-BFGS
(`--precondition none --history-precision f32`, the algorithm PyTorch runs), and PyTorch's
L-BFGS, run back to back on the same machine.

For each photo/painting pair, all three paint the same problem: the shared objective of
shared/docs/objective.md (alpha 1, beta 1000, gamma 0) at SIZE px on the shared f32 VGG16,
from the photo, with the pair first resized once (by this script, with PIL) so that every
program reads the same pixels. Every 10 evaluations each run leaves a picture (picasso: the
frames of --save-every 10; PyTorch: a copy of its image clamped to 0..255 and rounded, as a
saved PNG would be), stamped with the wall-clock seconds since its process was launched. Then
every picture is re-scored here, by this file's own PyTorch implementation of the objective,
at SIZE px (a coarse frame is upsampled first): the loss of the picture a user would get by
stopping there.

    ~/.cache/picasso-torch-venv/bin/python engine/benches/quality_curve.py \
        --picasso target/release/picasso --size 512 --out /tmp/quality-curve

Writes OUT/curves.json (every point), OUT/summary.md (the table the book includes) and one
figure per pair, OUT/curve_PAIR.png. PyTorch runs with 2 threads, history 100, lr 1, no line
search (its defaults) for --evals evaluations; picasso with its defaults otherwise.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MEAN = [123.68, 116.779, 103.939]
EVERY = 10


def resized(src, size, dst):
    """The picture with its long side `size` (PIL's Lanczos), as an 8-bit RGB PNG."""
    from PIL import Image

    im = Image.open(src).convert("RGB")
    scale = size / max(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    im.save(dst)
    return dst


def to_tensor(path, like=None):
    import numpy as np
    import torch
    from PIL import Image

    im = Image.open(path).convert("RGB")
    if like is not None and im.size != like:
        im = im.resize(like, Image.BICUBIC)
    x = torch.from_numpy(np.asarray(im, dtype=np.float32).copy()).permute(2, 0, 1)[None]
    return (x - torch.tensor(MEAN).reshape(1, 3, 1, 1)).contiguous()


class Scorer:
    """The shared objective at full size, gamma = 0."""

    def __init__(self, weights, content, style):
        import torch
        from style_eval_pytorch import CONTENT, STYLE, features, gram, load_safetensors

        self.features, self.gram, self.layers, self.content_layer = features, gram, STYLE, CONTENT
        self.w = load_safetensors(weights)
        self.wanted = STYLE + [CONTENT]
        with torch.no_grad():
            self.content = features(content, self.w, self.wanted)[CONTENT]
            fs = features(style, self.w, self.wanted)
            self.grams = {l: gram(fs[l]) for l in STYLE}

    def loss(self, x):
        f = self.features(x, self.w, self.wanted)
        lc = ((f[self.content_layer] - self.content) ** 2).mean()
        ls = sum(((self.gram(f[l]) - self.grams[l]) ** 2).mean()
                 for l in self.layers) / len(self.layers)
        return lc + 1000.0 * ls

    def score(self, path, size):
        import torch

        with torch.no_grad():
            return float(self.loss(to_tensor(path, like=size)))


def torch_run(a):
    """PyTorch's L-BFGS, as a process of its own; prints (seconds, evaluation) per snapshot."""
    import numpy as np
    import torch
    from PIL import Image

    launched = a.launched
    torch.set_num_threads(2)
    content, style = to_tensor(a.content), to_tensor(a.style)
    scorer = Scorer(a.weights, content, style)
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, history_size=100, max_iter=a.evals,
                            max_eval=a.evals, tolerance_grad=-1, tolerance_change=-1)
    evals, paused = 0, 0.0
    out = Path(a.frames)

    def closure():
        nonlocal evals, paused
        opt.zero_grad()
        loss = scorer.loss(x)
        loss.backward()
        evals += 1
        if evals % EVERY == 0:
            # A saved picture: clamped and rounded. Its writing is not counted.
            pause = time.time()
            with torch.no_grad():
                img = (x.detach() + torch.tensor(MEAN).reshape(1, 3, 1, 1)).clamp(0, 255)
                arr = img[0].permute(1, 2, 0).round().to(torch.uint8).numpy()
            name = out / f"frame_{evals:05}.png"
            Image.fromarray(np.ascontiguousarray(arr)).save(name)
            paused += time.time() - pause
            print(json.dumps({"evaluation": evals, "seconds": time.time() - launched - paused,
                              "file": str(name)}), flush=True)
        return loss

    opt.step(closure)
    print(json.dumps({"done": time.time() - launched - paused}), flush=True)


def picasso_run(a, name, extra, content, style, out):
    frames = out / name
    frames.mkdir(parents=True, exist_ok=True)
    result = frames / "result.png"
    cmd = [a.picasso, "stylize", str(content), str(style), "-o", str(result), "--size",
           str(a.size), "--tv-weight", "0", "--weights", a.weights, "--save-every", str(EVERY),
           "--quiet", "--report", str(frames / "report.json")] + extra
    launched = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = time.time() - launched
    points = []
    for f in sorted(frames.glob("result_*.png")):
        n = int(f.stem.split("_")[-1])
        points.append({"evaluation": n, "seconds": f.stat().st_mtime - launched, "file": str(f)})
    return {"name": name, "command": " ".join(cmd), "seconds": total, "points": points}


def pytorch_run(a, content, style, out):
    frames = out / "pytorch"
    frames.mkdir(parents=True, exist_ok=True)
    launched = time.time()
    cmd = [sys.executable, __file__, "--torch-run", "--content", str(content), "--style",
           str(style), "--weights", a.weights, "--evals", str(a.evals), "--frames", str(frames),
           "--launched", repr(launched)]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)
    lines = [json.loads(l) for l in run.stdout.splitlines() if l.startswith("{")]
    points = [l for l in lines if "evaluation" in l]
    done = [l["done"] for l in lines if "done" in l][0]
    return {"name": "pytorch", "command": "torch.optim.LBFGS (this script, --torch-run)",
            "seconds": done, "points": points}


def time_to_reach(points, target):
    """The first time a run's full-size score is at or below `target` (None if never)."""
    for p in points:
        if p["score"] <= target:
            return p["seconds"]
    return None


def plot(pair, runs, path, size):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    labels = {"default": "picasso, default (coarse to fine, preconditioned)",
              "single": "picasso --single-scale, classic L-BFGS", "pytorch": "PyTorch L-BFGS"}
    for run in runs:
        xs = [p["seconds"] for p in run["points"]]
        ys = [p["score"] for p in run["points"]]
        ax.plot(xs, ys, marker="o", markersize=3, label=labels[run["name"]])
    ax.set_yscale("log")
    ax.set_xlabel("wall-clock seconds since the process started")
    ax.set_ylabel(f"loss of the picture so far, scored at {size} px")
    ax.set_title(f"{pair}: time to quality, 2 CPU cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torch-run", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    p.add_argument("--frames", help=argparse.SUPPRESS)
    p.add_argument("--content")
    p.add_argument("--style")
    p.add_argument("--picasso", default="target/release/picasso")
    shared = Path(os.environ.get("PICASSO_SHARED", "../shared"))
    p.add_argument("--weights", default=str(shared / "weights/vgg16-imagenet.safetensors"))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--evals", type=int, default=300)
    p.add_argument("--pairs", default="tubingen.jpg:starry_night.jpg,chelsea.png:great_wave.jpg")
    p.add_argument("--out", default="/tmp/quality-curve")
    p.add_argument("--default-flags", default="", metavar="FLAGS",
                   help="more flags for picasso's default run only, e.g. '--precondition "
                        "none' (the single-scale run stays the classic reference)")
    p.add_argument("--table", metavar="CURVES.json",
                   help="print the book's table from a finished run's curves.json and stop")
    a = p.parse_args()
    if a.torch_run:
        return torch_run(a)
    if a.table:
        saved = json.loads(Path(a.table).read_text())
        for row in saved["rows"]:
            if "default_reaches_single_at" not in row:  # measured before the column existed
                by = {r["name"]: r for r in saved["runs"][row["pair"]]}
                row["default_reaches_single_at"] = time_to_reach(by["default"]["points"],
                                                                 row["single_score"])
        sys.stdout.write(table(saved["rows"], saved["evals"]) + readings(saved["runs"]))
        return None

    import torch

    torch.set_num_threads(2)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results, rows = {}, []
    for pair in a.pairs.split(","):
        photo, painting = pair.split(":")
        name = f"{Path(photo).stem}_{Path(painting).stem}"
        work = out / name
        work.mkdir(exist_ok=True)
        content = resized(shared / "images/content" / photo, a.size, work / "content.png")
        style = resized(shared / "images/style" / painting, a.size, work / "style.png")
        runs = [
            picasso_run(a, "default", shlex.split(a.default_flags), content, style, work),
            # The reference: the classic method at one size, as every program before did.
            picasso_run(a, "single", ["--single-scale", "--precondition", "none",
                                      "--history-precision", "f32", "--iters", str(a.evals)],
                        content, style, work),
            pytorch_run(a, content, style, work),
        ]
        from PIL import Image

        full = Image.open(content).size
        scorer = Scorer(a.weights, to_tensor(content), to_tensor(style))
        for run in runs:
            for point in run["points"]:
                point["score"] = scorer.score(point["file"], full)
        by = {r["name"]: r for r in runs}
        target = by["pytorch"]["points"][-1]["score"]
        reach = time_to_reach(by["default"]["points"], target)
        torch_total = by["pytorch"]["seconds"]
        rows.append({
            "pair": name,
            "pytorch_seconds": torch_total,
            "pytorch_score": target,
            "single_seconds": by["single"]["seconds"],
            "single_score": by["single"]["points"][-1]["score"],
            "default_seconds": by["default"]["seconds"],
            "default_score": by["default"]["points"][-1]["score"],
            "default_reaches_pytorch_at": reach,
            # The end-to-end target: the single-scale picture's quality, and how soon.
            "default_reaches_single_at": time_to_reach(by["default"]["points"],
                                                       by["single"]["points"][-1]["score"]),
        })
        results[name] = runs
        plot(name, runs, out / f"curve_{name}.png", a.size)
        (out / "curves.json").write_text(json.dumps({"size": a.size, "evals": a.evals,
                                                     "rows": rows, "runs": results}, indent=1))
    summary = table(rows, a.evals) + readings(results)
    (out / "summary.md").write_text(summary)
    print(summary)


def table(rows, evals):
    """The book's table (book/src/outputs/bench_quality_curve.md) from the measured rows."""
    lines = [
        f"| pair | PyTorch, {evals} evaluations | picasso single-scale, classic, {evals} | "
        "picasso default | default reaches PyTorch's final loss at | "
        "default reaches single-scale's final loss at |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]

    def at(reach, r):
        return (f"{reach:.0f} s ({reach / r['pytorch_seconds']:.2f}× PyTorch's time)"
                if reach is not None else "not reached")

    for r in rows:
        lines.append(
            f"| {r['pair']} | {r['pytorch_score']:.4g} in {r['pytorch_seconds']:.0f} s "
            f"| {r['single_score']:.4g} in {r['single_seconds']:.0f} s "
            f"({r['single_seconds'] / r['pytorch_seconds']:.2f}×) "
            f"| {r['default_score']:.4g} in {r['default_seconds']:.0f} s "
            f"({r['default_seconds'] / r['pytorch_seconds']:.2f}×) "
            f"| {at(r['default_reaches_pytorch_at'], r)} "
            f"| {at(r['default_reaches_single_at'], r)} |")
    return "\n".join(lines) + "\n"


MOMENTS = (60, 120, 200)


def readings(results):
    """The curves read at a few moments: the score of the picture a run would have saved had it
    been stopped then (its last picture at or before that second), for the book's prose."""
    lines = [
        "",
        "| pair | run | " + " | ".join(f"at {t} s" for t in MOMENTS) + " | final |",
        "| --- | --- |" + " ---: |" * (len(MOMENTS) + 1),
    ]
    for pair, runs in results.items():
        for run in runs:
            points = run["points"]
            cells = []
            for t in MOMENTS:
                before = [p["score"] for p in points if p["seconds"] <= t]
                cells.append(f"{before[-1]:,.0f}" if before else "—")
            cells.append(f"{points[-1]['score']:,.0f} at {points[-1]['seconds']:.0f} s")
            lines.append(f"| {pair} | {run['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
