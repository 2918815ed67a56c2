//! Chapter 8's figure: what the style cost compares. For a photo, a painting and the result of
//! style transfer, the Gram matrices of a few VGG layers side by side as heat maps.

use engine::vis::colour_bar::{BarDirection, ColourBar};
use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::{Error, Result};
use image::RgbImage;
use std::path::Path;

/// One layer's Gram matrices for the three pictures, row-major `channels × channels`.
pub struct GramRow {
    pub layer: String,
    pub channels: usize,
    pub grams: [Vec<f32>; 3],
    /// Under the photo's and the result's heat map: mean((G − G_painting)²).
    pub distance_to_painting: [f64; 2],
}

/// The top-left `shown × shown` block of every Gram matrix is drawn, one colour scale per
/// layer (shared by the three pictures so they can be compared, and drawn as a colour bar at
/// the end of the row), on a square-root scale so that weak correlations stay visible next to
/// strong ones. At 750 px wide it fits the book's column, so its text is shown at its size.
pub fn draw_gram_matrices(
    path: &Path,
    pictures: [&RgbImage; 3],
    titles: [&str; 3],
    rows: &[GramRow],
    shown: usize,
) -> Result<()> {
    let cell = (160 / shown.max(1)).max(1) as i32;
    let side = cell * shown as i32;
    let label_width = 100;
    let column = side + 30;
    let bar_strip = 80;
    // Each picture shrunk (if need be) to the width of a heat map, so neighbours do not overlap.
    let pictures = pictures.map(|p| fit_width(p, side as u32));
    let picture_height = pictures
        .iter()
        .map(|p| p.height() as i32)
        .max()
        .unwrap_or(0);
    let top = 40 + picture_height + 40;
    let row_height = side + 60;
    let width = (label_width + 3 * column + bar_strip) as u32;
    let height = (top + rows.len() as i32 * row_height) as u32;
    let mut d = Diagram::new(width, height);

    for (i, (picture, title)) in pictures.iter().zip(titles).enumerate() {
        let centre = label_width + i as i32 * column + side / 2;
        d.text((centre, 18), title, 18, Rgb::BLACK, Align::Center)
            .picture((centre - picture.width() as i32 / 2, 36), picture);
    }
    for (r, row) in rows.iter().enumerate() {
        let y = top + r as i32 * row_height;
        let shown = shown.min(row.channels);
        let hi = row
            .grams
            .iter()
            .flat_map(|g| block(g, row.channels, shown))
            .fold(0.0f32, f32::max)
            .max(f32::MIN_POSITIVE);
        let middle = y + side / 2;
        d.text((10, middle - 20), &row.layer, 18, Rgb::BLACK, Align::Left)
            .text(
                (10, middle + 4),
                format!("{shown} of {}", row.channels),
                15,
                INK,
                Align::Left,
            )
            .text((10, middle + 22), "channels", 15, INK, Align::Left);
        for (i, gram) in row.grams.iter().enumerate() {
            if gram.len() != row.channels * row.channels {
                return Err(Error::invalid(
                    "gram figure",
                    format!(
                        "{}: a Gram matrix of {} values is not {c}×{c}",
                        row.layer,
                        gram.len(),
                        c = row.channels
                    ),
                ));
            }
            let values: Vec<f32> = block(gram, row.channels, shown)
                .map(|v| (v.max(0.0) / hi).sqrt())
                .collect();
            let x = label_width + i as i32 * column;
            d.heatmap((x, y), &values, (shown, shown), cell as u32, (0.0, 1.0))?;
            let caption = match i {
                1 => "the target".to_string(),
                0 => format!("distance {}", three_digits(row.distance_to_painting[0])),
                _ => format!("distance {}", three_digits(row.distance_to_painting[1])),
            };
            d.text(
                (x + side / 2, y + side + 18),
                caption,
                15,
                INK,
                Align::Center,
            );
        }
        // The row's colour scale: the same square root that coloured the heat maps.
        let scale =
            ColourBar::new("Gram value", Rgb::heat).ticks_between(0.0, hi, 5, |v| (v / hi).sqrt());
        let bar_x = label_width + 3 * column - 12;
        d.colour_bar((bar_x, y), (16, side), &scale, BarDirection::Vertical, 14);
    }
    d.save(path)
}

/// `picture` scaled down to at most `width` pixels wide, keeping its shape.
fn fit_width(picture: &RgbImage, width: u32) -> RgbImage {
    let (w, h) = picture.dimensions();
    if w <= width {
        return picture.clone();
    }
    let height = (h * width / w.max(1)).max(1);
    image::imageops::resize(
        picture,
        width,
        height,
        image::imageops::FilterType::Lanczos3,
    )
}

/// Dark grey for secondary text: light enough to rank below the titles, dark enough to read.
const INK: Rgb = Rgb::DARK_GREY;

/// The top-left `shown × shown` block of a row-major `n × n` matrix.
fn block(matrix: &[f32], n: usize, shown: usize) -> impl Iterator<Item = f32> + '_ {
    (0..shown).flat_map(move |i| (0..shown).map(move |j| matrix[i * n + j]))
}

/// A positive number to about three significant digits, without an exponent.
fn three_digits(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}
