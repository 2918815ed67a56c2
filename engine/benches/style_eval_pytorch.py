#!/usr/bin/env python3
"""PyTorch twin of `picasso stylize`'s inner loop, for a same-machine speed comparison.

The objective of shared/docs/objective.md on VGG16 (weights read from the same safetensors
file), optimised with torch.optim.LBFGS (history --history, default 100, lr 1, no line search) for a
fixed number of function evaluations. Prints seconds per evaluation over evaluations
--skip + 1 .. --skip + --evals: the same window `gpu_bench.sh` measures picasso over (its
marginal cost from --skip to --skip + --evals evaluations), so the L-BFGS history is as long
in both. Random images of the given size are
used: the cost of an evaluation does not depend on the pixel values.

    python3 style_eval_pytorch.py --weights ../shared/weights/vgg16-imagenet.safetensors \
        --height 384 --width 512 --evals 10 --threads 2 [--device cuda] [--tf32]

F16 files (engine/weights) are widened to F32 on loading, as picasso does. On a GPU: cuDNN with
TF32 off unless --tf32, and peak memory from torch.cuda.max_memory_allocated.
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
        dtype = {"F32": torch.float32, "F16": torch.float16}[info["dtype"]]
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + start : base + end]), dtype=dtype)
        out[name] = t.reshape(info["shape"]).float()
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
    p.add_argument("--skip", type=int, default=0, help="evaluations run before the timed ones")
    p.add_argument("--history", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--tf32", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    w = {k: v.to(dev) for k, v in load_safetensors(a.weights).items()}
    mean = torch.tensor([123.68, 116.779, 103.939], device=dev).reshape(1, 3, 1, 1)
    content = torch.rand(1, 3, a.height, a.width, device=dev) * 255 - mean
    style = torch.rand(1, 3, a.height, a.width, device=dev) * 255 - mean
    wanted = STYLE + [CONTENT]
    with torch.no_grad():
        target_c = features(content, w, wanted)[CONTENT]
        fs = features(style, w, wanted)
        target_s = {l: gram(fs[l]) for l in STYLE}
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, history_size=a.history, max_iter=a.skip + a.evals,
                            tolerance_grad=-1, tolerance_change=-1)
    evals = 0
    start = None

    def closure():
        nonlocal evals, start
        if evals == a.skip:
            sync()
            start = time.perf_counter()
        evals += 1
        opt.zero_grad()
        f = features(x, w, wanted)
        lc = ((f[CONTENT] - target_c) ** 2).mean()
        ls = sum(((gram(f[l]) - target_s[l]) ** 2).mean() for l in STYLE) / len(STYLE)
        loss = lc + 1000.0 * ls
        loss.backward()
        return loss

    closure()  # warm-up: first-call allocations are not what we measure
    sync()
    evals = 0
    opt.step(closure)
    sync()
    seconds = time.perf_counter() - start
    evals -= a.skip
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None
    print(json.dumps({"framework": f"pytorch {torch.__version__}", "threads": a.threads,
                      "device": a.device, "tf32": a.tf32,
                      "height": a.height, "width": a.width, "evaluations": evals,
                      "skipped": a.skip, "history": a.history,
                      "seconds_per_evaluation": seconds / max(evals, 1), "peak_mb": peak}))


if __name__ == "__main__":
    main()
