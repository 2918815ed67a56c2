//! Chapter 5's sliding-window figure: a kernel laid on a zero-padded input at successive
//! positions, `stride` cells apart, and the output cell each position writes.

use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::{Error, Result};
use std::path::Path;

/// A small convolution to draw: one input channel, one square kernel, and the output that
/// `conv2d` computed for it (row-major matrices).
pub struct SlidingWindow<'a> {
    pub input: &'a [f32],
    pub input_size: (usize, usize),
    pub kernel: &'a [f32],
    pub kernel_size: usize,
    pub padding: usize,
    pub stride: usize,
    pub output: &'a [f32],
    pub output_size: (usize, usize),
}

const CELL: i32 = 34;

fn number(v: f32) -> String {
    let text = if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    match text.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => text,
    }
}

/// One row of the figure per output position in `steps`: the padded input with the window
/// on it, and the output filled up to that position.
pub fn draw_sliding_window(
    path: &Path,
    conv: &SlidingWindow,
    steps: &[(usize, usize)],
) -> Result<()> {
    let (h, w) = conv.input_size;
    let (oh, ow) = conv.output_size;
    let (k, p, s) = (conv.kernel_size, conv.padding, conv.stride);
    if conv.input.len() != h * w || conv.kernel.len() != k * k || conv.output.len() != oh * ow {
        return Err(Error::invalid(
            "sliding window figure",
            "input, kernel and output must hold height × width values each",
        ));
    }
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    let grid_height = ph as i32 * CELL;
    let row_height = grid_height + 70;
    let input_x = 30;
    let output_x = input_x + pw as i32 * CELL + 110;
    let kernel_x = output_x + ow as i32 * CELL + 90;
    let width = (kernel_x + k as i32 * CELL + 70) as u32;
    let height = (row_height * steps.len() as i32 + 20) as u32;
    let mut d = Diagram::new(width, height);

    for (row, &(oi, oj)) in steps.iter().enumerate() {
        let top = 20 + row as i32 * row_height + 40;
        let index = oi * ow + oj;
        d.text(
            (input_x, top - 22),
            format!(
                "output ({oi}, {oj}): the window starts at padded row {}, column {}",
                oi * s,
                oj * s
            ),
            18,
            Rgb::BLACK,
            Align::Left,
        );
        // The padded input: zeros outside the picture, in grey.
        for r in 0..ph {
            for c in 0..pw {
                let inside = r >= p && r < p + h && c >= p && c < p + w;
                let in_window = r >= oi * s && r < oi * s + k && c >= oj * s && c < oj * s + k;
                let value = if inside {
                    conv.input[(r - p) * w + (c - p)]
                } else {
                    0.0
                };
                let fill = match (in_window, inside) {
                    (true, _) => Rgb::LIGHT_ORANGE,
                    (false, true) => Rgb::WHITE,
                    (false, false) => Rgb(240, 240, 240),
                };
                let corner = (input_x + c as i32 * CELL, top + r as i32 * CELL);
                d.rect(corner, (CELL, CELL), Some(fill), Some(Rgb::LIGHT_GREY));
                let color = if inside { Rgb::BLACK } else { Rgb::GREY };
                d.text(
                    (corner.0 + CELL / 2, corner.1 + CELL / 2),
                    number(value),
                    16,
                    color,
                    Align::Center,
                );
            }
        }
        if p > 0 {
            d.dashed_rect(
                (input_x + p as i32 * CELL, top + p as i32 * CELL),
                (w as i32 * CELL, h as i32 * CELL),
                Rgb::BLUE,
                2,
            );
        }
        let window = (
            input_x + (oj * s) as i32 * CELL,
            top + (oi * s) as i32 * CELL,
        );
        d.frame(window, (k as i32 * CELL, k as i32 * CELL), Rgb::ORANGE, 3);

        // The output so far: earlier positions filled in, this one highlighted.
        let out_top = top + (grid_height - oh as i32 * CELL) / 2;
        for r in 0..oh {
            for c in 0..ow {
                let done = r * ow + c <= index;
                let current = r * ow + c == index;
                let fill = if current {
                    Rgb::LIGHT_ORANGE
                } else {
                    Rgb::WHITE
                };
                let corner = (output_x + c as i32 * CELL, out_top + r as i32 * CELL);
                d.rect(corner, (CELL, CELL), Some(fill), Some(Rgb::GREY));
                if done {
                    let v = conv.output[r * ow + c];
                    d.text(
                        (corner.0 + CELL / 2, corner.1 + CELL / 2),
                        number(v),
                        16,
                        Rgb::BLACK,
                        Align::Center,
                    );
                }
            }
        }
        // From the grid's edge at the window's middle row to the output row it writes (the
        // written cell is the highlighted one).
        let from = (
            input_x + pw as i32 * CELL + 6,
            window.1 + k as i32 * CELL / 2,
        );
        let to = (output_x - 6, out_top + oi as i32 * CELL + CELL / 2);
        d.arrow(from, to, Rgb::ORANGE, 2);
        d.text(
            (
                output_x + ow as i32 * CELL / 2,
                out_top + oh as i32 * CELL + 22,
            ),
            format!("Σ window × kernel = {}", number(conv.output[index])),
            16,
            Rgb::BLACK,
            Align::Center,
        );
        if row == 0 {
            d.text(
                (output_x + ow as i32 * CELL / 2, out_top - 16),
                format!("output {oh}×{ow}"),
                16,
                Rgb::DARK_GREY,
                Align::Center,
            );
        }
    }

    // The kernel, once, at the right of the first row.
    let top = 60 + (grid_height - k as i32 * CELL) / 2;
    d.text(
        (kernel_x + k as i32 * CELL / 2, top - 16),
        format!("kernel {k}×{k}"),
        16,
        Rgb::DARK_GREY,
        Align::Center,
    );
    for r in 0..k {
        for c in 0..k {
            let corner = (kernel_x + c as i32 * CELL, top + r as i32 * CELL);
            d.rect(
                corner,
                (CELL, CELL),
                Some(Rgb::LIGHT_ORANGE),
                Some(Rgb::ORANGE),
            )
            .text(
                (corner.0 + CELL / 2, corner.1 + CELL / 2),
                number(conv.kernel[r * k + c]),
                16,
                Rgb::BLACK,
                Align::Center,
            );
        }
    }
    let centre = kernel_x + k as i32 * CELL / 2;
    d.text(
        (centre, top + k as i32 * CELL + 24),
        format!("padding {p}: grey zeros"),
        16,
        Rgb::DARK_GREY,
        Align::Center,
    )
    .text(
        (centre, top + k as i32 * CELL + 46),
        format!("stride {s}"),
        16,
        Rgb::DARK_GREY,
        Align::Center,
    )
    .text(
        (centre, top + k as i32 * CELL + 68),
        "blue: the picture",
        16,
        Rgb::BLUE,
        Align::Center,
    );
    d.save(path)
}
