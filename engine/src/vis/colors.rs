//! Colours that stay distinguishable in print and for common colour-blindness.

use plotters::style::RGBColor;

/// Tableau 10: the default palette of many plotting libraries, chosen for contrast.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `index`-th series in a plot (cycles after ten).
pub fn series_color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// The colour of class `class` in scatter plots: class 0 blue, class 1 orange, ...
pub fn class_color(class: usize) -> RGBColor {
    series_color(class)
}

/// `a` and `b` mixed: t = 0 gives `a`, t = 1 gives `b`.
pub(crate) fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let channel = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
}

/// A pale version of `c`, for backgrounds that points are drawn on.
pub(crate) fn pale(c: RGBColor, strength: f64) -> RGBColor {
    mix(RGBColor(255, 255, 255), c, strength)
}

/// Viridis-like ramp from dark blue (t = 0) through green to yellow (t = 1), for heights.
pub(crate) fn height_color(t: f64) -> RGBColor {
    const STOPS: [RGBColor; 5] = [
        RGBColor(68, 1, 84),
        RGBColor(59, 82, 139),
        RGBColor(33, 145, 140),
        RGBColor(94, 201, 98),
        RGBColor(253, 231, 37),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    mix(STOPS[i], STOPS[i + 1], t - i as f64)
}
