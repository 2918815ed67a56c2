//! VGG feature stack up to relu5_1: forward + backward with respect to the input image, the
//! work of one style-transfer evaluation. Weights are random and constant (no gradient).
//!
//! cargo bench -p picasso-engine --bench vgg_conv -- [--net vgg16|vgg19] [--size 256|512]
//!     [--iters N] [--layers]
//! (or VGG_NET / VGG_SIZE / VGG_ITERS in the environment). `--layers` adds a per-layer table.
//!
//! Prints the median milliseconds per iteration, the achieved GFLOP/s (convolutions only,
//! forward + input gradient, 2 FLOPs per multiply-add) and the peak resident memory.

use engine::autograd::Conv2dParams;
use engine::{Rng, Tensor};
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
            Some(c) => x
                .conv2d(&c.weight, Some(&c.bias), same)
                .unwrap()
                .relu()
                .unwrap(),
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn per_layer(layers: &[Option<Conv>], image: &Tensor, iters: usize) {
    let same = Conv2dParams::default().padding(1);
    println!(
        "{:>8} {:>16} {:>10} {:>10} {:>9}",
        "layer", "input", "fwd ms", "bwd ms", "GFLOP/s"
    );
    let mut x = image.detach();
    let (mut block, mut index) = (1, 1);
    for layer in layers {
        let Some(c) = layer else {
            x = x.max_pool2d(2, 2, 0).unwrap();
            (block, index) = (block + 1, 1);
            continue;
        };
        let xin = x.requires_grad();
        let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
        let mut y = None;
        for _ in 0..iters {
            let t = Instant::now();
            let out = xin.conv2d(&c.weight, Some(&c.bias), same).unwrap();
            fwd.push(t.elapsed().as_secs_f64() * 1e3);
            let seed = out.ones_like();
            let t = Instant::now();
            out.backward_with(&seed).unwrap();
            bwd.push(t.elapsed().as_secs_f64() * 1e3);
            y = Some(out);
        }
        let (f, b) = (median(fwd), median(bwd));
        let s = x.shape();
        let flops = 2.0 * (c.weight.shape()[0] * s[1] * 9 * s[2] * s[3]) as f64;
        let name = format!("conv{block}_{index}");
        let shape = format!("{}×{}×{}", s[1], s[2], s[3]);
        println!(
            "{name:>8} {shape:>16} {f:>10.1} {b:>10.1} {:>9.1}",
            2.0 * flops / (f + b) / 1e6
        );
        x = y.unwrap().detach().relu().unwrap();
        index += 1;
    }
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

    let mut rng = Rng::new(0);
    let layers = build(&net, &mut rng);
    let image = Tensor::rand_uniform(&[1, 3, size, size], -1.0, 1.0, &mut rng).requires_grad();

    if args.iter().any(|a| a == "--layers") {
        per_layer(&layers, &image, iters);
    }

    let mut times = Vec::new();
    for i in 0..=iters {
        let t = Instant::now();
        let features = forward(&layers, &image);
        let grads = features.backward_with(&features.ones_like()).unwrap();
        assert!(grads.get(&image).is_some() && grads.len() == 1);
        if i > 0 {
            // iteration 0 is a warm-up (page faults, thread pools)
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let ms = median(times.clone());
    let gflop = 2.0 * forward_flops(&net, size) / 1e9;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    println!("impl      net    size  ms/iter  GFLOP/s  peak_MB  (median of {iters}; runs {times:.0?}; load {load})");
    println!(
        "ours      {net:<6} {size:>4} {ms:>8.0} {:>8.1} {:>8.0}",
        gflop / ms * 1e3,
        peak_rss_mb()
    );
}
