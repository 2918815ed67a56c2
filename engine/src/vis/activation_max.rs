//! Activation maximisation: instead of asking "what does this channel do with my photo?", ask
//! "which picture would this channel like best?" and let gradient ascent paint it.
//!
//! The network's weights stay fixed; the *pixels* are the parameters. We maximise
//!
//! ```text
//! x* = argmax_x  a_{l,c}(x) − λ‖x − μ‖²
//! ```
//!
//! where `a_{l,c}(x)` is the mean activation of channel `c` at layer `l` and `μ` the mean
//! colour the network was trained around. Plain gradient ascent finds high-frequency noise
//! that excites the channel but looks like nothing, so three regularisers push towards
//! pictures a person can read:
//!
//! - **jitter**: shift the image by a few random pixels before every step, so a pattern only
//!   survives if it works at every position, not because of one lucky pixel alignment;
//! - **blur**: a small Gaussian blur every few steps removes the highest frequencies, which
//!   the network barely uses but gradient ascent loves to amplify;
//! - **L2 decay** (the `λ‖x − μ‖²` term): pulls every pixel back towards the mean colour, so
//!   only the colours the channel really wants become saturated.

use crate::error::{Error, Result};
use crate::models::Vgg;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Settings for [`maximise_activation`]. Lengths are in pixels, colours in `0..255` units.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationMaxConfig {
    /// Size of the picture to paint.
    pub height: usize,
    pub width: usize,
    /// Gradient-ascent steps (one forward and one backward pass each).
    pub steps: usize,
    /// How far a step moves the pixels: the gradient is rescaled so that its mean absolute
    /// value is `step_size` (the raw gradient's size varies wildly between layers).
    pub step_size: f32,
    /// Fraction of every pixel's distance from the mean colour removed after each step
    /// (`2ηλ` in the chapter's notation). 0 switches the L2 regulariser off.
    pub l2_decay: f32,
    /// Largest random shift, in pixels, applied before each step. 0 switches jitter off.
    pub jitter: usize,
    /// Blur after every `blur_every` steps; 0 switches blurring off.
    pub blur_every: usize,
    /// Standard deviation of the Gaussian blur, in pixels.
    pub blur_sigma: f32,
    /// Standard deviation of the starting noise around the mean colour.
    pub init_noise: f32,
    /// Seed for the starting noise and the jitter.
    pub seed: u64,
}

impl Default for ActivationMaxConfig {
    /// 96×96 pixels, 64 steps: readable pictures from every VGG layer, a few seconds each.
    fn default() -> Self {
        ActivationMaxConfig {
            height: 96,
            width: 96,
            steps: 64,
            step_size: 2.0,
            l2_decay: 0.01,
            jitter: 4,
            blur_every: 4,
            blur_sigma: 0.5,
            init_noise: 10.0,
            seed: 0,
        }
    }
}

/// What [`maximise_activation`] painted, and how much the channel liked it.
#[derive(Clone, Debug)]
pub struct ActivationMax {
    /// The picture, `[1, 3, height, width]`, RGB around `0..255`. It is *not* clamped: values
    /// slightly outside the range are part of what the channel wanted; saving clamps them.
    pub image: Tensor,
    /// Mean activation of the channel at the requested layer for the starting noise...
    pub start_activation: f32,
    /// ...and for the final picture (both measured without jitter).
    pub final_activation: f32,
    /// The objective after every step (at the layer the gradient was taken from).
    pub history: Vec<f32>,
}

/// A ReLU's output is flat zero wherever its input is negative, so a channel that happens to
/// be silent for the starting noise would get no gradient at all and never wake up. For
/// `reluX_Y` we therefore climb `convX_Y` (the same channel just before the ReLU) through a
/// *leaky* ReLU: identical where the channel fires, a gentle slope where it is silent.
const LEAKY_SLOPE: f32 = 0.1;

/// The layer the gradient is taken from, and whether to apply the leaky ReLU to it.
fn objective_layer(layer: &str) -> (String, bool) {
    match layer.strip_prefix("relu") {
        Some(suffix) => (format!("conv{suffix}"), true),
        None => (layer.to_string(), false),
    }
}

/// Mean activation of `channel` at `layer` for `image` (no graph recorded).
fn channel_mean(vgg: &Vgg, image: &Tensor, layer: &str, channel: usize) -> Result<f32> {
    crate::autograd::no_grad(|| {
        let features = vgg.forward(image, &[layer.to_string()])?;
        channel_of(&features, layer, channel)?.mean_all()?.item()
    })
}

/// One channel `[1, 1, h, w]` of the activations at `layer`, with a clear error if the layer
/// has fewer channels.
fn channel_of(
    features: &std::collections::BTreeMap<String, Tensor>,
    layer: &str,
    channel: usize,
) -> Result<Tensor> {
    let acts = features.get(layer).ok_or_else(|| {
        Error::invalid(
            "activation maximisation",
            format!("the network returned no activations for `{layer}`"),
        )
    })?;
    let channels = acts.shape().get(1).copied().unwrap_or(0);
    if channel >= channels {
        return Err(Error::invalid(
            "activation maximisation",
            format!(
                "channel {channel} is out of range: `{layer}` has {channels} channels (0..={})",
                channels.saturating_sub(1)
            ),
        ));
    }
    acts.narrow(1, channel, 1)
}

fn check(vgg: &Vgg, layer: &str, config: &ActivationMaxConfig) -> Result<()> {
    let names = vgg.layer_names();
    if !names.iter().any(|n| n == layer) {
        return Err(Error::invalid(
            "activation maximisation",
            format!(
                "unknown layer `{layer}`; choose one of: {}",
                names.join(", ")
            ),
        ));
    }
    let bad = |msg: String| Err(Error::invalid("activation maximisation", msg));
    if config.height < 8 || config.width < 8 {
        return bad(format!(
            "the picture must be at least 8×8 pixels, got {}×{}",
            config.width, config.height
        ));
    }
    if config.steps == 0 {
        return bad("steps must be at least 1".into());
    }
    if !(config.step_size.is_finite() && config.step_size > 0.0) {
        return bad(format!(
            "step_size must be positive, got {}",
            config.step_size
        ));
    }
    if !(0.0..1.0).contains(&config.l2_decay) {
        return bad(format!(
            "l2_decay must be in [0, 1), got {}",
            config.l2_decay
        ));
    }
    if !(config.blur_sigma.is_finite() && config.blur_sigma >= 0.0) {
        return bad(format!("blur_sigma must be ≥ 0, got {}", config.blur_sigma));
    }
    if !(config.init_noise.is_finite() && config.init_noise >= 0.0) {
        return bad(format!("init_noise must be ≥ 0, got {}", config.init_noise));
    }
    Ok(())
}

/// The mean colour the network's input normalisation subtracts, in `0..255` pixel units.
fn mean_colour(vgg: &Vgg) -> [f32; 3] {
    let input = vgg.input_convention();
    input.mean.map(|m| m * 255.0 / input.scale)
}

// ANCHOR: maximise_activation
/// Paint the picture that maximises the mean activation of `channel` at `layer` (any name in
/// [`Vgg::layer_names`], e.g. `relu3_1`) by regularised gradient ascent on the pixels.
pub fn maximise_activation(
    vgg: &Vgg,
    layer: &str,
    channel: usize,
    config: &ActivationMaxConfig,
) -> Result<ActivationMax> {
    check(vgg, layer, config)?;
    let (h, w) = (config.height, config.width);
    let shape = [1, 3, h, w];
    let mean = mean_colour(vgg);
    let mut rng = Rng::new(config.seed);

    // Start: the mean colour plus a little noise (pure grey would give every filter the
    // same, symmetric input; the noise breaks the tie).
    let mut pixels: Vec<f32> = (0..3 * h * w)
        .map(|i| mean[i / (h * w)] + config.init_noise * rng.normal())
        .collect();
    // The picture is updated on the host (shifts, blur); each pass runs where the network is.
    let device = vgg.device();
    let start = Tensor::from_vec_on(pixels.clone(), &shape, device)?;
    let start_activation = channel_mean(vgg, &start, layer, channel)?;

    let (target, leaky) = objective_layer(layer);
    // Grown step by step: an absurd --steps is not allocated before the first one.
    let mut history = Vec::with_capacity(config.steps.min(1 << 16));
    for step in 1..=config.steps {
        // Jitter: look at the picture shifted by (dy, dx), wrapping around the edges.
        let (dy, dx) = random_shift(config.jitter, &mut rng);
        let shifted = roll(&pixels, h, w, dy, dx);

        // Forward to the target layer, then backward from the channel's mean.
        let x = Tensor::from_vec_on(shifted, &shape, device)?.requires_grad();
        let features = vgg.forward(&x, std::slice::from_ref(&target))?;
        let mut acts = channel_of(&features, &target, channel)?;
        if leaky {
            acts = acts.leaky_relu(LEAKY_SLOPE)?;
        }
        let objective = acts.mean_all()?;
        history.push(objective.item()?);
        let gradients = objective.backward()?;
        let grad = gradients.get_or_zeros(&x)?.to_vec()?;
        // Undo the shift so each gradient value lands on the pixel it belongs to.
        let grad = roll(&grad, h, w, -dy, -dx);

        // Ascent: a step of fixed average size, whatever the gradient's scale at this layer.
        let mean_abs = grad.iter().map(|g| g.abs()).sum::<f32>() / grad.len() as f32;
        let rate = config.step_size / (mean_abs + 1e-12);
        for (i, (p, g)) in pixels.iter_mut().zip(&grad).enumerate() {
            let mu = mean[i / (h * w)];
            // Gradient step on a(x), then the L2 term's step: shrink towards the mean colour.
            *p = mu + (*p + rate * g - mu) * (1.0 - config.l2_decay);
        }
        if config.blur_every > 0 && step % config.blur_every == 0 && config.blur_sigma > 0.0 {
            pixels = gaussian_blur(&pixels, h, w, config.blur_sigma);
        }
        if !pixels.iter().all(|p| p.is_finite()) {
            return Err(Error::NonFinite {
                op: "activation maximisation",
                what: "the image",
                shape: shape.to_vec(),
            });
        }
    }

    let image = Tensor::from_vec_on(pixels, &shape, device)?;
    let final_activation = channel_mean(vgg, &image, layer, channel)?;
    Ok(ActivationMax {
        image,
        start_activation,
        final_activation,
        history,
    })
}
// ANCHOR_END: maximise_activation

/// A random shift in `-max..=max` along each axis.
fn random_shift(max: usize, rng: &mut Rng) -> (isize, isize) {
    let mut one = || rng.below(2 * max + 1) as isize - max as isize;
    (one(), one())
}

/// Shift every channel of a `3 × h × w` picture by `(dy, dx)` pixels, wrapping around: what
/// leaves on the right comes back on the left (`numpy.roll`).
pub fn roll(pixels: &[f32], h: usize, w: usize, dy: isize, dx: isize) -> Vec<f32> {
    let mut out = vec![0.0; pixels.len()];
    let wrap = |i: usize, d: isize, n: usize| (i as isize + d).rem_euclid(n as isize) as usize;
    for (c_in, c_out) in pixels.chunks(h * w).zip(out.chunks_mut(h * w)) {
        for y in 0..h {
            let ty = wrap(y, dy, h);
            for x in 0..w {
                c_out[ty * w + wrap(x, dx, w)] = c_in[y * w + x];
            }
        }
    }
    out
}

/// Gaussian blur of a `3 × h × w` picture: separable (rows, then columns), edges repeated.
pub fn gaussian_blur(pixels: &[f32], h: usize, w: usize, sigma: f32) -> Vec<f32> {
    let radius = (2.0 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let kernel: Vec<f32> = weights.iter().map(|k| k / total).collect();
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;

    let mut rows = vec![0.0; pixels.len()];
    let mut out = vec![0.0; pixels.len()];
    for (src, dst) in pixels.chunks(h * w).zip(rows.chunks_mut(h * w)) {
        for y in 0..h {
            for x in 0..w {
                dst[y * w + x] = (-radius..=radius)
                    .zip(&kernel)
                    .map(|(d, k)| k * src[y * w + clamp(x as isize + d, w)])
                    .sum();
            }
        }
    }
    for (src, dst) in rows.chunks(h * w).zip(out.chunks_mut(h * w)) {
        for y in 0..h {
            for x in 0..w {
                dst[y * w + x] = (-radius..=radius)
                    .zip(&kernel)
                    .map(|(d, k)| k * src[clamp(y as isize + d, h) * w + x])
                    .sum();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_wraps_and_undoes_itself() {
        let img: Vec<f32> = (0..3 * 2 * 3).map(|i| i as f32).collect();
        let rolled = roll(&img, 2, 3, 1, -1);
        // Channel 0 was [[0,1,2],[3,4,5]]: down one row (wrapping), left one column.
        assert_eq!(&rolled[..6], &[4.0, 5.0, 3.0, 1.0, 2.0, 0.0]);
        assert_eq!(roll(&rolled, 2, 3, -1, 1), img);
    }

    #[test]
    fn blur_keeps_constants_and_smooths_a_spike() {
        let flat = vec![7.0; 3 * 4 * 4];
        for v in gaussian_blur(&flat, 4, 4, 1.0) {
            assert!((v - 7.0).abs() < 1e-5);
        }
        let mut spike = vec![0.0; 3 * 5 * 5];
        spike[12] = 1.0;
        let blurred = gaussian_blur(&spike, 5, 5, 1.0);
        assert!(blurred[12] < 1.0 && blurred[11] > 0.0);
        assert!((blurred[..25].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn relu_layers_are_climbed_through_a_leaky_relu() {
        assert_eq!(objective_layer("relu4_1"), ("conv4_1".to_string(), true));
        assert_eq!(objective_layer("pool2"), ("pool2".to_string(), false));
    }
}
