//! The drawing surface every plot shares: an RGB buffer in memory, saved as a PNG at the end.

use super::{font, png};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Display;
use std::path::Path;

/// Where plots draw: the whole picture, white, backed by an RGB buffer.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Give `draw` a white `width × height` canvas, then write what it drew to `path` as a PNG.
pub(crate) fn render_png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Canvas) -> Result<()>,
) -> Result<()> {
    font::ensure_registered()?;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let canvas = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        canvas.fill(&WHITE).or_plot_error("canvas")?;
        draw(&canvas)?;
        canvas.present().or_plot_error("canvas")?;
    }
    png::write_rgb_png(path, width, height, &pixels)
}

/// plotters has its own error types; this turns any of them into the engine's [`Error::Plot`].
pub(crate) trait OrPlotError<T> {
    fn or_plot_error(self, op: &'static str) -> Result<T>;
}

impl<T, E: Display> OrPlotError<T> for std::result::Result<T, E> {
    fn or_plot_error(self, op: &'static str) -> Result<T> {
        self.map_err(|e| Error::Plot {
            op,
            msg: e.to_string(),
        })
    }
}

/// A range that plotters can draw: padded by `margin` (a fraction of its width) on both
/// sides, and never empty (a constant series still gets a visible band).
pub(crate) fn padded_range(lo: f64, hi: f64, margin: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let width = hi - lo;
    let pad = if width > 0.0 {
        width * margin
    } else {
        lo.abs().max(1.0) * 0.5
    };
    (lo - pad)..(hi + pad)
}
