//! How much memory a run on VGG needs, worked out before anything large is allocated.
//!
//! A picture twice as wide and high needs four times the memory, and a style transfer at
//! 4000 px needs tens of gigabytes. Asking for more than the machine has used to end in an
//! allocation failure or the out-of-memory killer minutes into the run; with an estimate the
//! run is refused in milliseconds, with the size that would fit.
//!
//! The estimate adds up what the run holds at its busiest moment, item by item:
//!
//! - **fixed**: the network's weights (and the embedded file they were decoded from), the
//!   convolution algorithm's transformed weights (Winograd keeps 36 values per 3×3 kernel, for
//!   the forward pass and, flipped, for the input gradient; in half the bytes for the products
//!   that run in bf16) and its work buffers;
//! - **activations kept for the backward pass**: every layer's output from the input to the
//!   deepest layer asked for, plus the normalised input and the loss terms' intermediates;
//! - **gradients during the backward pass**: each requested layer's gradient waits until the
//!   layers above it have passed theirs down, beside the buffers of the layer in progress;
//! - **the optimiser**: L-BFGS keeps `2 × history` image-sized vectors (steps and gradient
//!   differences), Adam two moments;
//! - **targets and images**: content features, style Gram matrices, the pictures themselves.
//!
//! Runs have phases that never overlap (decoding the photos, computing the targets from the
//! style images, optimising); the estimate is the fixed part plus the largest phase, and its
//! breakdown lists that phase's items, plus 5 % for the allocator. It is meant as an upper-ish
//! bound: against the peak resident memory (VmHWM) of real `picasso` runs from 32 to 1024
//! pixels it comes out about 5–20 % above (the `memory_estimate_bounds_the_measured_peak` CLI
//! test checks it).
//!
//! Nothing here asks the machine anything: what is available is the caller's input (see
//! [`crate::io::host_memory`] for the CPU), so the same estimate serves any device.

use super::vgg::{LayerInfo, LayerKind, Vgg};
use crate::cpu::conv_winograd;
use crate::cpu::packed_gemm::{MR, NR};
use crate::cpu::packed_gemm_bf16::in_bf16;
use crate::error::Result;
use crate::geometry::{Conv2dGeometry, Conv2dParams};
use std::fmt;

/// Bytes per value: everything is f32.
const F32: f64 = 4.0;
/// Winograd F(4×4, 3×3) keeps a 6×6 tile of transformed weights per 3×3 kernel.
const WINOGRAD_TILE: f64 = 36.0;
/// The Winograd weight cache never holds more than this (see `cpu::winograd_cache`).
const WINOGRAD_CACHE_LIMIT: f64 = (1u64 << 30) as f64;
/// The CPU convolutions' work buffers hold at most this many floats each (16 MB), unless a
/// single row of Winograd tiles needs more.
const CPU_BAND_FLOATS: usize = 1 << 22;
/// The program itself: code, stacks, thread pools, the allocator's bookkeeping.
const PROGRAM_BYTES: f64 = (16u64 << 20) as f64;

/// A picture's size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSize {
    pub width: usize,
    pub height: usize,
}

impl ImageSize {
    pub fn new(width: usize, height: usize) -> Self {
        ImageSize { width, height }
    }

    fn pixels(self) -> f64 {
        self.width as f64 * self.height as f64
    }

    /// Bytes of an RGB f32 tensor `[1, 3, H, W]` of this size.
    pub fn rgb_bytes(self) -> f64 {
        3.0 * self.pixels() * F32
    }
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.width, self.height)
    }
}

/// Where the run computes: decides how convolutions spend memory beside the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Winograd with cached weight transforms and bounded work buffers, im2col elsewhere.
    Cpu,
    /// A CUDA GPU: tiled im2col into one bounded column buffer, and cuBLAS's work space.
    Cuda,
}

/// What cuBLAS allocates for itself on a GPU (its default work space on recent GPUs is
/// 32 MiB; twice that leaves room for the stream's pool to round up).
const CUBLAS_BYTES: f64 = (64u64 << 20) as f64;

/// What the optimiser keeps between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerMemory {
    /// `history` (step, gradient difference) pairs, each two image-sized vectors (half-sized
    /// in bf16, which also needs the newest pair rounded back to f32 while it is measured);
    /// with a preconditioner, two more image-sized vectors while the direction is formed (M·q
    /// and the q it is formed from).
    Lbfgs {
        history: usize,
        bf16_history: bool,
        preconditioned: bool,
    },
    /// Two moments, each image-sized.
    Adam,
}

/// A photo read from disk and resized for the run: decoding holds the full-size picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decode {
    pub file: ImageSize,
    pub working: ImageSize,
}

/// One scale of a style transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleTransferRun {
    pub content: ImageSize,
    pub styles: Vec<ImageSize>,
    pub content_layers: Vec<String>,
    pub style_layers: Vec<String>,
    pub optimizer: OptimizerMemory,
    /// Evaluations at this scale: L-BFGS cannot remember more pairs than it has taken steps.
    pub evaluations: usize,
    /// The photos decoded for this scale.
    pub decodes: Vec<Decode>,
}

/// What a run does with the network.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// One forward pass without gradients, keeping `layers` (`picasso features`), which the
    /// caller then copies `copies` times (to encode a file, say).
    Forward {
        image: ImageSize,
        layers: Vec<String>,
        decodes: Vec<Decode>,
        copies: usize,
    },
    /// Forward and backward passes on one picture up to `layer` (activation maximisation).
    Ascent { image: ImageSize, layer: String },
    /// Style transfer at one scale.
    StyleTransfer(StyleTransferRun),
}

/// One line of an estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryItem {
    pub what: String,
    pub bytes: u64,
}

/// The memory a run needs at its peak, with what it is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// The phase that needs the most ("optimising", "computing the style targets", …).
    pub phase: &'static str,
    /// Fixed items first, then the phase's, largest first within each.
    pub items: Vec<MemoryItem>,
}

impl MemoryEstimate {
    /// Bytes in all.
    pub fn total(&self) -> u64 {
        self.items
            .iter()
            .fold(0u64, |sum, i| sum.saturating_add(i.bytes))
    }

    /// Add something the caller keeps besides (GIF frames, an output file being encoded).
    pub fn with(mut self, what: impl Into<String>, bytes: u64) -> Self {
        if bytes > 0 {
            self.items.push(MemoryItem {
                what: what.into(),
                bytes,
            });
        }
        self
    }

    /// Whether it fits in `available` bytes.
    pub fn fits(&self, available: u64) -> bool {
        self.total() <= available
    }

    /// `2.1 GB (peak while optimising: activations 1.2 GB, L-BFGS history 600 MB, …)`, the
    /// items under 1 % of the total left out.
    pub fn describe(&self) -> String {
        let total = self.total();
        let shown: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.bytes.saturating_mul(100) >= total)
            .map(|i| format!("{} {}", i.what, format_bytes(i.bytes)))
            .collect();
        format!(
            "{} (peak {}: {})",
            format_bytes(total),
            self.phase,
            shown.join(", ")
        )
    }
}

/// `1.5 GB`, `340 MB`, `12 kB` (decimal units, as `free -h` and file managers show).
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{:.0} kB", b / 1e3),
        1_000_000..=999_999_999 => format!("{:.0} MB", b / 1e6),
        1_000_000_000..=99_999_999_999 => format!("{:.1} GB", b / 1e9),
        100_000_000_000..=999_999_999_999 => format!("{:.0} GB", b / 1e9),
        1_000_000_000_000..=99_999_999_999_999 => format!("{:.1} TB", b / 1e12),
        _ => format!("{:.0} TB", b / 1e12),
    }
}

/// Estimate what `workload` needs on `net` computing on `backend`. Errors only for a layer
/// name the network does not have.
pub fn estimate(net: &Vgg, workload: &Workload, backend: Backend) -> Result<MemoryEstimate> {
    let fixed = Phase::default()
        .item("the program", PROGRAM_BYTES)
        .item("network weights", net.parameter_count() as f64 * F32);
    let (fixed, phases) = match workload {
        Workload::Forward {
            image,
            layers,
            decodes,
            copies,
        } => {
            let plan = net.layers_up_to(layers)?;
            let conv = ConvUse::default().with_forward(&plan, *image);
            let kept = kept_bytes(&plan, layers, *image);
            let pass = Phase::named("computing the features")
                .item("the picture", image.rgb_bytes())
                .item("features kept", kept)
                .item(
                    "layer in progress",
                    in_progress_bytes(&plan, layers, *image),
                );
            let copying = Phase::named("copying the features")
                .item("the picture", image.rgb_bytes())
                .item("features kept", kept)
                .item("copies of the features", *copies as f64 * kept);
            let decoding = decode_phase(decodes);
            (
                conv.fixed(fixed, backend, &plan),
                vec![pass, copying, decoding],
            )
        }
        Workload::Ascent { image, layer } => {
            let layers = [layer.clone()];
            let plan = net.layers_up_to(&layers)?;
            let conv = ConvUse::default()
                .with_forward(&plan, *image)
                .with_backward(&plan, *image);
            let pass = Phase::named("the gradient-ascent steps")
                .item("the picture and its gradient", 6.0 * image.rgb_bytes())
                .item(
                    "activations kept for the backward pass",
                    graph_bytes(&plan, &layers, *image),
                )
                .item(
                    "gradients during the backward pass",
                    backward_bytes(&plan, &layers, *image),
                )
                .merge(conv.backward(backend, &plan));
            (conv.fixed(fixed, backend, &plan), vec![pass])
        }
        Workload::StyleTransfer(run) => style_transfer(net, run, fixed, backend)?,
    };
    let peak = phases
        .into_iter()
        .max_by(|a, b| a.total().total_cmp(&b.total()))
        .unwrap_or_default();
    let mut items = fixed.sorted_items();
    items.extend(peak.sorted_items());
    // Freed memory is not always handed back at once, and the allocator keeps its own
    // records: measured peaks sit up to a few per cent above the sum of the live buffers.
    let live = items
        .iter()
        .fold(0u64, |sum, i| sum.saturating_add(i.bytes));
    items.push(MemoryItem {
        what: "allocator slack (5 %)".to_string(),
        bytes: live / 20,
    });
    Ok(MemoryEstimate {
        phase: peak.name,
        items,
    })
}

/// The largest value in `low..=high` for which `fits` holds, assuming that whatever fits at a
/// value also fits below it (memory grows with the size and the history). `None` if even
/// `low` does not fit.
pub fn largest_fitting(low: u64, high: u64, fits: impl Fn(u64) -> bool) -> Option<u64> {
    if low > high || !fits(low) {
        return None;
    }
    let (mut good, mut bad) = (low, high.saturating_add(1));
    if fits(high) {
        return Some(high);
    }
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if fits(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some(good)
}

fn style_transfer(
    net: &Vgg,
    run: &StyleTransferRun,
    fixed: Phase,
    backend: Backend,
) -> Result<(Phase, Vec<Phase>)> {
    let mut layers = run.content_layers.clone();
    layers.extend(run.style_layers.iter().cloned());
    let plan = net.layers_up_to(&layers)?;
    let content = run.content;
    let mut conv = ConvUse::default()
        .with_forward(&plan, content)
        .with_backward(&plan, content);
    for &style in &run.styles {
        conv = conv.with_forward(&plan, style);
    }
    let style_images: f64 = run.styles.iter().map(|s| s.rgb_bytes()).sum();
    let pictures = 4.0 * content.rgb_bytes() + style_images;
    let targets = kept_bytes(&plan, &run.content_layers, content)
        + run
            .style_layers
            .iter()
            .map(|l| gram_bytes(&plan, l))
            .sum::<f64>();

    // Content and style images go through the network once, without gradients, to give the
    // targets; the largest such pass decides this phase.
    let mut setup = Phase::named("computing the targets");
    for (i, &image) in std::iter::once(&content).chain(&run.styles).enumerate() {
        let pass = Phase::named("computing the targets")
            .item("the photos", pictures)
            .item("features of one image", kept_bytes(&plan, &layers, image))
            .item(
                "layer in progress",
                in_progress_bytes(&plan, &layers, image),
            )
            .item("targets", if i == 0 { 0.0 } else { targets });
        if pass.total() > setup.total() {
            setup = pass;
        }
    }

    let image = content.rgb_bytes();
    let pairs = match run.optimizer {
        OptimizerMemory::Lbfgs { history, .. } => history.min(run.evaluations) as f64,
        OptimizerMemory::Adam => 0.0,
    };
    let optimizer = match run.optimizer {
        OptimizerMemory::Lbfgs {
            preconditioned,
            bf16_history,
            ..
        } => {
            let (pair_bytes, rounded_pair) = if bf16_history { (1.0, 2.0) } else { (2.0, 0.0) };
            let preconditioner = if preconditioned { 2.0 } else { 0.0 };
            Phase::default()
                .item("L-BFGS history", pair_bytes * pairs * image)
                .item(
                    "L-BFGS working vectors",
                    (6.0 + preconditioner + rounded_pair) * image,
                )
        }
        OptimizerMemory::Adam => Phase::default().item("Adam moments and step", 5.0 * image),
    };
    let styles_gram_work: f64 = run
        .style_layers
        .iter()
        .map(|l| 3.0 * gram_bytes(&plan, l))
        .sum();
    let content_loss_work = 2.0 * kept_bytes(&plan, &run.content_layers, content);
    let optimising = Phase::named("while optimising")
        .item("the photos", pictures)
        .item("targets", targets)
        .item(
            "activations kept for the backward pass",
            graph_bytes(&plan, &layers, content) + content_loss_work + styles_gram_work,
        )
        .item(
            "gradients during the backward pass",
            backward_bytes(&plan, &layers, content),
        )
        .item("the image, its gradient and the loss terms", 14.0 * image)
        .merge(optimizer)
        .merge(conv.backward(backend, &plan));
    let phases = vec![decode_phase(&run.decodes), setup, optimising];
    Ok((conv.fixed(fixed, backend, &plan), phases))
}

/// Decoding a photo holds the file's pixels (as decoded and as RGB) and the resized copy.
fn decode_phase(decodes: &[Decode]) -> Phase {
    let worst = decodes
        .iter()
        .map(|d| {
            let file = d.file.pixels();
            // 8 bytes a pixel for the decoded and the RGB copy (grey or RGBA files convert),
            // the resize's intermediate rows (f32 RGB, output width × input height) and result.
            8.0 * file
                + 12.0 * d.working.width as f64 * d.file.height as f64
                + d.working.rgb_bytes()
        })
        .fold(0.0, f64::max);
    Phase::named("decoding the photos").item("the photo being decoded and resized", worst)
}

/// Bytes of one layer's output for an input of `image`.
fn layer_bytes(layer: &LayerInfo, image: ImageSize) -> f64 {
    let (h, w) = layer.output_size(image.height, image.width);
    layer.channels as f64 * h as f64 * w as f64 * F32
}

/// The requested layers' outputs.
fn kept_bytes(plan: &[LayerInfo], requested: &[String], image: ImageSize) -> f64 {
    plan.iter()
        .filter(|l| requested.contains(&l.name))
        .map(|l| layer_bytes(l, image))
        .sum()
}

/// A forward pass without gradients at its busiest, beyond the requested layers it keeps:
/// each op's input (unless it is kept anyway) beside its output. A convolution nobody asked
/// for is one op with its ReLU.
fn in_progress_bytes(plan: &[LayerInfo], requested: &[String], image: ImageSize) -> f64 {
    let mut input = 3.0 * image.pixels() * F32;
    let mut input_kept = false;
    let mut busiest = 0.0f64;
    for l in plan {
        let fused = matches!(l.kind, LayerKind::Conv { .. }) && !requested.contains(&l.name);
        if fused {
            continue;
        }
        let output = layer_bytes(l, image);
        let kept = requested.contains(&l.name);
        let transient = if input_kept { 0.0 } else { input } + if kept { 0.0 } else { output };
        busiest = busiest.max(transient);
        (input, input_kept) = (output, kept);
    }
    busiest
}

/// The largest output along the pass.
fn largest_bytes(plan: &[LayerInfo], image: ImageSize) -> f64 {
    plan.iter()
        .map(|l| layer_bytes(l, image))
        .fold(0.0, f64::max)
}

/// A style layer's Gram matrix, C × C.
fn gram_bytes(plan: &[LayerInfo], layer: &str) -> f64 {
    plan.iter()
        .find(|l| l.name == layer)
        .map_or(0.0, |l| (l.channels * l.channels) as f64 * F32)
}

/// What the autodiff graph keeps of a pass: every ReLU and pooling output (a convolution's own
/// output only when it was asked for; otherwise convolution and ReLU are one op), and the
/// normalised input (three image-sized intermediates).
fn graph_bytes(plan: &[LayerInfo], requested: &[String], image: ImageSize) -> f64 {
    let kept: f64 = plan
        .iter()
        .filter(|l| match l.kind {
            LayerKind::Conv { .. } => requested.contains(&l.name),
            LayerKind::Relu | LayerKind::Pool => true,
        })
        .map(|l| layer_bytes(l, image))
        .sum();
    kept + 3.0 * image.rgb_bytes()
}

/// The backward pass at its busiest: the gradients of the requested layers waiting for the
/// rest of theirs to arrive from above, beside the layer in progress (its output gradient,
/// that masked by the ReLU, the input gradient being written, and their sum with a waiting
/// one).
fn backward_bytes(plan: &[LayerInfo], requested: &[String], image: ImageSize) -> f64 {
    kept_bytes(plan, requested, image) + 3.0 * largest_bytes(plan, image)
}

/// Which convolutions run at which sizes, for the work space their algorithm needs.
#[derive(Default)]
struct ConvUse {
    /// (layer index, output size, forward or input-gradient) for every convolution run.
    runs: Vec<(usize, ImageSize, bool)>,
}

impl ConvUse {
    fn with_forward(mut self, plan: &[LayerInfo], image: ImageSize) -> Self {
        self.add(plan, image, false);
        self
    }

    fn with_backward(mut self, plan: &[LayerInfo], image: ImageSize) -> Self {
        self.add(plan, image, true);
        self
    }

    fn add(&mut self, plan: &[LayerInfo], image: ImageSize, input_grad: bool) {
        for (i, l) in plan.iter().enumerate() {
            if matches!(l.kind, LayerKind::Conv { .. }) {
                let (h, w) = l.output_size(image.height, image.width);
                self.runs.push((i, ImageSize::new(w, h), input_grad));
            }
        }
    }

    /// The fixed items of the convolution algorithm on `backend`: what the forward passes
    /// need, from the first pass on.
    fn fixed(&self, fixed: Phase, backend: Backend, plan: &[LayerInfo]) -> Phase {
        match backend {
            Backend::Cpu => fixed
                .item(
                    "Winograd weight transforms",
                    self.cpu_winograd_cache(plan, false),
                )
                .item("convolution work buffers", self.cpu_work_buffers(plan)),
            Backend::Cuda => fixed
                .item("convolution column buffer", self.cuda_column_buffer(plan))
                .item("cuBLAS work space", CUBLAS_BYTES),
        }
    }

    /// The GPU's im2col buffer: a tile of output rows of the largest convolution run, capped
    /// as `cuda::conv` caps it (one buffer alive at a time: each convolution frees its own).
    fn cuda_column_buffer(&self, plan: &[LayerInfo]) -> f64 {
        let limit = crate::cuda::conv::MAX_COL_FLOATS;
        let mut floats = 0usize;
        for &(i, size, _) in &self.runs {
            let LayerKind::Conv { in_channels } = plan[i].kind else {
                continue;
            };
            let patch = in_channels * 9;
            let rows = (limit / (patch * size.width).max(1)).clamp(1, size.height.max(1));
            floats = floats.max(patch * size.width * rows);
        }
        floats as f64 * F32
    }

    /// What the backward passes add, from the first backward pass on.
    fn backward(&self, backend: Backend, plan: &[LayerInfo]) -> Phase {
        match backend {
            Backend::Cpu => {
                let room = WINOGRAD_CACHE_LIMIT - self.cpu_winograd_cache(plan, false);
                Phase::default().item(
                    "Winograd transforms for the input gradient",
                    self.cpu_winograd_cache(plan, true).min(room),
                )
            }
            Backend::Cuda => Phase::default(),
        }
    }

    /// The transformed weights the CPU caches for one direction: one per convolution that
    /// runs with Winograd at any of its sizes.
    fn cpu_winograd_cache(&self, plan: &[LayerInfo], direction: bool) -> f64 {
        let mut cached: Vec<usize> = Vec::new();
        let mut bytes = 0.0;
        for &(i, size, input_grad) in &self.runs {
            let LayerKind::Conv { in_channels } = plan[i].kind else {
                continue;
            };
            if input_grad != direction {
                continue;
            }
            let (c, o) = if input_grad {
                (plan[i].channels, in_channels)
            } else {
                (in_channels, plan[i].channels)
            };
            if cached.contains(&i) || !cpu_uses_winograd(c, o, size) {
                continue;
            }
            cached.push(i);
            // Weights that multiply in bf16 are kept as bf16 pairs along the input channels
            // (an odd count padded with a zero): 2 bytes a value.
            let (depth, per_value) = if in_bf16(direction) {
                (c.div_ceil(2) * 2, 2.0)
            } else {
                (c, F32)
            };
            bytes += WINOGRAD_TILE * o.next_multiple_of(MR) as f64 * depth as f64 * per_value;
        }
        bytes.min(WINOGRAD_CACHE_LIMIT)
    }

    /// Winograd's band buffers (three pairs alive with the reuse pool) and im2col's column
    /// buffer, each as large as the largest convolution run needs.
    fn cpu_work_buffers(&self, plan: &[LayerInfo]) -> f64 {
        let (mut band_pair, mut column) = (0.0f64, 0.0f64);
        for &(i, size, input_grad) in &self.runs {
            let LayerKind::Conv { in_channels } = plan[i].kind else {
                continue;
            };
            let (c, o) = if input_grad {
                (plan[i].channels, in_channels)
            } else {
                (in_channels, plan[i].channels)
            };
            if cpu_uses_winograd(c, o, size) {
                band_pair = band_pair.max(winograd_band_pair_bytes(c, o, size));
            } else {
                // Both directions tile the forward convolution's columns.
                column = column.max(im2col_column_bytes(in_channels, size));
            }
        }
        3.0 * band_pair + column
    }
}

/// The transformed input and the GEMM output of one band of tile rows (as `conv_winograd`
/// sizes them: as many rows as fit in 16 MB, at least one).
fn winograd_band_pair_bytes(c: usize, o: usize, size: ImageSize) -> f64 {
    let (tiles_h, tiles_w) = (size.height.div_ceil(4), size.width.div_ceil(4));
    let channels = c + o.next_multiple_of(MR);
    let row = WINOGRAD_TILE as usize * channels * tiles_w;
    let band_rows = (CPU_BAND_FLOATS / row.max(1)).clamp(1, tiles_h.max(1));
    let tiles = (band_rows * tiles_w).next_multiple_of(NR);
    WINOGRAD_TILE * channels as f64 * tiles as f64 * F32
}

/// im2col's column buffer for a 3×3 convolution with `c` inputs (as `cpu::conv` sizes it:
/// about 4096 output pixels a tile, at most 16 MB).
fn im2col_column_bytes(c: usize, size: ImageSize) -> f64 {
    let patch = 9 * c;
    let wanted = 4096usize.div_ceil(size.width.max(1));
    let affordable = CPU_BAND_FLOATS / (patch * size.width).max(1);
    let rows = wanted.min(affordable).clamp(1, size.height.max(1));
    (patch * rows * size.width) as f64 * F32
}

/// Whether the CPU runs this 3×3 convolution (`c` in, `o` out, output `size`) with Winograd.
fn cpu_uses_winograd(c: usize, o: usize, size: ImageSize) -> bool {
    let Ok(g) = Conv2dGeometry::new(
        &[1, c, size.height, size.width],
        &[o, c, 3, 3],
        Conv2dParams::square(1, 1, 1),
    ) else {
        return false;
    };
    conv_winograd::supports(&g) && conv_winograd::pays_off(&g)
}

/// Named amounts of memory that are alive at the same time.
#[derive(Clone, Debug, Default)]
struct Phase {
    name: &'static str,
    items: Vec<(String, f64)>,
}

impl Phase {
    fn named(name: &'static str) -> Self {
        Phase {
            name,
            items: Vec::new(),
        }
    }

    fn item(mut self, what: &str, bytes: f64) -> Self {
        self.items.push((what.to_string(), bytes));
        self
    }

    fn merge(mut self, other: Phase) -> Self {
        self.items.extend(other.items);
        self
    }

    fn total(&self) -> f64 {
        self.items.iter().map(|(_, b)| b).sum()
    }

    fn sorted_items(&self) -> Vec<MemoryItem> {
        let mut items: Vec<MemoryItem> = self
            .items
            .iter()
            .filter(|(_, b)| *b > 0.0)
            .map(|(what, b)| MemoryItem {
                what: what.clone(),
                // `as` saturates: a absurd size gives u64::MAX, not a wrapped small number.
                bytes: b.ceil() as u64,
            })
            .collect();
        items.sort_by_key(|i| std::cmp::Reverse(i.bytes));
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_fitting_finds_the_boundary() {
        assert_eq!(
            largest_fitting(16, 10_000, |s| s * s <= 1_000_000),
            Some(1000)
        );
        assert_eq!(largest_fitting(16, 500, |s| s <= 1000), Some(500));
        assert_eq!(largest_fitting(16, 500, |_| false), None);
    }

    fn paper_run(size: ImageSize, optimizer: OptimizerMemory) -> Workload {
        let names = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect();
        Workload::StyleTransfer(StyleTransferRun {
            content: size,
            styles: vec![size],
            content_layers: names(&["relu4_2"]),
            style_layers: names(&["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]),
            optimizer,
            evaluations: 300,
            decodes: Vec::new(),
        })
    }

    #[test]
    fn style_transfer_memory_grows_with_the_picture_and_the_history() {
        let vgg = crate::models::load_embedded_vgg16().unwrap();
        let at = |w, h, optimizer| {
            estimate(
                &vgg,
                &paper_run(ImageSize::new(w, h), optimizer),
                Backend::Cpu,
            )
            .unwrap()
            .total()
        };
        let lbfgs = |history| OptimizerMemory::Lbfgs {
            history,
            bf16_history: false,
            preconditioned: false,
        };
        let small = at(256, 256, lbfgs(100));
        let large = at(1024, 1024, lbfgs(100));
        // 16× the pixels: less than 16× the memory, as the weights and their transforms are
        // the same, but the image-sized part dominates at 1024 px.
        assert!(large > 6 * small && large < 16 * small, "{small} → {large}");
        // Each remembered pair is two RGB f32 images (plus the allocator's 5 %).
        let pairs = at(512, 512, lbfgs(100)) - at(512, 512, lbfgs(50));
        let expected = 50.0 * 2.0 * ImageSize::new(512, 512).rgb_bytes() * 1.05;
        assert!(
            (pairs as f64 - expected).abs() < 1e-3 * expected,
            "{pairs} vs {expected}"
        );
        assert!(at(512, 512, OptimizerMemory::Adam) < at(512, 512, lbfgs(100)));
        // The preconditioner's two vectors (M·q and q).
        let lifted = OptimizerMemory::Lbfgs {
            bf16_history: false,
            history: 100,
            preconditioned: true,
        };
        let extra = at(512, 512, lifted) - at(512, 512, lbfgs(100));
        let expected = 2.0 * ImageSize::new(512, 512).rgb_bytes() * 1.05;
        assert!(
            (extra as f64 - expected).abs() < 1e-3 * expected,
            "{extra} vs {expected}"
        );
        // A history in bf16: each pair half the bytes, and the newest pair rounded back to
        // f32 (two images) while it is measured.
        let halved = OptimizerMemory::Lbfgs {
            bf16_history: true,
            history: 100,
            preconditioned: false,
        };
        let saved = at(512, 512, lbfgs(100)) - at(512, 512, halved);
        let expected = (100.0 - 2.0) * ImageSize::new(512, 512).rgb_bytes() * 1.05;
        assert!(
            (saved as f64 - expected).abs() < 1e-3 * expected,
            "{saved} vs {expected}"
        );
        // Fewer evaluations than the history: only as many pairs as steps.
        let mut short = paper_run(ImageSize::new(512, 512), lbfgs(100));
        if let Workload::StyleTransfer(run) = &mut short {
            run.evaluations = 10;
        }
        let short = estimate(&vgg, &short, Backend::Cpu).unwrap().total();
        assert!(short < at(512, 512, lbfgs(50)));
        // An absurd size saturates instead of wrapping round to something small.
        assert!(at(1 << 30, 1 << 30, lbfgs(100)) > 1 << 60);
    }

    #[test]
    fn a_4096_pixel_stylization_fits_on_one_h200() {
        // 4096×3072 (a 4:3 photo), VGG16, L-BFGS with history 100, on a GPU with the
        // H200's 139 GiB (143 771 MiB as nvidia-smi reports it).
        let vgg = crate::models::load_embedded_vgg16().unwrap();
        let run = paper_run(
            ImageSize::new(4096, 3072),
            OptimizerMemory::Lbfgs {
                bf16_history: false,
                history: 100,
                preconditioned: true,
            },
        );
        let gpu = estimate(&vgg, &run, Backend::Cuda).unwrap();
        println!("4096×3072 on a GPU: {}", gpu.describe());
        assert!(gpu.fits(143_771 << 20), "{}", gpu.describe());
        // The GPU keeps no Winograd transforms; its one column buffer is bounded.
        let cpu = estimate(&vgg, &run, Backend::Cpu).unwrap();
        assert!(gpu.total() < cpu.total());
        assert!(gpu.items.iter().all(|i| !i.what.contains("Winograd")));
    }

    #[test]
    fn deeper_layers_need_larger_pictures_and_unknown_ones_are_named() {
        let vgg = crate::models::load_embedded_vgg16().unwrap();
        let side = |l: &str| vgg.min_input_side(&[l.to_string()]).unwrap();
        assert_eq!(side("relu1_1"), 1);
        assert_eq!(side("pool1"), 2);
        assert_eq!(side("relu5_1"), 16);
        assert_eq!(side("pool5"), 32);
        let e = vgg.min_input_side(&["relu9_1".to_string()]).unwrap_err();
        assert!(e.to_string().contains("unknown layer `relu9_1`"), "{e}");
        let forward = Workload::Forward {
            image: ImageSize::new(64, 64),
            layers: vec!["relu9_1".into()],
            decodes: Vec::new(),
            copies: 0,
        };
        assert!(estimate(&vgg, &forward, Backend::Cpu).is_err());
    }

    #[test]
    fn bytes_read_like_a_file_manager() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(340_000_000), "340 MB");
        assert_eq!(format_bytes(2_100_000_000), "2.1 GB");
    }
}
