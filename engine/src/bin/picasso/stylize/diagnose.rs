//! When the loss stops being a number: say why. The loss and its gradient are computed in
//! 32-bit floats; a term whose weight times its raw value passes f32's largest value (3.4e38)
//! overflows to infinity, which is the weights' fault, not the step length's. Only when every
//! weighted term is comfortably finite is a diverging step the likely cause.

use engine::models::Vgg;
use engine::style::{LossTerms, Objective, ObjectiveConfig};
use engine::{Error, Tensor};

/// A weighted term above this share of f32's range leaves no room for the gradient's own
/// products (which multiply the weight by feature values), so it is called an overflow.
const HEADROOM: f64 = 1e-3;

/// The error for a run whose very first loss is not a number: which term overflows, from the
/// starting image's raw terms. `command` names the command that refuses it.
pub fn unusable_start(
    command: &'static str,
    objective: &Objective,
    vgg: &Vgg,
    init: &Tensor,
    config: &ObjectiveConfig,
) -> Error {
    let why = match objective.evaluate(vgg, init) {
        Ok(eval) => advice(&eval.terms, config),
        Err(e) => e.to_string(),
    };
    Error::invalid(
        command,
        format!("the loss of the starting image is not a finite number: {why}"),
    )
}

/// Advice for a loss that became NaN or infinite, from the raw terms of the last image whose
/// loss was finite (or of the starting image) and the weights.
pub fn advice(terms: &LossTerms, config: &ObjectiveConfig) -> String {
    let limit = f32::MAX as f64 * HEADROOM;
    let weighted = [
        (
            "--content-weight",
            "content",
            config.content_weight,
            terms.content,
        ),
        ("--style-weight", "style", config.style_weight, terms.style),
        (
            "--tv-weight",
            "total-variation",
            config.tv_weight,
            terms.tv.unwrap_or(0.0),
        ),
    ];
    let worst = weighted
        .iter()
        .max_by(|a, b| (a.2 as f64 * a.3).total_cmp(&(b.2 as f64 * b.3)));
    if let Some(&(flag, term, weight, raw)) = worst {
        let product = weight as f64 * raw;
        if !raw.is_finite() {
            return format!(
                "the raw {term} loss itself is not a number, so the network's features are: \
                 check the weights file (`weights-tools inspect`) and the input images"
            );
        }
        if product > limit {
            // A weight at which this raw term stays within the headroom.
            let safe = 10f64.powf((limit / raw).log10().floor());
            return format!(
                "the weighted {term} term overflows 32-bit floats: {flag} {weight:e} × raw \
                 {term} loss {raw:.3e} ≈ {product:.1e}, close to or beyond f32's largest \
                 value (3.4e38), so its gradient is not a number. Use {flag} {safe:e} or less"
            );
        }
    }
    "the optimisation diverged with finite weighted terms: try a smaller --lr, or \
     --line-search strong-wolfe"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blames_the_weight_that_overflows_and_the_step_otherwise() {
        let mut config = ObjectiveConfig::paper(1.0, 1e36, 0.1);
        let terms = LossTerms {
            content: 0.0,
            style: 1.5e5,
            tv: Some(400.0),
        };
        let a = advice(&terms, &config);
        assert!(
            a.contains("--style-weight") && a.contains("overflows"),
            "{a}"
        );
        config.style_weight = 1000.0;
        let a = advice(&terms, &config);
        assert!(a.contains("--lr") && !a.contains("overflow"), "{a}");
    }
}
