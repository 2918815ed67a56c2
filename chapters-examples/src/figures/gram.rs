//! Chapter 8's figure: what the style cost compares. For a photo, a painting and the result of
//! style transfer, the Gram matrices of a few VGG layers side by side as heat maps.

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
/// layer (shared by the three pictures so they can be compared), on a square-root scale so
/// that weak correlations stay visible next to strong ones.
pub fn draw_gram_matrices(
    path: &Path,
    pictures: [&RgbImage; 3],
    titles: [&str; 3],
    rows: &[GramRow],
    shown: usize,
) -> Result<()> {
    let cell = (200 / shown.max(1)).max(1) as i32;
    let side = cell * shown as i32;
    let label_width = 150;
    let column = side + 40;
    let picture_height = pictures
        .iter()
        .map(|p| p.height() as i32)
        .max()
        .unwrap_or(0);
    let top = 40 + picture_height + 30;
    let row_height = side + 56;
    let width = (label_width + 3 * column + 10) as u32;
    let height = (top + rows.len() as i32 * row_height + 10) as u32;
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
            .fold(0.0f32, f32::max);
        d.text(
            (10, y + side / 2 - 12),
            &row.layer,
            18,
            Rgb::BLACK,
            Align::Left,
        )
        .text(
            (10, y + side / 2 + 12),
            format!("{shown} of {} channels", row.channels),
            14,
            Rgb::GREY,
            Align::Left,
        );
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
                .map(|v| (v.max(0.0) / hi.max(f32::MIN_POSITIVE)).sqrt())
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
                Rgb::GREY,
                Align::Center,
            );
        }
    }
    d.save(path)
}

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
