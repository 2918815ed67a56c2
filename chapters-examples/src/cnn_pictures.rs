//! Pictures of what convolutions compute: single-channel maps (filter outputs, learned filters,
//! feature maps) saved as PNGs, one at a time or as a grid of tiles.
//!
//! A map holds arbitrary real numbers, so it has to be mapped to colours first:
//! - [`Scale::Unsigned`] stretches the map's own minimum…maximum to black…white (edge
//!   strength, ReLU outputs, pooled maps);
//! - [`Scale::Signed`] keeps zero white and shows positive values red, negative ones blue, as
//!   strong as the largest |value| (edge detectors, learned filter weights);
//! - [`Scale::Fixed`] maps a fixed range to black…white and clips the rest, so pictures that
//!   should be compared (a photo before and after a filter) share one brightness scale;
//! - [`Scale::SignedUpTo`] is the red–white–blue scale with one fixed limit for every map.
//!
//! [`save_labelled_map_grid`] adds row and column labels and the colour bar of the scale.
//!
//! "Maximum" and "largest" are the 99.5th percentile, so a few extreme values cannot make
//! the rest of a big map faint.

use engine::vis::colour_bar::{BarDirection, ColourBar};
use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::vis::filters::{captioned_tile_grid, GridLayout, Tile};
use engine::vis::write_rgb_png;
use engine::{Error, Result, Tensor};
use image::RgbImage;
use std::path::Path;

/// A `height × width` grid of numbers, row by row: one channel of an image or a filter.
#[derive(Clone, Debug)]
pub struct Map {
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

impl Map {
    pub fn new(height: usize, width: usize, values: Vec<f32>) -> Result<Map> {
        if values.len() != height * width || values.is_empty() {
            return Err(Error::shape(
                "Map::new",
                format!("{} values cannot fill a {height}×{width} map", values.len()),
            ));
        }
        Ok(Map {
            height,
            width,
            values,
        })
    }

    /// Every channel of an `[n, c, h, w]` tensor, in order (image 0's channels first).
    pub fn channels_of(t: &Tensor) -> Result<Vec<Map>> {
        let &[n, c, h, w] = t.shape() else {
            return Err(Error::shape(
                "Map::channels_of",
                format!("expected a [n, c, h, w] tensor, got {:?}", t.shape()),
            ));
        };
        let data = t.to_vec()?;
        (0..n * c)
            .map(|k| Map::new(h, w, data[k * h * w..(k + 1) * h * w].to_vec()))
            .collect()
    }

    /// The one channel of a `[1, 1, h, w]` tensor.
    pub fn single(t: &Tensor) -> Result<Map> {
        match Map::channels_of(t)?.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(Error::shape(
                "Map::single",
                format!("expected a [1, 1, h, w] tensor, got {:?}", t.shape()),
            )),
        }
    }

    /// What the stretching scales map to their ends: the minimum, the top of the range and
    /// the largest |value|. The top is a high percentile, not the maximum: a handful of
    /// extreme pixels would otherwise leave everything else faint. Those few are clipped.
    fn display_limits(&self) -> (f32, f32, f32) {
        let mut finite: Vec<f32> = self
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        finite.sort_by(f32::total_cmp);
        let lo = finite.first().copied().unwrap_or(0.0);
        let hi = percentile(&finite, TOP_PERCENTILE);
        let mut magnitudes: Vec<f32> = finite.iter().map(|v| v.abs()).collect();
        magnitudes.sort_by(f32::total_cmp);
        let largest = percentile(&magnitudes, TOP_PERCENTILE).max(f32::MIN_POSITIVE);
        (lo, hi, largest)
    }

    fn value(&self, row: usize, col: usize) -> f32 {
        self.values[row * self.width + col]
    }
}

/// How numbers become colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// The map's minimum is black, its maximum white.
    Unsigned,
    /// Zero is white; ±(largest |value|) is full red / full blue.
    Signed,
    /// `lo` is black, `hi` white; values outside are clipped.
    Fixed(f32, f32),
    /// Zero is white; ±`limit` is full red / full blue for every map alike, so maps can be
    /// compared (filters before and after training).
    SignedUpTo(f32),
}

impl Scale {
    /// A function from a value of `map` to an RGB colour.
    fn colouring(self, map: &Map) -> impl Fn(f32) -> [u8; 3] {
        let (lo, hi, largest) = map.display_limits();
        let range = (hi - lo).max(f32::MIN_POSITIVE);
        move |v: f32| {
            let v = if v.is_finite() { v } else { 0.0 };
            match self {
                Scale::Unsigned => {
                    let grey = to_byte((v - lo) / range);
                    [grey, grey, grey]
                }
                Scale::Fixed(black, white) => {
                    let grey = to_byte((v - black) / (white - black).max(f32::MIN_POSITIVE));
                    [grey, grey, grey]
                }
                Scale::Signed => red_white_blue(v / largest),
                Scale::SignedUpTo(limit) => red_white_blue(v / limit.max(f32::MIN_POSITIVE)),
            }
        }
    }

    /// The colour bar of this scale, titled `title`. Scales that stretch each map on its own
    /// name the ends ("its minimum") for a grid of maps, and give numbers for one `map`.
    fn colour_bar(self, title: &str, map: Option<&Map>) -> ColourBar {
        let rgb = |[r, g, b]: [u8; 3]| Rgb(r, g, b);
        let grey = move |t: f32| rgb([to_byte(t); 3]);
        let limits = map.map(|m| m.display_limits());
        match (self, limits) {
            (Scale::Unsigned, Some((lo, hi, _))) => {
                ColourBar::new(title, grey).ticks_between(lo, hi, 5, move |v| (v - lo) / (hi - lo))
            }
            (Scale::Signed, Some((_, _, largest))) => {
                ColourBar::new(title, move |t| rgb(red_white_blue(2.0 * t - 1.0))).ticks_between(
                    -largest,
                    largest,
                    5,
                    move |v| (v / largest + 1.0) / 2.0,
                )
            }
            (Scale::Unsigned, None) => ColourBar::new(title, grey)
                .tick(0.0, "its minimum")
                .tick(1.0, "its maximum"),
            (Scale::Fixed(lo, hi), _) => {
                ColourBar::new(title, grey).ticks_between(lo, hi, 5, |v| (v - lo) / (hi - lo))
            }
            (Scale::Signed, None) => {
                ColourBar::new(title, move |t| rgb(red_white_blue(2.0 * t - 1.0)))
                    .tick(0.0, "−largest")
                    .tick(0.5, "0")
                    .tick(1.0, "+largest")
            }
            (Scale::SignedUpTo(limit), _) => {
                ColourBar::new(title, move |t| rgb(red_white_blue(2.0 * t - 1.0))).ticks_between(
                    -limit,
                    limit,
                    5,
                    |v| (v / limit + 1.0) / 2.0,
                )
            }
        }
    }
}

/// A diverging colour map centred at 0: white fades to red as `strength` goes to +1, to blue
/// as it goes to −1 (clipped beyond).
fn red_white_blue(strength: f32) -> [u8; 3] {
    let strength = strength.clamp(-1.0, 1.0);
    let fade = to_byte(1.0 - strength.abs());
    if strength >= 0.0 {
        [255, fade, fade]
    } else {
        [fade, fade, 255]
    }
}

/// Values above this percentile of a map are drawn at full strength.
const TOP_PERCENTILE: f32 = 99.5;

/// The `p`-th percentile of sorted `values` (0 for none).
fn percentile(sorted: &[f32], p: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f32).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn to_byte(fraction: f32) -> u8 {
    (fraction.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// An RGB canvas that tiles are painted onto.
struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        let rgb = background.repeat(width * height);
        Canvas { width, height, rgb }
    }

    /// Paint `map` with its top-left corner at (`x`, `y`), each value a `zoom × zoom` block.
    fn paint(&mut self, map: &Map, scale: Scale, zoom: usize, x: usize, y: usize) {
        let colour_of = scale.colouring(map);
        for row in 0..map.height * zoom {
            for col in 0..map.width * zoom {
                let colour = colour_of(map.value(row / zoom, col / zoom));
                let at = 3 * ((y + row) * self.width + x + col);
                self.rgb[at..at + 3].copy_from_slice(&colour);
            }
        }
    }

    fn into_image(self) -> Result<RgbImage> {
        let (width, height) = (self.width as u32, self.height as u32);
        RgbImage::from_raw(width, height, self.rgb)
            .ok_or_else(|| Error::invalid("save picture", "the canvas changed size"))
    }

    fn save(&self, path: &Path) -> Result<()> {
        let too_big = |_| Error::invalid("save picture", "the picture is too large");
        let width = u32::try_from(self.width).map_err(too_big)?;
        let height = u32::try_from(self.height).map_err(too_big)?;
        write_rgb_png(path, width, height, &self.rgb)
    }
}

/// Save one map as a PNG, each value drawn as a `zoom × zoom` block of pixels.
pub fn save_map(path: &Path, map: &Map, scale: Scale, zoom: usize) -> Result<()> {
    let zoom = zoom.max(1);
    let mut canvas = Canvas::new(map.width * zoom, map.height * zoom, [255; 3]);
    canvas.paint(map, scale, zoom, 0, 0);
    canvas.save(path)
}

/// [`save_map`] with the colour bar of `scale` under the picture, titled `title`.
pub fn save_map_with_scale(
    path: &Path,
    map: &Map,
    scale: Scale,
    zoom: usize,
    title: &str,
) -> Result<()> {
    let zoom = zoom.max(1);
    let mut canvas = Canvas::new(map.width * zoom, map.height * zoom, [255; 3]);
    canvas.paint(map, scale, zoom, 0, 0);
    let picture = canvas.into_image()?;
    let (w, h) = (picture.width() as i32, picture.height() as i32);
    let bar_width = (w - 60).clamp(120, 280);
    let mut d = Diagram::new(w.max(bar_width + 60) as u32, (h + 70) as u32);
    d.picture((0, 0), &picture).colour_bar(
        ((w - bar_width) / 2, h + 30),
        (bar_width, 12),
        &scale.colour_bar(title, Some(map)),
        BarDirection::Horizontal,
        15,
    );
    d.save(path)
}

/// Grey between tiles, so white tile edges stay visible.
const GRID_BACKGROUND: [u8; 3] = [150, 150, 150];
/// Pixels of background between neighbouring tiles and around the grid.
const GAP: usize = 4;

/// Save several maps of equal size as one PNG, `columns` tiles per row, each tile scaled to
/// its own range (so a weak map is as visible as a strong one).
pub fn save_map_grid(
    path: &Path,
    maps: &[Map],
    columns: usize,
    scale: Scale,
    zoom: usize,
) -> Result<()> {
    paint_grid(maps, columns, scale, zoom)?.save(path)
}

/// The words around a grid of maps: a label left of each row (`\n` starts a new line), one
/// above each column (none if empty), and what the colours mean (the title of a colour bar
/// under the grid; no bar if `None`).
pub struct GridLabels {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub scale_title: Option<String>,
}

/// [`save_map_grid`] with labelled rows and columns and the colour scale under the grid.
pub fn save_labelled_map_grid(
    path: &Path,
    maps: &[Map],
    columns: usize,
    scale: Scale,
    zoom: usize,
    labels: &GridLabels,
) -> Result<()> {
    let zoom = zoom.max(1);
    let grid = paint_grid(maps, columns, scale, zoom)?.into_image()?;
    let (tile_w, tile_h) = (maps[0].width * zoom, maps[0].height * zoom);
    const TEXT: u32 = 15;
    let left = 12
        + labels
            .rows
            .iter()
            .flat_map(|l| l.lines())
            .map(|line| line.chars().count() as i32 * 9)
            .max()
            .unwrap_or(0);
    let top = if labels.columns.is_empty() { 4 } else { 26 };
    let (bar_top, bar_size) = (top + grid.height() as i32 + 34, (280, 14));
    let width = (left + grid.width() as i32 + 10).max(bar_size.0 + 40);
    let height = match labels.scale_title {
        Some(_) => bar_top + bar_size.1 + 34,
        None => top + grid.height() as i32 + 4,
    };
    let mut d = Diagram::new(width as u32, height as u32);
    d.picture((left, top), &grid);
    let step = |tile: usize| (tile + GAP) as i32;
    for (c, label) in labels.columns.iter().enumerate() {
        let x = left + GAP as i32 + c as i32 * step(tile_w) + tile_w as i32 / 2;
        d.text((x, top / 2), label, TEXT, Rgb::DARK_GREY, Align::Center);
    }
    for (r, label) in labels.rows.iter().enumerate() {
        let lines: Vec<&str> = label.lines().collect();
        let middle = top + GAP as i32 + r as i32 * step(tile_h) + tile_h as i32 / 2;
        for (i, line) in lines.iter().enumerate() {
            let y = middle + (2 * i as i32 - lines.len() as i32 + 1) * 10;
            d.text((left - 10, y), *line, TEXT, Rgb::BLACK, Align::Right);
        }
    }
    if let Some(title) = &labels.scale_title {
        let bar_x = left + (grid.width() as i32 - bar_size.0) / 2;
        let bar = scale.colour_bar(title, None);
        d.colour_bar(
            (bar_x.max(20), bar_top),
            bar_size,
            &bar,
            BarDirection::Horizontal,
            TEXT,
        );
    }
    d.save(path)
}

/// Maps of equal size as a grid, `columns` per row, with a caption under each (what the
/// picture is, or what the network took it for).
pub fn save_captioned_map_grid(
    path: &Path,
    maps: &[Map],
    captions: &[String],
    columns: usize,
    scale: Scale,
    zoom: usize,
) -> Result<()> {
    let zoom = zoom.max(1);
    let tiles: Vec<Tile> = maps
        .iter()
        .map(|map| {
            let mut canvas = Canvas::new(map.width * zoom, map.height * zoom, [255; 3]);
            canvas.paint(map, scale, zoom, 0, 0);
            let plane = |c: usize| canvas.rgb.iter().skip(c).step_by(3).map(|&v| f32::from(v));
            let rgb = (0..3).flat_map(plane).collect();
            Tile {
                height: canvas.height,
                width: canvas.width,
                rgb,
            }
        })
        .collect();
    let layout = GridLayout {
        columns,
        tile_size: tiles.first().map_or(1, |t| t.height.max(t.width)),
        gap: GAP,
        background: GRID_BACKGROUND[0],
    };
    captioned_tile_grid(&tiles, captions, &layout, 14)?.save(path)
}

/// `maps` painted as tiles, `columns` per row, on a grey background.
fn paint_grid(maps: &[Map], columns: usize, scale: Scale, zoom: usize) -> Result<Canvas> {
    let first = maps
        .first()
        .ok_or_else(|| Error::invalid("save_map_grid", "no maps to draw"))?;
    if columns == 0 {
        return Err(Error::invalid("save_map_grid", "need at least one column"));
    }
    if let Some(odd) = maps
        .iter()
        .find(|m| (m.height, m.width) != (first.height, first.width))
    {
        return Err(Error::shape(
            "save_map_grid",
            format!(
                "all maps must have the same size; found {}×{} and {}×{}",
                first.height, first.width, odd.height, odd.width
            ),
        ));
    }
    let zoom = zoom.max(1);
    let (tile_w, tile_h) = (first.width * zoom, first.height * zoom);
    let columns = columns.min(maps.len());
    let rows = maps.len().div_ceil(columns);
    let mut canvas = Canvas::new(
        GAP + columns * (tile_w + GAP),
        GAP + rows * (tile_h + GAP),
        GRID_BACKGROUND,
    );
    for (i, map) in maps.iter().enumerate() {
        let (row, col) = (i / columns, i % columns);
        canvas.paint(
            map,
            scale,
            zoom,
            GAP + col * (tile_w + GAP),
            GAP + row * (tile_h + GAP),
        );
    }
    Ok(canvas)
}
