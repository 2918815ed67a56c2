//! A colour scale drawn beside a colour-mapped picture: the bar of colours the picture uses,
//! with labelled ticks and a title that says what the colour means. Without it a reader sees
//! "yellow" and cannot know whether yellow is 0.9 or 900.

use super::canvas::OrPlotError;
use super::diagram::Rgb;
use super::font::FAMILY;
use crate::error::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Which way the bar runs. Its low end is at the bottom (vertical) or the left (horizontal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarDirection {
    Vertical,
    Horizontal,
}

/// The colours of a scale from its low end (t = 0) to its high end (t = 1), some labelled
/// ticks along it, and a title. Build it from the same function that coloured the picture:
///
/// ```
/// use engine::vis::colour_bar::ColourBar;
/// use engine::vis::diagram::Rgb;
/// let bar = ColourBar::new("loss", Rgb::heat).ticks_between(0.0, 50.0, 6, |v| v.sqrt() / 50f32.sqrt());
/// assert_eq!(bar.tick_labels(), ["0", "10", "20", "30", "40", "50"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ColourBar {
    title: String,
    ramp: Vec<Rgb>,
    ticks: Vec<(f32, String)>,
}

/// How many colours of the ramp are kept: more than any bar is pixels long.
const RAMP_STEPS: usize = 512;

impl ColourBar {
    /// A bar of `colour(t)` for t from 0 to 1, titled with what the colour means.
    pub fn new(title: impl Into<String>, colour: impl Fn(f32) -> Rgb) -> Self {
        let ramp = (0..RAMP_STEPS)
            .map(|i| colour(i as f32 / (RAMP_STEPS - 1) as f32))
            .collect();
        ColourBar {
            title: title.into(),
            ramp,
            ticks: Vec::new(),
        }
    }

    /// A tick at position `t` (0 = low end, 1 = high end) labelled `label`.
    pub fn tick(mut self, t: f32, label: impl Into<String>) -> Self {
        self.ticks.push((t.clamp(0.0, 1.0), label.into()));
        self
    }

    /// About `count` ticks at round values from `lo` to `hi` (1, 2, 2.5 or 5 times a power of
    /// ten apart), each placed where `position(value)` says (the picture's own value → t mapping,
    /// for example a square root).
    pub fn ticks_between(
        mut self,
        lo: f32,
        hi: f32,
        count: usize,
        position: impl Fn(f32) -> f32,
    ) -> Self {
        let step = round_step((hi - lo) / count.saturating_sub(1).max(1) as f32);
        if !(step.is_finite() && step > 0.0) {
            return self.tick(position(lo), format_tick(lo, 1.0));
        }
        let first = (lo / step).ceil() as i64;
        let last = (hi / step + 1e-4).floor() as i64;
        for k in first..=last {
            let value = k as f32 * step;
            self = self.tick(position(value), format_tick(value, step));
        }
        self
    }

    /// The labels of the ticks, low end first (for tests and for sizing a layout).
    pub fn tick_labels(&self) -> Vec<&str> {
        self.ticks.iter().map(|(_, label)| label.as_str()).collect()
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// Draw the bar's colours in the rectangle at `corner` of `size` pixels, with ticks and
    /// labels of `text_size` pixels beside it (right of a vertical bar, under a horizontal one)
    /// and the title above it.
    pub(crate) fn draw(
        &self,
        area: &DrawingArea<BitMapBackend<'_>, Shift>,
        corner: (i32, i32),
        size: (i32, i32),
        direction: BarDirection,
        text_size: u32,
    ) -> Result<()> {
        let (x, y) = corner;
        let (w, h) = (size.0.max(1), size.1.max(1));
        let along = match direction {
            BarDirection::Vertical => h,
            BarDirection::Horizontal => w,
        };
        for i in 0..along {
            let t = i as f32 / (along - 1).max(1) as f32;
            let colour = self.colour_at(t);
            let strip = match direction {
                BarDirection::Vertical => [(x, y + h - 1 - i), (x + w, y + h - i)],
                BarDirection::Horizontal => [(x + i, y), (x + i + 1, y + h)],
            };
            area.draw(&Rectangle::new(strip, colour.filled()))
                .or_plot_error("colour bar")?;
        }
        let ink = RGBColor(40, 40, 40);
        area.draw(&Rectangle::new([(x, y), (x + w, y + h)], ink))
            .or_plot_error("colour bar")?;
        let font = (FAMILY, text_size).into_font().color(&ink);
        for (t, label) in &self.ticks {
            let (tick, text_at, anchor) = match direction {
                BarDirection::Vertical => {
                    let ty = y + h - 1 - (t * (h - 1) as f32).round() as i32;
                    (
                        [(x + w, ty), (x + w + 5, ty)],
                        (x + w + 8, ty),
                        Pos::new(HPos::Left, VPos::Center),
                    )
                }
                BarDirection::Horizontal => {
                    let tx = x + (t * (w - 1) as f32).round() as i32;
                    (
                        [(tx, y + h), (tx, y + h + 5)],
                        (tx, y + h + 7),
                        Pos::new(HPos::Center, VPos::Top),
                    )
                }
            };
            area.draw(&PathElement::new(tick.to_vec(), ink.stroke_width(1)))
                .or_plot_error("colour bar")?;
            area.draw_text(label, &font.clone().pos(anchor), text_at)
                .or_plot_error("colour bar")?;
        }
        let title_anchor = match direction {
            BarDirection::Vertical => Pos::new(HPos::Left, VPos::Bottom),
            BarDirection::Horizontal => Pos::new(HPos::Center, VPos::Bottom),
        };
        let title_at = match direction {
            BarDirection::Vertical => (x, y - 8),
            BarDirection::Horizontal => (x + w / 2, y - 6),
        };
        area.draw_text(&self.title, &font.pos(title_anchor), title_at)
            .or_plot_error("colour bar")
    }

    fn colour_at(&self, t: f32) -> RGBColor {
        let i = (t.clamp(0.0, 1.0) * (self.ramp.len() - 1) as f32).round() as usize;
        let Rgb(r, g, b) = self.ramp[i];
        RGBColor(r, g, b)
    }
}

/// The round number (1, 2, 2.5 or 5 × 10ᵏ) nearest to `raw`.
fn round_step(raw: f32) -> f32 {
    if !(raw.is_finite() && raw > 0.0) {
        return 0.0;
    }
    let power = 10f32.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .map(|m| m * power)
        .into_iter()
        .min_by(|a, b| (a / raw).ln().abs().total_cmp(&(b / raw).ln().abs()))
        .unwrap_or(power)
}

/// A tick value with as many decimals as its step needs, and no "-0".
fn format_tick(value: f32, step: f32) -> String {
    // The fewest decimals that write the step exactly (0.25 needs two, 0.5 one, 10 none).
    let decimals = (0..6)
        .find(|&d| {
            let scaled = step * 10f32.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-3 * scaled.max(1.0)
        })
        .unwrap_or(6);
    let text = format!("{value:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        // No "−0.00".
        text.trim_start_matches('-').to_string()
    } else {
        text.replace('-', "−")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_round_values_inside_the_range() {
        let bar = ColourBar::new("p", Rgb::heat).ticks_between(0.0, 1.0, 5, |v| v);
        assert_eq!(bar.tick_labels(), ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        let bar = ColourBar::new("w", Rgb::heat).ticks_between(-0.43, 0.43, 5, |v| v);
        assert_eq!(bar.tick_labels(), ["−0.4", "−0.2", "0.0", "0.2", "0.4"]);
        let bar = ColourBar::new("loss", Rgb::heat).ticks_between(0.3, 57.0, 6, |v| v);
        assert_eq!(bar.tick_labels(), ["10", "20", "30", "40", "50"]);
    }

    #[test]
    fn the_ramp_runs_from_the_low_colour_to_the_high_one() {
        let bar = ColourBar::new("t", |t| Rgb::BLACK.mix(Rgb::WHITE, t));
        assert_eq!(bar.colour_at(0.0), RGBColor(0, 0, 0));
        assert_eq!(bar.colour_at(1.0), RGBColor(255, 255, 255));
    }
}
