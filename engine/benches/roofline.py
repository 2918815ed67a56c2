#!/usr/bin/env python3
"""What one style-transfer evaluation should cost on an H200: a roofline estimate.

An estimate, not a measurement. It counts the work an evaluation must do (the shared objective
of shared/docs/objective.md: VGG16 forward to the deepest loss layer, the gradient back to the
image, then one L-BFGS step) and divides it by the card's datasheet peaks, then adds the fixed
costs of the launches and host round trips that the device ledger counted:

    ms = max(FLOPs / peak, bytes / bandwidth) + calls * t_launch + round_trips * t_round_trip

    python3 engine/benches/roofline.py --height 384 --width 512
    python3 engine/benches/roofline.py --height 384 --width 512 --ledger counts.json --json
    python3 engine/benches/roofline.py --height 384 --width 512 \
        --ledger book/src/outputs/ch11_ledger.json --table     # the table chapter 11 includes

The layers' shapes are read from the weight file's safetensors header. A ledger is a JSON
object of per-evaluation counts (`launches`, `gemms`, `syncs`; `uploads` if known, and
`history`), as gpu_bench.sh derives from a `picasso stylize --report`, or the file
engine/tests/cuda_ledger.rs writes: `{"height", "width", "runs": [counts, ...]}`, one estimate
per run. Plain python3, nothing to install.
"""
import argparse
import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "engine/weights/vgg16-imagenet-f16.safetensors"
CONV_RS = ROOT / "engine/src/cuda/conv.rs"

# The H200's peaks, from NVIDIA's H200 Tensor Core GPU datasheet (H200 SXM column). TF32 is the
# dense figure; the datasheet's 989 TFLOPS assumes 2:4 structured sparsity, which VGG lacks.
FP32_FLOPS = 67e12  # FP32 on the CUDA cores
TF32_FLOPS = 494.7e12  # TF32 on the tensor cores, dense
HBM_BYTES = 4.8e12  # HBM3e bandwidth, bytes per second
PEAKS = {"FP32": FP32_FLOPS, "TF32": TF32_FLOPS}

# Fixed costs, assumed (typical figures, not measured on this project's hardware): issuing a
# kernel, a cuBLAS call or a small copy costs the host a few microseconds, and a round trip
# (the host waits for the device to drain its queue, reads a number, queues more) 10-20 us.
LAUNCH_S = 3e-6
ROUND_TRIP_S = (10e-6, 20e-6)

# Per column-buffer tile beyond the first, conv.rs adds an im2col launch and a GEMM forward,
# a GEMM and a col2im launch backward (the input gradient).
LAUNCHES_PER_TILE = 2
GEMMS_PER_TILE = 2

F32 = 4  # bytes of a float on the device (the f16 file is widened to f32 when loaded)
DEFAULT_STYLE = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1"
DEFAULT_CONTENT = "relu4_2"


def fail(message):
    sys.exit(f"roofline.py: {message}")


def conv_shapes(path):
    """[(name, out_channels, in_channels)] of every 3x3 convolution in the file, in order."""
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100_000_000:
                raise ValueError(f"a header of {length} bytes: not a safetensors file")
            header = json.loads(f.read(length))
    except (OSError, struct.error, ValueError) as e:
        fail(f"cannot read the safetensors header of {path}: {e} (pass --weights FILE)")
    convs = []
    for name, entry in header.items():
        m = re.fullmatch(r"conv(\d+)_(\d+)\.weight", name)
        if m:
            out_c, in_c, kh, kw = entry["shape"]
            if (kh, kw) != (3, 3):
                fail(f"{name} is {kh}x{kw}; this estimate knows VGG's 3x3 convolutions only")
            convs.append(((int(m[1]), int(m[2])), f"conv{m[1]}_{m[2]}", out_c, in_c))
    if not convs:
        fail(f"{path} has no convN_M.weight tensors: not a VGG weight file")
    return [c[1:] for c in sorted(convs)]


def column_limit(path):
    """MAX_COL_FLOATS as conv.rs defines it: the floats a convolution's column buffer holds."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        fail(f"cannot read {path} for MAX_COL_FLOATS: {e}")
    m = re.search(r"const MAX_COL_FLOATS: usize = ([0-9 <*]+);", text)
    if not m:
        fail(f"{path} no longer defines MAX_COL_FLOATS as a plain number: update column_limit()")
    value = 1
    for factor in m[1].split("*"):  # "1 << 26" or "64 * 1024 * 1024"
        base, _, shift = factor.partition("<<")
        value *= int(base) << int(shift or 0)
    return value


class Work:
    """FLOPs and bytes, by part of the evaluation."""

    def __init__(self):
        self.parts = {}

    def add(self, part, flops=0, floats=0):
        f, b = self.parts.get(part, (0, 0))
        self.parts[part] = (f + flops, b + floats * F32)

    def total(self):
        return tuple(sum(v[i] for v in self.parts.values()) for i in (0, 1))


def network(convs, losses):
    """The convolutions an evaluation runs: up to the deepest loss layer."""
    order = [n.replace("conv", "relu") for n, _, _ in convs]
    for name in losses:
        if name not in order:
            fail(f"unknown layer {name}: expected one of {', '.join(order)}")
    return convs[: 1 + max(order.index(name) for name in losses)]


def evaluation_work(convs, height, width, style, content, history):
    """What one evaluation must compute and move, at the least.

    FLOPs: the convolutions forward and their input gradient (2 * Cout * Cin * 9 per output
    pixel each; VGG's weights are constants, so no weight gradient), the Gram matrices forward
    and backward (2 * C^2 * M each) and L-BFGS's inner products and combination (2 per element
    per vector each). Elementwise work (bias, ReLU, pooling, the losses' differences) is not
    counted as FLOPs: it is memory-bound, and counted in bytes.

    Bytes, a lower bound: every operation reads its inputs and writes its output once, in f32,
    with the fusions a good implementation makes: bias and ReLU in the convolution's output,
    the ReLU's mask in the gradient's input, a loss's gradient added where the gradient from
    deeper layers is read. Caches that keep a tensor between two kernels would move less; the
    im2col column buffer of our convolutions moves far more.
    """
    w = Work()
    deepest = convs[len(network(convs, style + content)) - 1][0].replace("conv", "relu")
    h, wd = height, width
    layers = []  # (name, C, M, M_in, C_in) in forward order, up to the deepest loss layer
    block = 1
    for name, c_out, c_in in convs:
        b = int(name[4:].split("_")[0])
        if b != block:  # a 2x2 max pool, stride 2, between blocks
            layers.append(("pool", layers[-1][1], (h // 2) * (wd // 2), h * wd, layers[-1][1]))
            h, wd, block = h // 2, wd // 2, b
        if min(h, wd) < 1:
            fail(f"{height} x {width} px is too small: {name} would have no pixels")
        m = h * wd
        layers.append((name, c_out, m, m, c_in))
        if name.replace("conv", "relu") == deepest:
            break

    for name, c, m, m_in, c_in in layers:
        relu = name.replace("conv", "relu")
        has_deeper = relu != deepest
        if name == "pool":
            # forward: read C x M_in, write C x M; backward: read dy and the input (which
            # element won), write dx
            w.add("pooling", floats=c * m_in + c * m)
            w.add("pooling", floats=c * m + c * m_in + c * m_in)
            continue
        weights = c * c_in * 9 + c
        flops = 2 * c * c_in * 9 * m
        # forward (+ bias + ReLU): read x and the weights, write y;
        # input gradient (ReLU mask fused): read dy, y and the weights, write dx
        w.add("convolutions", flops, c_in * m_in + weights + c * m)
        w.add("convolutions", flops, 2 * c * m + weights + c_in * m_in)
        if relu in style:
            # G = F F^T / (C M): read F, write G; the loss reads G and the painting's G.
            # Backward: dF = (dG + dG^T) F, reading F, G, the target (and the gradient from
            # deeper layers, which it adds into), writing dF
            w.add("Gram matrices", 2 * c * c * m, c * m + c * c + 2 * c * c)
            w.add("Gram matrices", 2 * c * c * m, c * m + 2 * c * c + has_deeper * c * m + c * m)
        if relu in content:
            # mean((F - P)^2): read F and the photo's P; backward again, adding into dF
            w.add("content loss", floats=2 * c * m)
            w.add("content loss", floats=2 * c * m + has_deeper * c * m + c * m)

    # L-BFGS, history m, vectors of n = 3 H W floats: the batched inner products read the 2m
    # remembered vectors and the gradient; the combination reads them again and writes the
    # direction; the step reads x and the direction and writes x; the new pair (s, y) is
    # written: 4m + 8 vectors.
    n = 3 * height * width
    w.add(f"L-BFGS, history {history}", 2 * n * (4 * history + 1), n * (4 * history + 8))
    return w


def extra_tiles(convs, height, width, limit):
    """Column-buffer tiles beyond one per convolution, at height x width (see conv.rs)."""
    extra, h, wd, block = 0, height, width, 1
    for name, _, c_in in convs:
        b = int(name[4:].split("_")[0])
        if b != block:
            h, wd, block = h // 2, wd // 2, b
        if h < 1 or wd < 1:
            break
        row_floats = c_in * 9 * wd
        step = max(1, min(limit // row_floats, h))
        extra += -(-h // step) - 1
    return extra


def read_ledger(path):
    """[(counts, height, width)] from a ledger file (see the module's docstring)."""
    try:
        data = json.load(sys.stdin if path == "-" else open(path))
    except (OSError, ValueError) as e:
        fail(f"cannot read the ledger {path}: {e}")
    if not isinstance(data, dict):
        fail(f"the ledger {path} is not a JSON object of counts")
    runs = data.get("runs", [data])
    for run in runs:
        missing = [
            k for k in ("launches", "gemms", "syncs") if not isinstance(run.get(k), (int, float))
        ]
        if missing:
            fail(f"the ledger {path} lacks the per-evaluation count(s) {', '.join(missing)}")
    return [(run, data.get("height"), data.get("width")) for run in runs]


def estimate(args):
    convs = conv_shapes(args.weights)
    style = [s for s in args.style_layers.split(",") if s]
    content = [s for s in args.content_layers.split(",") if s]
    if not style + content:
        fail("no loss layers: give --style-layers or --content-layers")
    runs = read_ledger(args.ledger) if args.ledger else [(None, None, None)]
    limit = column_limit(CONV_RS) if args.ledger else None
    results = []
    for counts, led_h, led_w in runs:
        history = int(counts.get("history", args.history)) if counts else args.history
        work = evaluation_work(convs, args.height, args.width, style, content, history)
        flops, moved = work.total()
        fixed = None
        if counts:
            # A ledger counted at another size (the emulator's 32 px) has the tiles of that
            # size; the estimate's size may cut more.
            tiles = 0
            if led_h and led_w and (led_h, led_w) != (args.height, args.width):
                ran = network(convs, style + content)
                tiles = extra_tiles(ran, args.height, args.width, limit) - extra_tiles(
                    ran, led_h, led_w, limit
                )
            calls = (
                counts["launches"]
                + counts["gemms"]
                + counts.get("uploads", 0)
                + tiles * (LAUNCHES_PER_TILE + GEMMS_PER_TILE)
            )
            fixed = {
                "calls": calls,
                "extra_tiles": tiles,
                "round_trips": counts["syncs"],
                "launch_ms": calls * LAUNCH_S * 1e3,
                "round_trip_ms": [counts["syncs"] * t * 1e3 for t in ROUND_TRIP_S],
            }
        memory_ms = moved / HBM_BYTES * 1e3
        for precision, peak in PEAKS.items():
            compute_ms = flops / peak * 1e3
            bound = max(compute_ms, memory_ms)
            total = None
            if fixed:
                total = [bound + fixed["launch_ms"] + r for r in fixed["round_trip_ms"]]
            results.append(
                {
                    "history": history,
                    "precision": precision,
                    "compute_ms": compute_ms,
                    "memory_ms": memory_ms,
                    "fixed": fixed,
                    "estimate_ms": total,
                    "bound": "compute" if compute_ms >= memory_ms else "memory",
                }
            )
        parts = {k: {"flops": f, "bytes": b} for k, (f, b) in work.parts.items()}
        results[-1]["parts"] = results[-2]["parts"] = parts
        results[-1]["flops"] = results[-2]["flops"] = flops
        results[-1]["bytes"] = results[-2]["bytes"] = moved
    return results


def assumptions():
    return {
        "source": "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM",
        "fp32_tflops": FP32_FLOPS / 1e12,
        "tf32_tflops_dense": TF32_FLOPS / 1e12,
        "hbm_tb_per_s": HBM_BYTES / 1e12,
        "launch_us": LAUNCH_S * 1e6,
        "round_trip_us": [t * 1e6 for t in ROUND_TRIP_S],
        "fixed_costs": "assumed, typical; not measured on this project's hardware",
    }


def ms_range(r):
    return f"{r[0]:.2f}–{r[1]:.2f} ms" if r else "no ledger"


def assumed_line():
    a = assumptions()
    return (
        f"Assumed, not measured: {a['source']}: FP32 {a['fp32_tflops']:g} TFLOP/s, "
        f"TF32 {a['tf32_tflops_dense']:g} TFLOP/s (dense), HBM3e {a['hbm_tb_per_s']:g} TB/s; "
        f"{a['launch_us']:g} µs per launch, cuBLAS call or upload, "
        f"{a['round_trip_us'][0]:g}–{a['round_trip_us'][1]:g} µs per round trip."
    )


def table(results, args):
    """The two Markdown tables chapter 11 includes: the work by part, the time per evaluation."""
    out = [
        f"Work of one evaluation at {args.height} × {args.width} px (height × width), "
        "the bytes a lower bound:",
        "",
        "| part | GFLOP | MB moved | FLOP/byte |",
        "| --- | ---: | ---: | ---: |",
    ]
    seen = set()
    for r in results:
        for part, v in r["parts"].items():
            if part not in seen:
                seen.add(part)
                out.append(
                    f"| {part} | {v['flops'] / 1e9:.2f} | {v['bytes'] / 1e6:.0f} | "
                    f"{v['flops'] / v['bytes']:.1f} |"
                )
    for r in results[::2]:  # one per history (each history has an FP32 and a TF32 row)
        out.append(
            f"| **total, history {r['history']}** | {r['flops'] / 1e9:.2f} | "
            f"{r['bytes'] / 1e6:.0f} | {r['flops'] / r['bytes']:.1f} |"
        )
    launch_us = f"{LAUNCH_S * 1e6:g} µs"
    trip_us = f"{ROUND_TRIP_S[0] * 1e6:g}–{ROUND_TRIP_S[1] * 1e6:g} µs"
    out += [
        "",
        "Estimated time of one evaluation on an H200:",
        "",
        "| history | precision | compute | memory | calls | round trips | estimate |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        f = r["fixed"]
        out.append(
            f"| {r['history']} | {r['precision']} | {r['compute_ms']:.2f} ms | "
            f"{r['memory_ms']:.2f} ms | "
            f"{f['calls']:.0f} × {launch_us} = {f['launch_ms']:.2f} ms | "
            f"{f['round_trips']:.0f} × {trip_us} = {ms_range(f['round_trip_ms'])} | "
            f"{ms_range(r['estimate_ms'])} |"
        )
    tiles = results[0]["fixed"]["extra_tiles"]
    if tiles:
        out += [
            "",
            f"Of these calls, {tiles * (LAUNCHES_PER_TILE + GEMMS_PER_TILE)} are estimated, not "
            f"counted: at {args.height} × {args.width} px the convolutions' column buffer cuts "
            f"the image into {tiles} more tile{'s' if tiles > 1 else ''} than at the ledger's "
            "size, each an im2col launch and a GEMM forward, a GEMM and a col2im launch backward.",
        ]
    out += ["", assumed_line()]
    return "\n".join(out)


def line(r):
    """One line for the benchmark, beside a measured figure."""
    f = r["fixed"]
    head = f"estimate {r['precision']} (H200, assumed peaks): "
    bound = f"max(compute {r['compute_ms']:.2f}, memory {r['memory_ms']:.2f} ms)"
    if not f:
        fastest = max(r["compute_ms"], r["memory_ms"])
        return head + f"{fastest:.2f} ms = {bound}, no ledger: launches and round trips left out"
    return (
        head + f"{ms_range(r['estimate_ms'])} = {bound} + {f['calls']:.0f} calls × "
        f"{LAUNCH_S * 1e6:g} µs + {f['round_trips']:.0f} round trips × "
        f"{ROUND_TRIP_S[0] * 1e6:g}–{ROUND_TRIP_S[1] * 1e6:g} µs"
    )


def text(results, args):
    r0 = results[0]
    out = [
        f"One style-transfer evaluation at {args.height} x {args.width} px (height x width): "
        f"{r0['flops'] / 1e9:.1f} GFLOP, at least {r0['bytes'] / 1e6:.0f} MB moved "
        f"({r0['flops'] / r0['bytes']:.0f} FLOP/byte; the FP32 ridge is "
        f"{FP32_FLOPS / HBM_BYTES:.0f})"
    ]
    for part, v in r0["parts"].items():
        out.append(f"  {part:<22} {v['flops'] / 1e9:8.2f} GFLOP {v['bytes'] / 1e6:9.1f} MB")
    out += [line(r) for r in results]
    out.append(assumed_line())
    return "\n".join(out)


def positive(value):
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return n


def main():
    p = argparse.ArgumentParser(
        description="Roofline estimate of one style-transfer evaluation on an H200 "
        "(estimated from datasheet peaks, not measured)."
    )
    p.add_argument("--height", type=positive, required=True, help="image height in pixels")
    p.add_argument("--width", type=positive, required=True, help="image width in pixels")
    p.add_argument("--history", type=positive, default=100,
                   help="L-BFGS history when the ledger does not say (default 100)")
    p.add_argument("--ledger", metavar="FILE",
                   help="per-evaluation device-ledger counts (JSON; - for stdin)")
    p.add_argument("--precision", choices=["fp32", "tf32", "both"], default="both",
                   help="which peak to estimate at (default both)")
    p.add_argument("--weights", default=WEIGHTS, help="VGG safetensors file for the layer shapes")
    p.add_argument("--style-layers", default=DEFAULT_STYLE)
    p.add_argument("--content-layers", default=DEFAULT_CONTENT)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="everything, as JSON")
    form.add_argument("--table", action="store_true", help="the Markdown tables of chapter 11")
    form.add_argument("--line", action="store_true", help="one line per estimate, for gpu_bench.sh")
    args = p.parse_args()
    results = estimate(args)
    if args.precision != "both":
        results = [r for r in results if r["precision"].lower() == args.precision]
    if args.json:
        print(json.dumps({"height": args.height, "width": args.width,
                          "assumptions": assumptions(), "estimates": results}, indent=2))
    elif args.table:
        if not args.ledger:
            fail("--table needs --ledger: the book's table shows the fixed costs too")
        print(table(results, args))
    elif args.line:
        print("\n".join(line(r) for r in results))
    else:
        print(text(results, args))


if __name__ == "__main__":
    main()
