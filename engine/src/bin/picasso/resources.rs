//! Whether a run fits, said before it starts: pictures large enough for the deepest layer it
//! reads, and memory within what the machine (or `--max-memory`) allows.

use engine::io::host_memory::AvailableMemory;
use engine::io::image::long_side_dimensions;
use engine::models::memory::{format_bytes, ImageSize, MemoryEstimate};
use engine::models::Vgg;
use engine::{Error, Result};

/// The deepest layer a run reads and the smallest picture side that layer can be computed
/// from.
pub struct SizeNeed {
    pub layer: String,
    pub min_side: usize,
    pools: u32,
}

impl SizeNeed {
    /// For the layers `layers` of `vgg` (an unknown name is an error listing the real ones).
    pub fn of(vgg: &Vgg, layers: &[String]) -> Result<Self> {
        let plan = vgg.layers_up_to(layers)?;
        let deepest = plan.last().ok_or_else(|| {
            Error::invalid("layers", "no layers were asked for; name at least one")
        })?;
        Ok(SizeNeed {
            layer: deepest.name.clone(),
            min_side: vgg.min_input_side(layers)?,
            pools: deepest.pools,
        })
    }

    /// At least `side` pixels each way, whatever the layers (total variation compares
    /// neighbours, so style transfer needs two).
    pub fn at_least(mut self, side: usize) -> Self {
        self.min_side = self.min_side.max(side);
        self
    }

    /// Whether a `size` picture is large enough.
    pub fn allows(&self, size: ImageSize) -> bool {
        size.width >= self.min_side && size.height >= self.min_side
    }

    /// "relu5_1 comes after 4 poolings, each halving the picture, and needs at least 16
    /// pixels each way".
    pub fn reason(&self) -> String {
        match self.pools {
            0 => format!("the run needs at least {} pixels each way", self.min_side),
            1 => format!(
                "{} comes after a 2×2 pooling and needs at least {} pixels each way",
                self.layer, self.min_side
            ),
            n => format!(
                "{} comes after {n} poolings, each halving the picture, and needs at least {} \
                 pixels each way",
                self.layer, self.min_side
            ),
        }
    }
}

/// The working size of a `width × height` file resized to a long side of `long_side`.
pub fn working_size(file: (u32, u32), long_side: u32) -> ImageSize {
    let (w, h) = long_side_dimensions(file.0, file.1, long_side.max(1));
    ImageSize::new(w as usize, h as usize)
}

/// The smallest long side at which a `file`-sized picture has both sides at least `min_side`.
pub fn smallest_long_side(file: (u32, u32), min_side: usize) -> u32 {
    let (long, short) = (file.0.max(file.1).max(1), file.0.min(file.1).max(1));
    let ok = |l: u32| {
        let s = working_size(file, l);
        s.width >= min_side && s.height >= min_side
    };
    // Start from the exact ratio, then step over the rounding of the short side.
    let guess = (min_side as f64 * long as f64 / short as f64).ceil();
    let mut l = guess.clamp(min_side as f64, u32::MAX as f64) as u32;
    while l > min_side as u32 && ok(l - 1) {
        l -= 1;
    }
    while !ok(l) && l < u32::MAX {
        l += 1;
    }
    l
}

/// Refuse a run whose `estimate` exceeds `budget` (no budget: no check), saying how much it
/// needs, how much there is, and the `alternatives` that would fit.
pub fn check_memory(
    what: &str,
    estimate: &MemoryEstimate,
    budget: Option<&AvailableMemory>,
    alternatives: impl FnOnce() -> Vec<String>,
) -> Result<()> {
    let Some(budget) = budget else {
        return Ok(());
    };
    if estimate.fits(budget.bytes) {
        return Ok(());
    }
    let alternatives = alternatives();
    let advice = if alternatives.is_empty() && budget.source == "--max-memory" {
        "Nothing smaller fits either; raise --max-memory (or leave it out to use what the \
         machine has)"
            .to_string()
    } else if alternatives.is_empty() {
        "Nothing smaller fits either; free some memory first".to_string()
    } else {
        format!("What fits: {}", alternatives.join("; or "))
    };
    Err(Error::invalid(
        "memory",
        format!(
            "{what} needs about {}, more than the {} available ({}). {advice}. \
             (--max-memory sets the limit yourself.)",
            estimate.describe(),
            format_bytes(budget.bytes),
            budget.source
        ),
    ))
}

/// "memory: about 1.2 GB of the 22 GB available" for the start of a run.
pub fn memory_line(estimate: &MemoryEstimate, budget: Option<&AvailableMemory>) -> String {
    match budget {
        Some(b) => format!(
            "about {} of the {} available",
            format_bytes(estimate.total()),
            format_bytes(b.bytes)
        ),
        None => format!("about {}", format_bytes(estimate.total())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_long_side_keeps_the_short_side_large_enough() {
        // A 3:2 photo needs a long side of 24 for a short side of 16.
        assert_eq!(smallest_long_side((451, 300), 16), 24);
        // A 2000×40 panorama: 16 pixels high means 800 wide (775 rounds to 16).
        assert_eq!(smallest_long_side((2000, 40), 16), 775);
        // Square: the side itself.
        assert_eq!(smallest_long_side((100, 100), 32), 32);
        let s = working_size((451, 300), 24);
        assert!(s.height >= 16 && working_size((451, 300), 23).height < 16);
    }
}
