//! Chapter 1.1 — Inside the engine: tensors, shapes and strides.
//!
//! A tensor is a flat buffer of numbers plus a layout (shape, strides, offset) that says where
//! each element lives. This example makes one small tensor and several views of it
//! (transpose, narrow, broadcast, permute, reshape), prints each view's layout and the buffer
//! positions it reads, and shows when `contiguous` copies. The buffer holds 0, 1, 2, …, so
//! every value printed is also the position it was read from.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch01_tensors -- --out out/ch01`

use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use engine::vis::diagram::{Align, Diagram, Rgb};
use engine::{Result, Tensor};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Chapter 1.1: a buffer, its layout, and views that copy nothing.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch01")?;
    let t = buffer_and_layout()?;
    find_an_element(&t)?;
    let tt = transpose(&t)?;
    narrow(&t)?;
    broadcast(&t)?;
    permute()?;
    reshape(&t, &tt)?;
    contiguous(&t, &tt)?;
    draw_views(&t, &out.join("tensor_views.png"))?;
    println!("\npictures written to {}", out.display());
    Ok(())
}

// ANCHOR: buffer_and_layout
/// Twelve numbers in one buffer, seen as a 3 × 4 matrix.
fn buffer_and_layout() -> Result<Tensor> {
    println!("== A tensor is a buffer and a layout");
    let values: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let t = Tensor::from_vec(values, &[3, 4])?;
    println!("the buffer: {}", positions(0..12));
    describe("t", &t, &t);
    print_matrix(&t)?;
    Ok(t)
}
// ANCHOR_END: buffer_and_layout

// ANCHOR: find_an_element
/// Element (i, j) lives at offset + i·strides[0] + j·strides[1].
fn find_an_element(t: &Tensor) -> Result<()> {
    println!("\n== Finding an element: offset + Σ index × stride");
    let index = [2, 1];
    let (strides, offset) = (t.layout().strides(), t.layout().offset());
    let position = t.layout().offset_of(&index);
    println!(
        "t[2, 1] lives at {offset} + 2·{} + 1·{} = {position}; t.get(&[2, 1]) = {}",
        strides[0],
        strides[1],
        t.get(&index)?
    );
    Ok(())
}
// ANCHOR_END: find_an_element

// ANCHOR: transpose
/// The transpose swaps two strides; the buffer is not touched.
fn transpose(t: &Tensor) -> Result<Tensor> {
    println!("\n== Transpose: swap the strides");
    let tt = t.t()?;
    describe("t.t()", &tt, t);
    print_matrix(&tt)?;
    println!("reads the buffer at: {}", positions(tt.layout().offsets()));
    Ok(tt)
}
// ANCHOR_END: transpose

// ANCHOR: narrow
/// Narrowing keeps the strides and moves the offset.
fn narrow(t: &Tensor) -> Result<()> {
    println!("\n== Narrow: move the offset");
    let columns = t.narrow(1, 1, 2)?; // columns 1 and 2
    describe("columns", &columns, t);
    print_matrix(&columns)?;
    println!(
        "reads the buffer at: {}",
        positions(columns.layout().offsets())
    );
    let rows = t.narrow(0, 1, 2)?; // rows 1 and 2: still one dense run
    describe("rows", &rows, t);
    Ok(())
}
// ANCHOR_END: narrow

// ANCHOR: broadcast
/// Broadcasting repeats an axis with stride 0: one row read three times.
fn broadcast(t: &Tensor) -> Result<()> {
    println!("\n== Broadcast: a stride of 0");
    let bias = Tensor::from_vec(vec![100.0, 200.0, 300.0, 400.0], &[4])?;
    let repeated = bias.broadcast_to(&[3, 4])?;
    describe("repeated", &repeated, &bias);
    print_matrix(&repeated)?;
    println!(
        "reads the buffer at: {}",
        positions(repeated.layout().offsets())
    );
    println!("t + bias (the add broadcasts the same way):");
    print_matrix(&t.add(&bias)?)?;
    Ok(())
}
// ANCHOR_END: broadcast

// ANCHOR: permute
/// An image stored channel by channel, seen pixel by pixel.
fn permute() -> Result<()> {
    println!("\n== Permute: reorder the axes");
    let values: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let image = Tensor::from_vec(values, &[2, 3, 4])?; // channels, rows, columns
    describe("image", &image, &image);
    let pixels = image.permute(&[1, 2, 0])?; // rows, columns, channels
    describe("pixels", &pixels, &image);
    let (red, green) = (pixels.get(&[1, 2, 0])?, pixels.get(&[1, 2, 1])?);
    println!("pixel (1, 2) has channels {red} and {green}, 12 positions apart");
    Ok(())
}
// ANCHOR_END: permute

// ANCHOR: reshape
/// A reshape is a view when the tensor is contiguous, a copy when it is not.
fn reshape(t: &Tensor, tt: &Tensor) -> Result<()> {
    println!("\n== Reshape: a view when contiguous, a copy otherwise");
    describe("t → [2, 6]", &t.reshape(&[2, 6])?, t);
    println!(
        "Layout::reshape on t.t()'s layout: {:?}",
        tt.layout().reshape(&[12])
    );
    let flat = tt.reshape(&[12])?;
    describe("t.t() → [12]", &flat, t);
    println!(
        "its values: {}",
        positions(flat.to_vec()?.iter().map(|&v| v as usize))
    );
    Ok(())
}
// ANCHOR_END: reshape

// ANCHOR: contiguous
/// `contiguous` copies a strided view into a fresh row-major buffer, once.
fn contiguous(t: &Tensor, tt: &Tensor) -> Result<()> {
    println!("\n== contiguous(): one copy, then dense again");
    let dense = tt.contiguous()?;
    describe("dense", &dense, t);
    let values: Vec<usize> = dense.to_vec()?.iter().map(|&v| v as usize).collect();
    println!("its own buffer: {}", positions(values));
    describe("t.contiguous()", &t.contiguous()?, t);
    Ok(())
}
// ANCHOR_END: contiguous

/// One line per view: its layout, and whether it reads the same buffer as `base`.
fn describe(name: &str, view: &Tensor, base: &Tensor) {
    let l = view.layout();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!(
        "{name:<14} shape {:<10} strides {:<11} offset {:<2} contiguous {:<3}  same buffer {}",
        format!("{:?}", l.shape()),
        format!("{:?}", l.strides()),
        l.offset(),
        yes_no(l.is_contiguous()),
        yes_no(Arc::ptr_eq(view.storage(), base.storage())),
    );
}

/// Whole numbers separated by spaces.
fn positions(items: impl IntoIterator<Item = usize>) -> String {
    let words: Vec<String> = items.into_iter().map(|p| p.to_string()).collect();
    words.join(" ")
}

/// A 2-D tensor's values, one row per line, as whole numbers.
fn print_matrix(m: &Tensor) -> Result<()> {
    let columns = m.shape()[1];
    for row in m.to_vec()?.chunks(columns) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>4}")).collect();
        println!("  {}", cells.join(""));
    }
    Ok(())
}

const CELL: i32 = 40;

/// The buffer on top, and four views of it below; a cell's colour is its buffer position.
fn draw_views(t: &Tensor, path: &Path) -> Result<()> {
    let views = [
        ("t", t.clone()),
        ("t.t()", t.t()?),
        ("t.narrow(1, 1, 2)", t.narrow(1, 1, 2)?),
        ("row 1 broadcast", t.narrow(0, 1, 1)?.broadcast_to(&[3, 4])?),
    ];
    let column_width = 215;
    let mut d = Diagram::new(4 * column_width as u32 + 20, 390);
    let title = "the buffer (storage): 12 numbers, each stored at the position it names";
    d.text((20, 24), title, 20, Rgb::BLACK, Align::Left);
    for p in 0..12 {
        cell(&mut d, (20 + p as i32 * (CELL + 6), 44), p, p as f32);
    }
    for (k, (name, view)) in views.iter().enumerate() {
        let left = 20 + k as i32 * column_width;
        draw_view(&mut d, (left, 120), name, view)?;
    }
    d.save(path)
}

/// One view as a grid of cells, with its shape, strides and offset below.
fn draw_view(d: &mut Diagram, (left, top): (i32, i32), name: &str, view: &Tensor) -> Result<()> {
    d.text((left, top), name, 18, Rgb::BLACK, Align::Left);
    let (rows, columns) = (view.shape()[0], view.shape()[1]);
    let reads: Vec<usize> = view.layout().offsets().collect();
    for (i, (&p, value)) in reads.iter().zip(view.to_vec()?).enumerate() {
        let (r, c) = ((i / columns) as i32, (i % columns) as i32);
        cell(d, (left + c * CELL, top + 20 + r * CELL), p, value);
    }
    let l = view.layout();
    let below = top + 20 + rows as i32 * CELL + 22;
    let lines = [
        format!("shape {:?}", l.shape()),
        format!("strides {:?}", l.strides()),
        format!("offset {}", l.offset()),
    ];
    for (n, line) in lines.iter().enumerate() {
        let at = (left, below + n as i32 * 22);
        d.text(at, line.as_str(), 17, Rgb::BLACK, Align::Left);
    }
    Ok(())
}

/// A square cell coloured by the buffer position it reads, showing the value found there.
fn cell(d: &mut Diagram, corner: (i32, i32), position: usize, value: f32) {
    let fill = Rgb::heat(position as f32 / 11.0).mix(Rgb::WHITE, 0.55);
    let centre = (corner.0 + CELL / 2, corner.1 + CELL / 2);
    d.rect(corner, (CELL, CELL), Some(fill), Some(Rgb::GREY));
    d.text(centre, format!("{value}"), 18, Rgb::BLACK, Align::Center);
}
