//! Chapter 1's figures: one neuron with its inputs, weights, sum and activation, and a small
//! fully connected network with every weight drawn as an edge.

use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::Result;
use std::path::Path;

/// Positive weights are drawn red, negative blue (as the filters of chapter 5).
fn weight_color(w: f32) -> Rgb {
    if w >= 0.0 {
        Rgb::RED
    } else {
        Rgb::BLUE
    }
}

/// A number with two decimals, with a real minus sign.
fn number(v: f32) -> String {
    number_with(v, 2)
}

fn number_with(v: f32, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) => format!("−{rest}"),
        None => text,
    }
}

/// One neuron: inputs `x` with weights `w`, bias `b`, the weighted sum `z` and the output
/// `a = σ(z)`, laid out left to right with the numbers of the example.
pub fn draw_neuron(path: &Path, x: &[f32], w: &[f32], b: f32, z: f32, a: f32) -> Result<()> {
    let (width, height) = (900, 360);
    let mut d = Diagram::new(width, height);
    let sum = (470, 190);
    let gap = 150;
    for (i, (&xi, &wi)) in x.iter().zip(w).enumerate() {
        let y = sum.1 - gap * (x.len() as i32 - 1) / 2 + gap * i as i32;
        let input = (110, y);
        let sub = ["₁", "₂", "₃", "₄"].get(i).copied().unwrap_or("ᵢ");
        d.circle(input, 38, Some(Rgb::LIGHT_BLUE), Some(Rgb::BLUE))
            .text(
                (input.0, input.1 - 11),
                format!("x{sub}"),
                22,
                Rgb::BLACK,
                Align::Center,
            )
            .text(
                (input.0, input.1 + 13),
                number(xi),
                18,
                Rgb::BLACK,
                Align::Center,
            );
        let width = (1.0 + 5.0 * wi.abs()).round() as u32;
        d.arrow(
            (input.0 + 40, input.1),
            (sum.0 - 56, sum.1 + (y - sum.1) / 6),
            weight_color(wi),
            width,
        );
        let mid = ((input.0 + sum.0) / 2 - 10, (input.1 + sum.1) / 2 - 22);
        d.text(
            mid,
            format!("w{sub} = {}", number(wi)),
            20,
            weight_color(wi),
            Align::Center,
        );
    }
    // The bias comes from above, as a constant input.
    d.rect(
        (sum.0 - 55, 22),
        (110, 44),
        Some(Rgb::LIGHT_GREY),
        Some(Rgb::GREY),
    )
    .text(
        (sum.0, 44),
        format!("b = {}", number(b)),
        20,
        Rgb::BLACK,
        Align::Center,
    )
    .arrow((sum.0, 66), (sum.0, sum.1 - 56), Rgb::GREY, 3);
    d.circle(sum, 54, Some(Rgb::LIGHT_ORANGE), Some(Rgb::ORANGE))
        .text(
            (sum.0, sum.1 - 16),
            "Σ wᵢxᵢ + b",
            20,
            Rgb::BLACK,
            Align::Center,
        )
        .text(
            (sum.0, sum.1 + 16),
            format!("z = {}", number_with(z, 4)),
            20,
            Rgb::BLACK,
            Align::Center,
        );
    let activation = (680, sum.1);
    d.arrow(
        (sum.0 + 56, sum.1),
        (activation.0 - 46, sum.1),
        Rgb::BLACK,
        3,
    )
    .rect(
        (activation.0 - 44, sum.1 - 36),
        (88, 72),
        Some(Rgb::LIGHT_GREY),
        Some(Rgb::BLACK),
    )
    .text(activation, "σ(z)", 24, Rgb::BLACK, Align::Center)
    .arrow((activation.0 + 46, sum.1), (812, sum.1), Rgb::BLACK, 3)
    .text((855, sum.1 - 16), "a", 24, Rgb::BLACK, Align::Center)
    .text(
        (855, sum.1 + 14),
        number_with(a, 4),
        20,
        Rgb::BLACK,
        Align::Center,
    )
    .text((110, 330), "inputs", 18, Rgb::DARK_GREY, Align::Center)
    .text((290, 330), "weights", 18, Rgb::DARK_GREY, Align::Center)
    .text(
        (sum.0, 330),
        "weighted sum",
        18,
        Rgb::DARK_GREY,
        Align::Center,
    )
    .text(
        (activation.0, 330),
        "activation",
        18,
        Rgb::DARK_GREY,
        Align::Center,
    )
    .text((855, 330), "output", 18, Rgb::DARK_GREY, Align::Center);
    d.save(path)
}

/// One column of neurons in the network figure.
pub struct Column {
    /// Shown above the column, e.g. "hidden layer (ReLU)".
    pub title: String,
    /// One name per neuron, e.g. "h₁".
    pub names: Vec<String>,
    /// Each neuron's value for the input shown.
    pub values: Vec<f32>,
}

/// A fully connected network: `columns` of neurons, and between column `i` and `i + 1` the
/// weights `weights[i]`, row-major `[outputs, inputs]` as `nn::Linear` stores them. Each
/// weight is an edge, red if positive and blue if negative, as thick as it is large.
pub fn draw_network(path: &Path, columns: &[Column], weights: &[Vec<f32>]) -> Result<()> {
    let (width, height) = (900, 520);
    let mut d = Diagram::new(width, height);
    let radius = 34;
    let x_of = |c: usize| 110 + (width as i32 - 220) * c as i32 / (columns.len().max(2) - 1) as i32;
    let y_of = |count: usize, i: usize| {
        let gap = 130;
        height as i32 / 2 + 20 - gap * (count as i32 - 1) / 2 + gap * i as i32
    };
    for (layer, matrix) in weights.iter().enumerate() {
        let (from, to) = (&columns[layer], &columns[layer + 1]);
        for (o, _) in to.names.iter().enumerate() {
            for (i, _) in from.names.iter().enumerate() {
                let w = matrix[o * from.names.len() + i];
                let a = (x_of(layer) + radius, y_of(from.names.len(), i));
                let b = (x_of(layer + 1) - radius, y_of(to.names.len(), o));
                d.line(
                    a,
                    b,
                    weight_color(w).mix(Rgb::WHITE, 0.15),
                    (1.0 + 4.0 * w.abs()).round() as u32,
                );
                // The weight's value near the receiving end, where edges are apart; a little
                // further out for each next neuron, so labels of crossing edges do not meet.
                let t = 0.2 + 0.14 * o as f32;
                let at = (
                    b.0 + ((a.0 - b.0) as f32 * t) as i32,
                    b.1 + ((a.1 - b.1) as f32 * t) as i32,
                );
                d.rect((at.0 - 25, at.1 - 11), (50, 22), Some(Rgb::WHITE), None)
                    .text(at, number(w), 16, weight_color(w), Align::Center);
            }
        }
    }
    for (c, column) in columns.iter().enumerate() {
        let x = x_of(c);
        d.text((x, 30), &column.title, 20, Rgb::BLACK, Align::Center);
        for (i, (name, value)) in column.names.iter().zip(&column.values).enumerate() {
            let y = y_of(column.names.len(), i);
            let off = *value == 0.0 && c > 0 && c + 1 < columns.len();
            let (fill, stroke) = if off {
                (Rgb::LIGHT_GREY, Rgb::GREY)
            } else {
                (Rgb::LIGHT_ORANGE, Rgb::ORANGE)
            };
            d.circle((x, y), radius, Some(fill), Some(stroke))
                .text((x, y - 10), name, 20, Rgb::BLACK, Align::Center)
                .text(
                    (x, y + 13),
                    number_with(*value, 2),
                    17,
                    Rgb::BLACK,
                    Align::Center,
                );
        }
    }
    d.text(
        (width as i32 / 2, height as i32 - 18),
        "edges: weights (red positive, blue negative, thicker = larger); grey neuron: switched off by ReLU",
        16,
        Rgb::DARK_GREY,
        Align::Center,
    );
    d.save(path)
}
