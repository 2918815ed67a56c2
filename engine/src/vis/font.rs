//! The one font every plot uses, compiled into the engine.
//!
//! plotters' `ab_glyph` text backend has no font of its own: it looks fonts up by family name in
//! a registry that starts empty. We register DejaVu Sans (free licence, see
//! `engine/assets/fonts/DejaVuSans-LICENSE.txt`) as the "sans-serif" family once per process.

use crate::error::{Error, Result};
use plotters::style::FontStyle;
use std::sync::OnceLock;

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name plotters asks for when a style says `("sans-serif", size)`.
pub(crate) const FAMILY: &str = "sans-serif";

/// Register the embedded font (only the first call does any work).
pub(crate) fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded DejaVu Sans font could not be parsed".to_string())
        })
        .clone()
        .map_err(|msg| Error::Plot { op: "font", msg })
}
