#!/usr/bin/env python3
"""The PyTorch twin of vgg_conv.rs: VGG up to relu5_1, forward + backward w.r.t. the input.

Plain torch (no torchvision): the conv stack is built by hand with random weights that do not
require gradients; 2 threads, like the Rust benchmark on the 2-core development machine.

    python3 engine/benches/vgg_conv_pytorch.py [--net vgg16|vgg19] [--size 256|512] [--iters N]
        [--device cpu|cuda] [--tf32]

On a GPU: cuDNN, with TF32 off unless --tf32 (so both sides compute in FP32), synchronised
before each clock reading; peak_MB is torch.cuda.max_memory_allocated.

Prints the same columns as vgg_conv.rs (cpu_ms: CPU time of all threads per iteration). Exits with status 2 when torch is not importable.
"""
import argparse
import resource
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")  # torch warns when numpy is absent; it is not needed here

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not importable; skipping the PyTorch benchmark", file=sys.stderr)
    sys.exit(2)

CONFIG = {
    "vgg16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512],
    "vgg19": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512],
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--net", default="vgg19", choices=CONFIG)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iters", type=int, default=5)
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

    layers, channels, flops, s = [], 3, 0.0, a.size
    for width in CONFIG[a.net]:
        if width == 0:
            layers.append(None)
            s //= 2
            continue
        w = torch.randn(width, channels, 3, 3) * (2.0 / (channels * 9)) ** 0.5
        layers.append((w.to(dev), torch.zeros(width, device=dev)))
        flops += 2.0 * width * channels * 9 * s * s
        channels = width

    image = (torch.rand(1, 3, a.size, a.size, device=dev) * 2 - 1).requires_grad_(True)

    def step():
        x = image
        for layer in layers:
            x = F.max_pool2d(x, 2, 2) if layer is None else F.relu(F.conv2d(x, layer[0], layer[1], padding=1))
        x.backward(torch.ones_like(x))
        image.grad = None
        sync()

    times, cpu = [], []
    for i in range(a.iters + 1):
        t, c = time.perf_counter(), time.process_time()
        step()
        if i > 0:  # iteration 0 is a warm-up
            times.append((time.perf_counter() - t) * 1e3)
            cpu.append((time.process_time() - c) * 1e3)
    ms = statistics.median(times)
    if dev.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    runs = ", ".join(f"{t:.0f}" for t in times)
    print(f"impl      net    size  ms/iter  GFLOP/s  peak_MB   cpu_ms  (median of {a.iters}; runs [{runs}]; load {load}; torch {torch.__version__})")
    print(f"pytorch   {a.net:<6} {a.size:>4} {ms:>8.1f} {2 * flops / 1e9 / ms * 1e3:>8.1f} {peak_mb:>8.0f} {statistics.median(cpu):>8.0f}")


if __name__ == "__main__":
    main()
