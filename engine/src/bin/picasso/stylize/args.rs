//! Every knob of `picasso stylize`, with the defaults documented in the book's gallery chapter.

use crate::network::NetworkArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// How the paintings' colours are treated before the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorTransferArg {
    None,
    Histogram,
    MeanCov,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Quasi-Newton, the quality reference (memory ≈ pixels × 2 × history).
    Lbfgs,
    /// First-order, memory-light.
    Adam,
}

/// What L-BFGS scales the directions its history has not explored yet by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PreconditionArg {
    /// One number, γ, for every direction: the classic method.
    None,
    /// γ·M, M lifting the picture's coarse structure (16-pixel blocks, 3×): the same loss in
    /// fewer evaluations on the pairs measured.
    Coarse,
}

/// How L-BFGS keeps its (s, y) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryPrecisionArg {
    /// f32, as the picture: the classic method.
    F32,
    /// bf16, each pair rounded to about three digits when kept: half the memory, and each step
    /// reads half the bytes.
    Bf16,
}

impl From<HistoryPrecisionArg> for engine::style::HistoryPrecision {
    fn from(arg: HistoryPrecisionArg) -> Self {
        match arg {
            HistoryPrecisionArg::F32 => Self::F32,
            HistoryPrecisionArg::Bf16 => Self::Bf16,
        }
    }
}

/// Which of the 3×3 convolutions' matrix products use bf16 dot products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bf16Arg {
    /// f32 throughout.
    Off,
    /// The backward pass's only; the loss, which the line search compares, stays f32.
    Backward,
    /// Forward and backward.
    All,
}

impl From<Bf16Arg> for engine::cpu::packed_gemm_bf16::Bf16Use {
    fn from(arg: Bf16Arg) -> Self {
        match arg {
            Bf16Arg::Off => Self::Off,
            Bf16Arg::Backward => Self::Backward,
            Bf16Arg::All => Self::All,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LineSearchArg {
    /// Fixed step length --lr: one evaluation per step (PyTorch's default).
    None,
    /// Search each step for a length that satisfies the strong Wolfe conditions (PyTorch's
    /// line_search_fn="strong_wolfe"): steadier, sometimes several evaluations per step.
    StrongWolfe,
}

/// Evaluations at the final size by default (PyTorch's and the classic implementations' usual
/// budget at 512 px; the coarse sizes before it add about 1/16 to the time).
pub const DEFAULT_ITERS: usize = 300;

#[derive(Args, Debug)]
pub struct StylizeArgs {
    /// The photo to repaint.
    pub content: PathBuf,
    /// One or more paintings whose style to use.
    #[arg(required = true)]
    pub styles: Vec<PathBuf>,
    /// Output image (.png or .jpg); written atomically, never over an input.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Long side of the result in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Function evaluations (forward + backward passes, line-search ones included) at the final
    /// size; each coarser size gets a quarter as many (the default paints 512 px as 75 at
    /// 256 px, then 300 at 512 px), unless --multiscale gives counts (256:100,512:300).
    #[arg(long, default_value_t = DEFAULT_ITERS)]
    pub iters: usize,
    /// Stop after this much wall-clock time (e.g. 90s, 2m, 1m30s) with the best picture the
    /// schedule reaches: each size gets a share in proportion to its work. Ctrl-C still stops
    /// at once with the latest picture.
    #[arg(long, value_name = "DURATION")]
    pub time: Option<String>,
    /// How the pixels are moved towards a lower loss.
    #[arg(long, value_enum, default_value = "lbfgs")]
    pub optimizer: OptimizerArg,
    /// L-BFGS history size: fewer saves memory at high resolution.
    #[arg(long, default_value_t = 100)]
    pub history: usize,
    /// How L-BFGS keeps its history (chapter 9.1): `bf16` in half the memory, each step
    /// reading half the bytes; `f32` is the classic method (PyTorch's). Default: bf16 with
    /// L-BFGS (Adam keeps no history).
    #[arg(long, value_enum)]
    pub history_precision: Option<HistoryPrecisionArg>,
    /// L-BFGS's preconditioner (chapter 9.1): `coarse` moves the picture's large areas further
    /// before the history has learned their curvature; `none` is the classic method (PyTorch's).
    /// Default: coarse with L-BFGS (Adam has none).
    #[arg(long, value_enum)]
    pub precondition: Option<PreconditionArg>,
    /// L-BFGS step length: fixed, or found by a line search (its evaluations count in --iters).
    /// Default: strong-wolfe while the pixels are kept in range (a fixed step that the range
    /// cuts short can climb instead of descend, so none needs --unbounded), none with
    /// --unbounded (PyTorch's default).
    #[arg(long, value_enum)]
    pub line_search: Option<LineSearchArg>,
    /// Step size: L-BFGS step length, or Adam's learning rate in pixel units (0..255).
    #[arg(long)]
    pub lr: Option<f32>,
    /// Let pixels leave 0..255 while optimising, as the classic implementations do. By
    /// default the optimiser keeps them in range, so the saved PNG is the optimum it reports;
    /// unbounded, saving clamps them and the saved picture scores worse than reported.
    #[arg(long)]
    pub unbounded: bool,
    /// α: weight of the content term.
    #[arg(long, default_value_t = 1.0)]
    pub content_weight: f32,
    /// β: weight of the style term.
    #[arg(long, default_value_t = 1000.0)]
    pub style_weight: f32,
    /// γ: weight of the total-variation (smoothness) term.
    #[arg(long, default_value_t = 0.1)]
    pub tv_weight: f32,
    /// Content layers with optional weights, e.g. `relu4_2` or `relu4_2:1,relu5_2:0.5`.
    #[arg(long, default_value = "relu4_2")]
    pub content_layers: String,
    /// Style layers with optional weights (default: the paper's five, 1/5 each).
    #[arg(long, default_value = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1")]
    pub style_layers: String,
    /// Relative weights of several styles, e.g. `0.7,0.3` (default: equal).
    #[arg(long, value_delimiter = ',')]
    pub style_blend: Option<Vec<f32>>,
    /// Style images are resized to size × this: below 1 copies the painting's larger motifs,
    /// above 1 its fine brushwork.
    #[arg(long, default_value_t = 1.0)]
    pub style_scale: f32,
    /// Starting image: `content`, `noise`, or the path of an image.
    #[arg(long, default_value = "content")]
    pub init: String,
    /// Seed for `--init noise`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Save a numbered intermediate image every N evaluations (OUT_0010.png, …).
    #[arg(long, value_name = "N")]
    pub save_every: Option<usize>,
    /// Write an animated GIF of the optimisation to this file.
    #[arg(long, value_name = "FILE.gif")]
    pub gif: Option<PathBuf>,
    /// Keep the content's colours: the result's luminance with the photo's chrominance.
    #[arg(long)]
    pub original_colors: bool,
    /// Recolour the paintings to the photo's palette before the transfer (Gatys et al. 2017):
    /// `histogram` matches each channel's histogram, `mean-cov` the colours' mean and
    /// covariance.
    #[arg(long, value_enum, default_value = "none", conflicts_with_all = ["original_colors", "luminance_only"])]
    pub color_transfer: ColorTransferArg,
    /// Where a painting acts: PAINTING=MASK.png, white where it paints, black where the photo
    /// stays (PAINTING: its path as given, its file name, or its number). Repeat for each.
    #[arg(long, value_name = "PAINTING=MASK")]
    pub style_mask: Vec<String>,
    /// Transfer on luminance only (Gatys et al. 2017), then restore the photo's colours.
    #[arg(long, conflicts_with = "original_colors")]
    pub luminance_only: bool,
    /// Coarse-to-fine sizes, each started from the previous result upsampled (with the photo's
    /// finer detail added back when the run starts from the photo). The default
    /// (`auto`) halves from --size down to ≥ 256 (512 → 256,512); or a list such as
    /// 256,512,1024, each size optionally with its evaluations (256:100,512:300).
    #[arg(long, value_name = "SIZES", num_args = 0..=1, default_missing_value = "auto")]
    pub multiscale: Option<String>,
    /// Paint at --size only, without the coarse sizes (the classic single-scale run).
    #[arg(long, conflicts_with = "multiscale")]
    pub single_scale: bool,
    /// bf16 dot products (f32 sums) in the 3×3 convolutions' matrix products, on CPUs with
    /// AVX-512 BF16 (elsewhere, and on a GPU, f32 throughout). Faster; the picture differs
    /// slightly: `backward` stayed within 1 % of f32's loss after 100 evaluations, `all` did
    /// not (the performance appendix has the measurements).
    #[arg(long, value_enum, default_value = "off")]
    pub bf16: Bf16Arg,
    /// Write a JSON report: loss terms, evaluations, timing, loss history, settings.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Don't draw a progress bar (loss lines are printed every 10 evaluations instead).
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub network: NetworkArgs,
}
