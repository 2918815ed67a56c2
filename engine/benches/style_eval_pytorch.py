#!/usr/bin/env python3
"""PyTorch twin of `picasso stylize`'s inner loop, for a same-machine speed comparison.

The objective of shared/docs/objective.md on VGG16 (weights read from the same safetensors
file), optimised with torch.optim.LBFGS (history 100, lr 1, no line search) for a fixed number
of function evaluations. Prints seconds per evaluation. Random images of the given size are
used: the cost of an evaluation does not depend on the pixel values.

    python3 style_eval_pytorch.py --weights ../shared/weights/vgg16-imagenet.safetensors \
        --height 384 --width 512 --evals 10 --threads 2
"""
import argparse
import json
import struct
import time

import torch
import torch.nn.functional as F

BLOCKS = [2, 2, 3, 3, 3]
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT = "relu4_2"


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: only F32 files are supported here"
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + start : base + end]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def features(x, w, wanted):
    out, deepest = {}, max(wanted, key=order.index)
    for b, count in enumerate(BLOCKS, start=1):
        for c in range(1, count + 1):
            x = F.relu(F.conv2d(x, w[f"conv{b}_{c}.weight"], w[f"conv{b}_{c}.bias"], padding=1))
            name = f"relu{b}_{c}"
            if name in wanted:
                out[name] = x
            if name == deepest:
                return out
        x = F.max_pool2d(x, 2, 2)
    return out


order = [f"relu{b}_{c}" for b, n in enumerate(BLOCKS, start=1) for c in range(1, n + 1)]


def gram(f):
    _, c, h, w = f.shape
    m = f.reshape(c, h * w)
    return m @ m.t() / (c * h * w)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--evals", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    w = load_safetensors(a.weights)
    mean = torch.tensor([123.68, 116.779, 103.939]).reshape(1, 3, 1, 1)
    content = torch.rand(1, 3, a.height, a.width) * 255 - mean
    style = torch.rand(1, 3, a.height, a.width) * 255 - mean
    wanted = STYLE + [CONTENT]
    with torch.no_grad():
        target_c = features(content, w, wanted)[CONTENT]
        fs = features(style, w, wanted)
        target_s = {l: gram(fs[l]) for l in STYLE}
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, history_size=100, max_iter=a.evals,
                            tolerance_grad=-1, tolerance_change=-1)
    evals = 0

    def closure():
        nonlocal evals
        evals += 1
        opt.zero_grad()
        f = features(x, w, wanted)
        lc = ((f[CONTENT] - target_c) ** 2).mean()
        ls = sum(((gram(f[l]) - target_s[l]) ** 2).mean() for l in STYLE) / len(STYLE)
        loss = lc + 1000.0 * ls
        loss.backward()
        return loss

    closure()  # warm-up: first-call allocations are not what we measure
    evals = 0
    start = time.perf_counter()
    opt.step(closure)
    seconds = time.perf_counter() - start
    print(json.dumps({"framework": f"pytorch {torch.__version__}", "threads": a.threads,
                      "height": a.height, "width": a.width, "evaluations": evals,
                      "seconds_per_evaluation": seconds / max(evals, 1)}))


if __name__ == "__main__":
    main()
