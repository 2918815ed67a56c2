//! Turning the command line into a checked plan before any slow work starts: a typo in a layer
//! name or an output over an input should fail in milliseconds, not after the network loads.

use super::args::{HistoryPrecisionArg, LineSearchArg, OptimizerArg, PreconditionArg, StylizeArgs};
use super::masks::MaskFiles;
use super::schedule::{deadlines, evaluations_per_size, halving_sizes, parse_duration};
use engine::io::image::{read_dimensions, DEFAULT_MAX_PIXELS};
use engine::io::{check_outputs, OutputKind, PlannedOutput};
use engine::style::{
    Bounds, CoarseLift, ImageOptimizer, LayerWeight, LbfgsConfig, LineSearch, ObjectiveConfig,
};
use engine::{Error, Result};
use std::path::{Path, PathBuf};

/// Where the optimisation starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    Content,
    Noise,
    File(PathBuf),
}

/// Everything `stylize` needs, validated.
pub struct Plan {
    /// Long side of each stage, coarse to fine.
    pub sizes: Vec<u32>,
    /// Evaluations at each size, and those the command line set explicitly (`256:75`): the
    /// others follow `--iters` (see `schedule::evaluations_per_size`).
    pub evaluations: Vec<usize>,
    pub counts: Vec<Option<usize>>,
    /// Whether the sizes are a list given with `--multiscale` (else they follow `--size`).
    pub sizes_listed: bool,
    /// `--time`: the wall-clock budget for the whole schedule.
    pub time_budget: Option<std::time::Duration>,
    pub objective: ObjectiveConfig,
    pub optimizer: ImageOptimizer,
    pub blend: Vec<f32>,
    pub init: Init,
    /// Every path the run reads: nothing may be written over these.
    pub inputs: Vec<PathBuf>,
    /// Width and height of the content, style and `--init` files, from their headers.
    pub content_file: (u32, u32),
    pub style_files: Vec<(u32, u32)>,
    pub init_file: Option<(u32, u32)>,
    /// `--style-mask` files, one entry per painting (`None`: it acts everywhere).
    pub masks: MaskFiles,
    /// Every file the run writes (checked, then locked, before any work).
    pub outputs: Vec<PlannedOutput>,
}

/// `relu4_2` or `relu4_2:0.5,relu5_2:1` → layers with weights.
pub fn parse_layers(
    flag: &'static str,
    spec: &str,
    default_weight: f32,
) -> Result<Vec<LayerWeight>> {
    let layers: Vec<LayerWeight> = spec
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| match item.split_once(':') {
            None => Ok(LayerWeight::new(item.trim(), default_weight)),
            Some((name, w)) => {
                let weight: f32 = w.trim().parse().map_err(|_| {
                    Error::invalid(flag, format!("`{w}` in `{item}` is not a number"))
                })?;
                if !(weight.is_finite() && weight >= 0.0) {
                    return Err(Error::invalid(
                        flag,
                        format!("layer weight must be ≥ 0, got {weight}"),
                    ));
                }
                Ok(LayerWeight::new(name.trim(), weight))
            }
        })
        .collect::<Result<_>>()?;
    if layers.is_empty() {
        return Err(Error::invalid(
            flag,
            "needs at least one layer, e.g. relu4_2",
        ));
    }
    Ok(layers)
}

/// The coarse-to-fine sizes, each with the evaluations written after it (`256:75`), if any:
/// `--single-scale` → just `size`; no flag or `auto` → halve down to ≥ 256; or a list.
fn parse_sizes(
    size: u32,
    single_scale: bool,
    multiscale: Option<&str>,
) -> Result<(Vec<u32>, Vec<Option<usize>>)> {
    let stages: Vec<(u32, Option<usize>)> = match multiscale {
        _ if single_scale => vec![(size, None)],
        None | Some("auto") => halving_sizes(size).into_iter().map(|s| (s, None)).collect(),
        Some(list) => list
            .split(',')
            .map(parse_stage)
            .collect::<Result<Vec<_>>>()?,
    };
    let (sizes, counts): (Vec<u32>, Vec<Option<usize>>) = stages.into_iter().unzip();
    // How small is too small depends on the layers; see `fit`.
    if sizes.contains(&0) {
        return Err(Error::invalid(
            "--size",
            format!("sizes are in pixels and must be at least 1, got {sizes:?}"),
        ));
    }
    if sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid(
            "--multiscale",
            format!("sizes must increase from coarse to fine, got {sizes:?}"),
        ));
    }
    Ok((sizes, counts))
}

/// `512` or `512:200` (a size and its evaluations).
fn parse_stage(item: &str) -> Result<(u32, Option<usize>)> {
    let (size, count) = match item.split_once(':') {
        Some((size, count)) => (size, Some(count)),
        None => (item, None),
    };
    let size = size.trim().parse::<u32>().map_err(|_| {
        Error::invalid(
            "--multiscale",
            format!("`{item}` is not a size in pixels, optionally with evaluations (512:200)"),
        )
    })?;
    let count = match count.map(|c| c.trim().parse::<usize>()) {
        None => None,
        Some(Ok(n)) if n >= 1 => Some(n),
        Some(_) => {
            return Err(Error::invalid(
                "--multiscale",
                format!("`{item}`: the evaluations after `:` must be a whole number ≥ 1"),
            ))
        }
    };
    Ok((size, count))
}

impl Plan {
    /// With a time budget, when each size must hand over, counted from the run's start
    /// (`schedule::deadlines`); `stylize --time` and the page's time limit both use it.
    pub fn deadlines(&self) -> Option<Vec<std::time::Duration>> {
        self.time_budget
            .map(|budget| deadlines(&self.sizes, &self.evaluations, budget))
    }

    pub fn from_args(args: &StylizeArgs) -> Result<Self> {
        let mut inputs = vec![args.content.clone()];
        inputs.extend(args.styles.iter().cloned());
        let init = match args.init.as_str() {
            "content" => Init::Content,
            "noise" => Init::Noise,
            path => {
                inputs.push(PathBuf::from(path));
                Init::File(PathBuf::from(path))
            }
        };
        if let Some(w) = &args.network.weights {
            inputs.push(w.clone());
            check_weights_file(w)?;
        }
        // Every picture's size from its header: a missing file, a folder, a damaged or
        // oversized image is refused now, not after the network has loaded.
        let dimensions = |p: &PathBuf| read_dimensions(p, DEFAULT_MAX_PIXELS);
        let content_file = dimensions(&args.content)?;
        let style_files = args
            .styles
            .iter()
            .map(dimensions)
            .collect::<Result<Vec<_>>>()?;
        let init_file = match &init {
            Init::File(p) => Some(dimensions(p)?),
            _ => None,
        };
        let masks = super::masks::parse(&args.style_mask, &args.styles, content_file)?;
        inputs.extend(masks.iter().flatten().cloned());
        let (sizes, counts) =
            parse_sizes(args.size, args.single_scale, args.multiscale.as_deref())?;
        let evaluations = evaluations_per_size(&counts, args.iters);
        let time_budget = args.time.as_deref().map(parse_duration).transpose()?;
        let outputs = outputs(args, sizes.len());
        check_outputs(&outputs, &inputs)?;
        let blend = check_blend(args)?;
        check_step_settings(args)?;
        if !(args.style_scale.is_finite() && args.style_scale > 0.0) {
            return Err(Error::invalid("--style-scale", "must be a positive number"));
        }
        if args.save_every == Some(0) {
            return Err(Error::invalid("--save-every", "must be at least 1"));
        }
        if args.iters == 0 {
            return Err(Error::invalid("--iters", "must be at least 1"));
        }
        for (name, w) in [
            ("--content-weight", args.content_weight),
            ("--style-weight", args.style_weight),
            ("--tv-weight", args.tv_weight),
        ] {
            // -0.0 passes `>= 0.0` and is zero: it is taken as 0 (see `zero_is_zero`).
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("must be a number ≥ 0, got {w}"),
                ));
            }
        }
        let style_layers = parse_layers("--style-layers", &args.style_layers, 1.0)?;
        // Unweighted style layers share the weight equally, as in the paper.
        let explicit = args.style_layers.contains(':');
        let share = 1.0 / style_layers.len() as f32;
        let style_layers = style_layers
            .into_iter()
            .map(|l| {
                if explicit {
                    l
                } else {
                    LayerWeight { weight: share, ..l }
                }
            })
            .collect();
        // The pixels' box: what a PNG can hold.
        let bounds = (!args.unbounded).then_some(Bounds::PIXELS);
        let line_search = match (args.line_search, args.optimizer, bounds) {
            (Some(LineSearchArg::None), OptimizerArg::Lbfgs, Some(_)) => {
                return Err(Error::invalid(
                    "--line-search none",
                    "fixed L-BFGS steps that the 0..255 range cuts short are no longer \
                     quasi-Newton steps and can climb instead of descend; keep the default \
                     (strong-wolfe) with the range, or add --unbounded for the classic \
                     fixed-step method (PyTorch's default)",
                ))
            }
            (Some(LineSearchArg::None), ..) => LineSearch::None,
            (Some(LineSearchArg::StrongWolfe), ..) => LineSearch::StrongWolfe,
            // Projected L-BFGS: the projection changes the quasi-Newton step, so only a
            // search keeps the loss going down (ch09, "Keeping the pixels in range").
            (None, OptimizerArg::Lbfgs, Some(_)) => LineSearch::StrongWolfe,
            (None, ..) => LineSearch::None,
        };
        let optimizer = match args.optimizer {
            OptimizerArg::Lbfgs => ImageOptimizer::Lbfgs(LbfgsConfig {
                history: args.history,
                history_precision: args
                    .history_precision
                    .unwrap_or(HistoryPrecisionArg::Bf16)
                    .into(),
                lr: args.lr.unwrap_or(1.0),
                line_search,
                bounds,
                preconditioner: match args.precondition {
                    Some(PreconditionArg::None) => None,
                    Some(PreconditionArg::Coarse) | None => Some(CoarseLift::DEFAULT),
                },
                ..LbfgsConfig::default()
            }),
            OptimizerArg::Adam if args.history_precision.is_some() => {
                return Err(Error::invalid(
                    "--history-precision",
                    "applies to --optimizer lbfgs only; Adam keeps no history of steps",
                ))
            }
            OptimizerArg::Adam if args.precondition == Some(PreconditionArg::Coarse) => {
                return Err(Error::invalid(
                    "--precondition",
                    "applies to --optimizer lbfgs only; Adam scales each pixel by its own \
                     gradient history already",
                ))
            }
            OptimizerArg::Adam if line_search != LineSearch::None => {
                return Err(Error::invalid(
                    "--line-search",
                    "applies to --optimizer lbfgs only; Adam takes fixed steps",
                ))
            }
            OptimizerArg::Adam => ImageOptimizer::Adam {
                lr: args.lr.unwrap_or(10.0),
                bounds,
            },
        };
        check_weights_fit_f32(args)?;
        check_layer_weights_fit_f32(args)?;
        Ok(Plan {
            sizes_listed: !args.single_scale
                && args.multiscale.as_deref().is_some_and(|m| m != "auto"),
            sizes,
            evaluations,
            counts,
            time_budget,
            outputs,
            objective: ObjectiveConfig {
                content_layers: parse_layers("--content-layers", &args.content_layers, 1.0)?,
                style_layers,
                content_weight: zero_is_zero(args.content_weight),
                style_weight: zero_is_zero(args.style_weight),
                tv_weight: zero_is_zero(args.tv_weight),
            },
            optimizer,
            blend,
            init,
            inputs,
            content_file,
            style_files,
            masks,
            init_file,
        })
    }
}

/// `-0.0` is zero; written as such so no later product or message sees its sign.
fn zero_is_zero(w: f32) -> f32 {
    if w == 0.0 {
        0.0
    } else {
        w
    }
}

/// One finite, non-negative `--style-blend` weight per painting, not all zero.
fn check_blend(args: &StylizeArgs) -> Result<Vec<f32>> {
    let Some(blend) = &args.style_blend else {
        return Ok(vec![1.0; args.styles.len()]);
    };
    if blend.len() != args.styles.len() {
        return Err(Error::invalid(
            "--style-blend",
            format!(
                "{} weights given for {} styles; give one per painting, e.g. {}",
                blend.len(),
                args.styles.len(),
                vec!["1"; args.styles.len()].join(",")
            ),
        ));
    }
    if let Some(bad) = blend.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(Error::invalid(
            "--style-blend",
            format!("each weight must be a number ≥ 0, got {bad}"),
        ));
    }
    if blend.iter().all(|&w| w == 0.0) {
        return Err(Error::invalid(
            "--style-blend",
            "every weight is 0, so no painting would count; give at least one a positive weight",
        ));
    }
    Ok(blend.iter().map(|&w| zero_is_zero(w)).collect())
}

/// The optimiser's own settings, refused now rather than when the optimiser is built after
/// the network has loaded: a step length that is a positive number, and at least one L-BFGS
/// history pair.
fn check_step_settings(args: &StylizeArgs) -> Result<()> {
    if let Some(lr) = args.lr {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::invalid(
                "--lr",
                format!(
                    "the step size must be a positive number, got {lr} (defaults: 1 for \
                     L-BFGS, 10 for Adam)"
                ),
            ));
        }
    }
    if args.optimizer == OptimizerArg::Lbfgs && args.history == 0 {
        return Err(Error::invalid(
            "--history",
            "L-BFGS needs at least 1 history pair (default 100; fewer saves memory)",
        ));
    }
    Ok(())
}

/// Every file the run writes, for [`check_outputs`]; frames are numbered up to the run's
/// last evaluation.
fn outputs(args: &StylizeArgs, stages: usize) -> Vec<PlannedOutput> {
    let mut outputs = vec![PlannedOutput::new("-o", &args.output, OutputKind::Image)
        .with_frames(args.save_every.is_some())
        .with_last_frame(args.iters.saturating_mul(stages))];
    if let Some(gif) = &args.gif {
        outputs.push(PlannedOutput::new("--gif", gif, OutputKind::Gif));
    }
    if let Some(report) = &args.report {
        outputs.push(PlannedOutput::new("--report", report, OutputKind::Json));
    }
    outputs
}

/// The weights file must be a regular file of a plausible size (a folder, a pipe or a device
/// is refused here, without blocking on it); its content is checked when it loads.
fn check_weights_file(path: &Path) -> Result<()> {
    weights_tools::io::check_regular(path, weights_tools::io::MAX_WEIGHTS_FILE, "a weights file")
        .map_err(|p| {
            let hint = if p.not_found || p.detail.contains("folder") {
                "; give a .safetensors, .pth or .onnx file (see `weights-tools`)"
            } else {
                ""
            };
            Error::invalid("--weights", format!("{}{hint}", p.detail))
        })
}

/// The loss is computed in 32-bit floats, whose largest value is 3.4e38. Raw terms of real
/// pictures start around 1e2–1e5 (style losses about 2e4–2e5 with the default layers), so a
/// weight that overflows even a raw term of 1000 can never work; it is refused now rather than
/// reported as a diverging optimisation after the network has run.
fn check_weights_fit_f32(args: &StylizeArgs) -> Result<()> {
    const SMALLEST_RAW_TERM: f64 = 1e3;
    for (flag, term, w) in [
        ("--content-weight", "content", args.content_weight),
        ("--style-weight", "style", args.style_weight),
        ("--tv-weight", "total-variation", args.tv_weight),
    ] {
        if w == 0.0 {
            continue;
        }
        let overflows_above = f32::MAX as f64 / w as f64;
        if overflows_above < SMALLEST_RAW_TERM {
            return Err(Error::invalid(
                flag,
                format!(
                    "{w:e} is too large: the loss is computed in 32-bit floats (largest value \
                     3.4e38), so any raw {term} loss above {overflows_above:.1e} would make \
                     the weighted term overflow, and raw losses of real pictures start around \
                     1e2–1e5. Useful weights are far smaller (the defaults: content 1, style \
                     1000, tv 0.1)"
                ),
            ));
        }
    }
    Ok(())
}

/// The same bound for a layer's own weight (`relu1_1:3e38`), which multiplies that layer's raw
/// loss before the term's weight does: refused naming the layer, not blamed later on the
/// weights file when the loss overflows.
fn check_layer_weights_fit_f32(args: &StylizeArgs) -> Result<()> {
    const SMALLEST_RAW_TERM: f64 = 1e3;
    for (flag, spec, term_weight) in [
        (
            "--content-layers",
            &args.content_layers,
            args.content_weight,
        ),
        ("--style-layers", &args.style_layers, args.style_weight),
    ] {
        for layer in parse_layers(flag, spec, 1.0)? {
            let product = layer.weight as f64 * term_weight.max(1.0) as f64;
            if product == 0.0 || f32::MAX as f64 / product >= SMALLEST_RAW_TERM {
                continue;
            }
            return Err(Error::invalid(
                flag,
                format!(
                    "the weight {:e} of {} is too large: the loss is computed in 32-bit floats \
                     (largest value 3.4e38), and that layer's raw loss (1e2–1e5 for real \
                     pictures) times {:e}{} would overflow. Useful layer weights are around 1",
                    layer.weight,
                    layer.layer,
                    layer.weight,
                    if term_weight > 1.0 {
                        format!(" times the term's weight {term_weight:e}")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_auto_halve_down_to_256() {
        let sizes = |size, single, flag| parse_sizes(size, single, flag).map(|(s, _)| s);
        assert_eq!(
            sizes(1024, false, Some("auto")).unwrap(),
            vec![256, 512, 1024]
        );
        // No flag is coarse to fine too; --single-scale is one size.
        assert_eq!(sizes(512, false, None).unwrap(), vec![256, 512]);
        assert_eq!(sizes(512, true, None).unwrap(), vec![512]);
        assert_eq!(sizes(400, false, Some("auto")).unwrap(), vec![400]);
        assert_eq!(sizes(512, false, Some("128,512")).unwrap(), vec![128, 512]);
        assert!(sizes(512, false, Some("512,256")).is_err());
        assert!(sizes(0, true, None).is_err());
    }

    #[test]
    fn sizes_may_carry_their_evaluations() {
        assert_eq!(
            parse_sizes(512, false, Some("256:50, 512")).unwrap(),
            (vec![256, 512], vec![Some(50), None])
        );
        for bad in ["256:0,512", "256:x,512", "256:-1", ":5", "256:"] {
            let e = parse_sizes(512, false, Some(bad)).unwrap_err().to_string();
            assert!(e.contains("--multiscale"), "{bad}: {e}");
        }
    }

    #[test]
    fn layer_lists_with_weights() {
        let l = parse_layers("--x", "relu1_1:0.5, relu2_1", 1.0).unwrap();
        assert_eq!(
            l,
            vec![
                LayerWeight::new("relu1_1", 0.5),
                LayerWeight::new("relu2_1", 1.0)
            ]
        );
        assert!(parse_layers("--x", "relu1_1:abc", 1.0).is_err());
        assert!(parse_layers("--x", "", 1.0).is_err());
    }
}
