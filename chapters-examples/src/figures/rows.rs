//! Chapter 10's figure: rows of pictures side by side at one height, each with its title —
//! the photo, the painting and the result of painting one in the style of the other.

use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::{Error, Result};
use image::imageops::FilterType;
use image::RgbImage;
use std::path::Path;

/// One row of the figure: (title, picture) from left to right.
pub struct PictureRow {
    pub cells: Vec<(String, RgbImage)>,
}

/// Every picture is scaled to `height` pixels (keeping its shape); `footer` lines (credits)
/// go under the last row.
pub fn draw_rows(path: &Path, rows: &[PictureRow], height: u32, footer: &[String]) -> Result<()> {
    let gap = 16;
    let title_height = 30;
    let scaled: Vec<Vec<(String, RgbImage)>> = rows
        .iter()
        .map(|row| {
            row.cells
                .iter()
                .map(|(title, picture)| {
                    let (w, h) = picture.dimensions();
                    let width = (w * height / h.max(1)).max(1);
                    let resized =
                        image::imageops::resize(picture, width, height, FilterType::Lanczos3);
                    (title.clone(), resized)
                })
                .collect()
        })
        .collect();
    let row_width = |row: &Vec<(String, RgbImage)>| {
        row.iter().map(|(_, p)| p.width() as i32).sum::<i32>() + gap * (row.len() as i32 - 1)
    };
    let width = scaled.iter().map(row_width).max().ok_or_else(|| {
        Error::invalid(
            "picture rows",
            "the figure needs at least one row of pictures",
        )
    })? + 2 * gap;
    let row_height = title_height + height as i32 + gap;
    let total_height = gap + row_height * scaled.len() as i32 + 22 * footer.len() as i32;
    let mut d = Diagram::new(width as u32, total_height as u32);
    for (r, row) in scaled.iter().enumerate() {
        let top = gap + r as i32 * row_height;
        let mut x = (width - row_width(row)) / 2;
        for (title, picture) in row {
            let centre = x + picture.width() as i32 / 2;
            d.text(
                (centre, top + title_height / 2 - 2),
                title,
                18,
                Rgb::BLACK,
                Align::Center,
            )
            .picture((x, top + title_height), picture);
            x += picture.width() as i32 + gap;
        }
    }
    let mut y = gap + row_height * scaled.len() as i32;
    for line in footer {
        d.text((gap, y), line, 14, Rgb::GREY, Align::Left);
        y += 22;
    }
    d.save(path)
}
