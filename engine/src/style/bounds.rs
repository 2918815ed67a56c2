//! A box the parameters must stay in — for style transfer, every pixel in 0..255 — and the two
//! things a box-constrained optimiser does with it: project a point into the box, and find the
//! *active set*, the variables held at a bound because the gradient pushes them out.
//!
//! Without a box, L-BFGS happily drives some pixels to −140 or 334: the loss it reports is for
//! an image no PNG can hold, and the file it saves (clamped) scores several times worse. With
//! the box, the optimum it reports is an image that exists (L-BFGS-B, Byrd, Lu, Nocedal &
//! Zhu 1995, does this more elaborately with a Cauchy point; the projected variant here keeps
//! L-BFGS's steps and only adds the projection and the active set).

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `lo ≤ x ≤ hi` for every element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub lo: f32,
    pub hi: f32,
}

impl Bounds {
    /// The range of 8-bit pixel values.
    pub const PIXELS: Bounds = Bounds { lo: 0.0, hi: 255.0 };

    pub fn new(lo: f32, hi: f32) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::invalid(
                "bounds",
                format!("need finite lo < hi, got {lo}..{hi}"),
            ));
        }
        Ok(Bounds { lo, hi })
    }

    /// The nearest point of the box: every element clamped.
    pub fn project(&self, x: &Tensor) -> Result<Tensor> {
        x.detach().clamp(self.lo, self.hi)
    }

    // ANCHOR: step_along
    /// Where a step of `t·d` from `x` ends inside the box, and the step actually taken.
    ///
    /// The step is the requested one shortened, element by element, to the room left before
    /// each bound; it is not the difference of the two points. L-BFGS's first step is tiny
    /// (around 1e-7 of a pixel value), and the difference of two f32 values near 255 is then
    /// rounding noise: a curvature pair built from noise sends the next step to the far side
    /// of the box.
    pub fn step_along(&self, x: &Tensor, t: f64, d: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = x.detach();
        let room_below = x.affine(-1.0, self.lo)?;
        let room_above = x.affine(-1.0, self.hi)?;
        let step = d
            .detach()
            .scaled(t)?
            .maximum(&room_below)?
            .minimum(&room_above)?;
        // x + (hi − x) can miss hi by an ulp: the projection puts it back.
        let point = self.project(&x.add(&step)?)?;
        Ok((point, step))
    }
    // ANCHOR_END: step_along

    // ANCHOR: free_mask
    /// 1 for the free variables, 0 for the active ones: at a bound with the gradient pointing
    /// out of the box (at `lo` with g > 0, at `hi` with g < 0), where a descent step can only
    /// push them further out.
    pub fn free_mask(&self, x: &Tensor, grad: &Tensor) -> Result<Tensor> {
        x.free_mask(grad, self.lo, self.hi)
    }
    // ANCHOR_END: free_mask

    /// Whether every element lies in the box.
    pub fn contains(&self, x: &Tensor) -> Result<bool> {
        let outside = x.detach().clamp(self.lo, self.hi)?.sub(&x.detach())?;
        Ok(outside.max_abs()? == 0.0)
    }
}
