//! Chapter 7's figure: VGG's convolution and pooling layers left to right, each box as tall as
//! the picture it outputs and as wide as its number of channels, with the layers style
//! transfer reads marked.

use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::Result;
use image::RgbImage;
use std::path::Path;

/// One layer's output, `[channels, height, width]`, by name (`conv3_1`, `pool3`, ...).
pub struct LayerShape {
    pub name: String,
    pub shape: [usize; 3],
}

/// What style transfer reads: each layer named here gets its role printed under its box.
pub struct Roles<'a> {
    pub style: &'a [&'a str],
    pub content: &'a [&'a str],
}

const STYLE: Rgb = Rgb(230, 85, 13);
const CONTENT: Rgb = Rgb(35, 139, 69);
const POOL: Rgb = Rgb(203, 24, 29);
/// Pixels between one block's pooling and the next block: room for the labels above them.
const BLOCK_GAP: i32 = 32;
/// Dark grey for secondary text: below the titles in rank, still easy to read.
const INK: Rgb = Rgb::DARK_GREY;

/// Draw the network: `photo` (a small picture of the input) and its `[3, H, W]` shape, then
/// every `conv` and `pool` of `layers` (ReLUs are drawn with the convolution before them).
pub fn draw_vgg(
    path: &Path,
    photo: &RgbImage,
    input: [usize; 3],
    layers: &[LayerShape],
    roles: &Roles,
) -> Result<()> {
    let drawn: Vec<&LayerShape> = layers
        .iter()
        .filter(|l| l.name.starts_with("conv") || l.name.starts_with("pool"))
        .collect();
    let tallest = input[1].max(1) as f32;
    let box_height = |h: usize| (36.0 + 184.0 * (h as f32 / tallest).sqrt()) as i32;
    let box_width = |c: usize| (20.0 + 9.0 * (c as f32 / 64.0).log2().max(0.0)) as i32;
    let middle = 210;

    let photo_x = 20;
    let mut x = photo_x + photo.width() as i32 + 40;
    let mut positions = Vec::new();
    for (i, layer) in drawn.iter().enumerate() {
        let is_pool = layer.name.starts_with("pool");
        let w = if is_pool {
            8
        } else {
            box_width(layer.shape[0])
        };
        positions.push((x, w));
        x += w + if is_pool { BLOCK_GAP } else { 7 };
        if i + 1 == drawn.len() {
            x -= BLOCK_GAP;
        }
    }
    let width = (x + 30) as u32;
    let mut d = Diagram::new(width, 520);

    d.picture((photo_x, middle - photo.height() as i32 / 2), photo)
        .text(
            (
                photo_x + photo.width() as i32 / 2,
                middle - photo.height() as i32 / 2 - 34,
            ),
            "input",
            18,
            Rgb::BLACK,
            Align::Center,
        )
        .text(
            (
                photo_x + photo.width() as i32 / 2,
                middle - photo.height() as i32 / 2 - 14,
            ),
            format!("{} × {} × {}", input[0], input[1], input[2]),
            16,
            INK,
            Align::Center,
        );

    let mut block_start = positions.first().map_or(0, |p| p.0);
    for (layer, &(x, w)) in drawn.iter().zip(&positions) {
        let [c, h, _] = layer.shape;
        let height = box_height(h);
        let top = middle - height / 2;
        if layer.name.starts_with("pool") {
            d.rect((x, top), (w, height), Some(POOL), None);
            // Above each block: its output size, which its pooling then halves.
            let centre = (block_start + x) / 2;
            let block = layer.name.trim_start_matches("pool");
            let [_, bh, bw] = previous_conv(&drawn, &layer.name).map_or(layer.shape, |l| l.shape);
            d.text(
                (centre, 22),
                format!("block {block}"),
                18,
                Rgb::BLACK,
                Align::Center,
            )
            .text(
                (centre, 44),
                format!("{c} channels"),
                16,
                INK,
                Align::Center,
            )
            .text((centre, 64), format!("{bh} × {bw}"), 16, INK, Align::Center);
            block_start = x + w + BLOCK_GAP;
            continue;
        }
        let block: usize = layer.name[4..5].parse().unwrap_or(1);
        let fill = Rgb(198, 219, 239).mix(Rgb(8, 81, 156), (block as f32 - 1.0) / 6.0);
        d.rect((x, top), (w, height), Some(fill), Some(Rgb(8, 48, 107)));
        // Under the box, reading upwards: its name, or the ReLU style transfer reads there.
        let relu = layer.name.replacen("conv", "relu", 1);
        let (label, color, size) = if roles.content.contains(&relu.as_str()) {
            (format!("{relu} · content"), CONTENT, 16)
        } else if roles.style.contains(&relu.as_str()) {
            (format!("{relu} · style"), STYLE, 16)
        } else {
            (layer.name.clone(), INK, 16)
        };
        d.upright_text((x + w / 2, middle + 122), label, size, color, Align::Right);
        if color != INK {
            d.rect((x, middle + 116), (w, 4), Some(color), None);
        }
    }
    let legend = 480;
    d.rect(
        (20, legend - 8),
        (16, 16),
        Some(Rgb(107, 174, 214)),
        Some(Rgb(8, 48, 107)),
    )
    .text(
        (44, legend),
        "3×3 convolution + ReLU: height ∝ √(picture height), width grows with the channels",
        16,
        Rgb::BLACK,
        Align::Left,
    )
    .rect((20, legend + 16), (16, 16), Some(POOL), None)
    .text(
        (44, legend + 24),
        "2×2 max pooling: halves height and width",
        16,
        Rgb::BLACK,
        Align::Left,
    );
    d.save(path)
}

/// The last convolution before the pooling layer `pool`.
fn previous_conv<'a>(layers: &[&'a LayerShape], pool: &str) -> Option<&'a LayerShape> {
    let at = layers.iter().position(|l| l.name == pool)?;
    layers[..at]
        .iter()
        .rev()
        .find(|l| l.name.starts_with("conv"))
        .copied()
}
