//! VGG feature stack up to relu5_1: forward + backward with respect to the input image, the
//! work of one style-transfer evaluation. Weights are random and constant (no gradient).
//!
//! cargo bench -p picasso-engine --bench vgg_conv -- [--net vgg16|vgg19] [--size 256|512]
//!     [--iters N] [--layers] [--ab] [--algo auto|im2col|winograd] [--naive]
//!     [--device cpu|cuda] [--tf32]
//! (or VGG_NET / VGG_SIZE / VGG_ITERS / VGG_ALGO in the environment). `--layers` adds a per-layer table,
//! `--ab` one comparing Winograd with im2col layer by layer;
//! `--naive` times textbook loops on one layer;
//! `--algo` picks the algorithm for 3×3 layers (default auto: Winograd where it pays off).
//!
//! Prints the median milliseconds per iteration, the achieved GFLOP/s (convolutions only,
//! forward + input gradient, 2 FLOPs per multiply-add) and the peak memory: resident memory on
//! the CPU; on a GPU, the most bytes the engine's buffers held at once (the device ledger's
//! peak, measured as PyTorch's `max_memory_allocated`), and the ledger's counts per iteration.
//! `--tf32` lets cuBLAS use TF32 tensor cores.

use engine::autograd::Conv2dParams;
use engine::cpu::conv::{set_algorithm, ConvAlgorithm};
use engine::{Device, Rng, Tensor};
use std::time::Instant;

/// Channel widths; 0 is a 2×2 max pool. Both nets end at conv5_1 + ReLU (relu5_1).
fn config(net: &str) -> Vec<usize> {
    match net {
        "vgg16" => vec![
            64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512,
        ],
        "vgg19" => vec![
            64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512,
        ],
        other => panic!("unknown net {other}; use vgg16 or vgg19"),
    }
}

struct Conv {
    weight: Tensor,
    bias: Tensor,
}

fn build(net: &str, rng: &mut Rng) -> Vec<Option<Conv>> {
    let mut channels = 3;
    config(net)
        .into_iter()
        .map(|width| {
            (width > 0).then(|| {
                // He initialisation keeps activations finite through 13–16 layers.
                let scale = (2.0 / (channels * 9) as f32).sqrt();
                let weight = Tensor::randn(&[width, channels, 3, 3], rng)
                    .mul_scalar(scale)
                    .unwrap();
                channels = width;
                Conv {
                    weight,
                    bias: Tensor::zeros(&[width]),
                }
            })
        })
        .collect()
}

fn forward(layers: &[Option<Conv>], image: &Tensor) -> Tensor {
    let same = Conv2dParams::default().padding(1);
    let mut x = image.clone();
    for layer in layers {
        x = match layer {
            // The fused op, as the VGG model uses it.
            Some(c) => x.conv2d_relu(&c.weight, Some(&c.bias), same).unwrap(),
            None => x.max_pool2d(2, 2, 0).unwrap(),
        };
    }
    x
}

/// FLOPs of the convolutions, forward pass only.
fn forward_flops(net: &str, size: usize) -> f64 {
    let (mut c, mut s, mut total) = (3usize, size, 0.0);
    for width in config(net) {
        if width == 0 {
            s /= 2;
        } else {
            total += 2.0 * (width * c * 9) as f64 * (s * s) as f64;
            c = width;
        }
    }
    total
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time of all this process's threads (ns resolution, from /proc/self/task/*/schedstat).
/// On a loaded machine wall time mostly measures the neighbours; CPU time measures our work.
fn cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let ns: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Fastest forward and backward (input gradient) time of one layer, in ms.
fn time_layer(x: &Tensor, c: &Conv, iters: usize) -> (f64, f64, Tensor) {
    let same = Conv2dParams::default().padding(1);
    let (mut fwd, mut bwd, mut y) = (f64::MAX, f64::MAX, None);
    for _ in 0..iters {
        let t = Instant::now();
        let out = x.conv2d(&c.weight, Some(&c.bias), same).unwrap();
        fwd = fwd.min(t.elapsed().as_secs_f64() * 1e3);
        let seed = out.ones_like();
        let t = Instant::now();
        out.backward_with(&seed.unwrap()).unwrap();
        bwd = bwd.min(t.elapsed().as_secs_f64() * 1e3);
        y = Some(out);
    }
    (fwd, bwd, y.unwrap())
}

/// Per-layer table; with `ab`, Winograd and im2col side by side (alternating, same inputs).
/// Per-layer times are the fastest of `iters` runs: the least disturbed by other processes.
fn per_layer(layers: &[Option<Conv>], image: &Tensor, iters: usize, ab: bool) {
    let algorithms: &[bool] = if ab { &[true, false] } else { &[true] };
    print!("{:>8} {:>14}", "layer", "input");
    for &wino in algorithms {
        let name = if !ab {
            ""
        } else if wino {
            "wino "
        } else {
            "im2col "
        };
        print!(
            " {:>14} {:>14} {:>9}",
            format!("{name}fwd ms"),
            format!("{name}bwd ms"),
            "GFLOP/s"
        );
    }
    println!();
    let mut x = image.detach();
    let (mut block, mut index) = (1, 1);
    for layer in layers {
        let Some(c) = layer else {
            x = x.max_pool2d(2, 2, 0).unwrap();
            (block, index) = (block + 1, 1);
            continue;
        };
        let s = x.shape().to_vec();
        let flops = 2.0 * (c.weight.shape()[0] * s[1] * 9 * s[2] * s[3]) as f64;
        let name = format!("conv{block}_{index}");
        print!("{name:>8} {:>14}", format!("{}×{}×{}", s[1], s[2], s[3]));
        let xin = x.requires_grad();
        let mut y = None;
        for &wino in algorithms {
            if ab {
                set_algorithm(if wino {
                    ConvAlgorithm::Winograd
                } else {
                    ConvAlgorithm::Im2col
                });
            }
            let (f, b, out) = time_layer(&xin, c, iters);
            print!(" {f:>14.1} {b:>14.1} {:>9.1}", 2.0 * flops / (f + b) / 1e6);
            y = Some(out);
        }
        println!();
        x = y.unwrap().detach().relu().unwrap();
        index += 1;
    }
}

/// The textbook six-loop convolution (one image, stride 1, zero padding 1, 3×3), for the
/// "naive" row of the story: how far the compiler alone gets.
fn naive_conv(x: &[f32], w: &[f32], c: usize, o: usize, s: usize) -> Vec<f32> {
    let mut y = vec![0.0f32; o * s * s];
    for oc in 0..o {
        for ic in 0..c {
            for i in 0..3 {
                for j in 0..3 {
                    let wv = w[((oc * c + ic) * 3 + i) * 3 + j];
                    for r in 0..s {
                        let ih = (r + i) as isize - 1;
                        if ih < 0 || ih >= s as isize {
                            continue;
                        }
                        for q in 0..s {
                            let iw = (q + j) as isize - 1;
                            if iw >= 0 && iw < s as isize {
                                y[(oc * s + r) * s + q] +=
                                    wv * x[(ic * s + ih as usize) * s + iw as usize];
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

/// Time the naive loops against conv2d on one mid-network layer (256 → 256 channels, 32×32).
fn naive_row() {
    let (c, o, s) = (256, 256, 32);
    let mut rng = Rng::new(1);
    let x = Tensor::randn(&[1, c, s, s], &mut rng);
    let w = Tensor::randn(&[o, c, 3, 3], &mut rng);
    let flops = 2.0 * (o * c * 9 * s * s) as f64;
    let t = Instant::now();
    let y = naive_conv(&x.to_vec().unwrap(), &w.to_vec().unwrap(), c, o, s);
    let naive = t.elapsed().as_secs_f64();
    let same = Conv2dParams::default().padding(1);
    let t = Instant::now();
    let ours = x.conv2d(&w, None, same).unwrap();
    let fast = t.elapsed().as_secs_f64();
    let diff = y
        .iter()
        .zip(ours.to_vec().unwrap())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!(
        "naive loops: {:.1} ms ({:.2} GFLOP/s); conv2d: {:.1} ms ({:.1} GFLOP/s); max difference {diff:.1e}",
        naive * 1e3,
        flops / naive / 1e9,
        fast * 1e3,
        flops / fast / 1e9
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, env: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| std::env::var(env).ok())
            .unwrap_or_else(|| default.to_string())
    };
    let net = arg("--net", "VGG_NET", "vgg19");
    let size: usize = arg("--size", "VGG_SIZE", "256")
        .parse()
        .expect("--size takes a number");
    let iters: usize = arg("--iters", "VGG_ITERS", "5")
        .parse()
        .expect("--iters takes a number");

    let algo = match arg("--algo", "VGG_ALGO", "auto").as_str() {
        "auto" => ConvAlgorithm::Auto,
        "im2col" => ConvAlgorithm::Im2col,
        "winograd" => ConvAlgorithm::Winograd,
        other => panic!("unknown --algo {other}; use auto, im2col or winograd"),
    };
    set_algorithm(algo);
    if args.iter().any(|a| a == "--naive") {
        naive_row();
    }
    let device: Device = arg("--device", "VGG_DEVICE", "cpu")
        .parse()
        .expect("--device takes cpu or cuda");
    if let Device::Cuda(n) = device {
        if let Err(e) = engine::cuda::CudaDevice::get(n) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
    if args.iter().any(|a| a == "--tf32") {
        engine::cuda::set_tf32(true).expect("TF32 could not be enabled");
    }
    let mut rng = Rng::new(0);
    let layers: Vec<Option<Conv>> = build(&net, &mut rng)
        .into_iter()
        .map(|layer| {
            layer.map(|c| Conv {
                weight: c.weight.to_device(device).unwrap(),
                bias: c.bias.to_device(device).unwrap(),
            })
        })
        .collect();
    let image = Tensor::rand_uniform(&[1, 3, size, size], -1.0, 1.0, &mut rng)
        .to_device(device)
        .unwrap()
        .requires_grad();
    // GPU work is queued: wait for it before reading a clock.
    let wait = || {
        if let Device::Cuda(n) = device {
            engine::cuda::CudaDevice::get(n)
                .unwrap()
                .synchronize()
                .unwrap();
        }
    };

    if args.iter().any(|a| a == "--layers" || a == "--ab") {
        per_layer(&layers, &image, iters, args.iter().any(|a| a == "--ab"));
        set_algorithm(algo);
    }

    let (mut times, mut cpu) = (Vec::new(), Vec::new());
    let mut ledger = None;
    for i in 0..=iters {
        if i == 1 {
            // The device's counts over the timed iterations (none on the CPU).
            ledger = device.ledger().unwrap();
        }
        let (t, c) = (Instant::now(), cpu_ms());
        let features = forward(&layers, &image);
        let grads = features
            .backward_with(&features.ones_like().unwrap())
            .unwrap();
        assert!(grads.get(&image).is_some() && grads.len() == 1);
        wait();
        if i > 0 {
            // iteration 0 is a warm-up (page faults, thread pools)
            times.push(t.elapsed().as_secs_f64() * 1e3);
            cpu.push(cpu_ms() - c);
        }
    }
    let ms = median(times.clone());
    let cpu = median(cpu);
    let gflop = 2.0 * forward_flops(&net, size) / 1e9;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    println!("impl      net    size  ms/iter  GFLOP/s  peak_MB   cpu_ms  (median of {iters}; runs {times:.0?}; load {load})");
    let rate = gflop / ms * 1e3;
    // On a GPU, the most bytes our buffers held at once, as PyTorch's max_memory_allocated
    // counts (not total − free, which includes the context and the pool's cache).
    let now = device.ledger().unwrap();
    let peak = match now {
        None => peak_rss_mb(),
        Some(now) => now.peak_bytes as f64 / (1 << 20) as f64,
    };
    println!("ours      {net:<6} {size:>4} {ms:>8.1} {rate:>8.1} {peak:>8.0} {cpu:>8.0}");
    if let (Some(now), Some(start)) = (now, ledger) {
        let l = now.since(&start).per(iters);
        println!(
            "ledger per iteration: {:.0} launches, {:.0} cuBLAS calls, {:.0} round trips, \
             {:.0} allocations, {:.0} B up, {:.0} B down",
            l.launches, l.gemms, l.syncs, l.allocations, l.upload_bytes, l.download_bytes
        );
    }
}
