//! Chapter 10 — The gallery as the article shows it: photo, painting and result side by side.
//!
//! The results are made by `picasso stylize` (`book/scripts/gallery.sh`); this example puts
//! each next to the two pictures it was made from, with their credits.
//!
//! Run: `cargo run --release -p chapters-examples --bin ch10_gallery -- --out out/ch10`

use chapters_examples::figures::rows::{draw_rows, PictureRow};
use chapters_examples::inputs::{credit, image_or_example};
use chapters_examples::{run_example, ExampleArgs, ExampleResult};
use clap::Parser;
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Chapter 10: rows of photo / painting / result.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: ExampleArgs,
    /// Where the results of `book/scripts/gallery.sh` are (default: the book's gallery).
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
}

/// The article's three paintings: the painting's file, its title, and the result's file.
const ARTICLE: [(&str, &str, &str); 3] = [
    ("udnie.jpg", "Udnie (Picabia, 1913)", "tubingen_udnie.jpg"),
    (
        "starry_night.jpg",
        "The Starry Night (Van Gogh, 1889)",
        "tubingen_starry_night.jpg",
    ),
    (
        "water_lilies.jpg",
        "Water Lilies (Monet, 1919)",
        "tubingen_water_lilies.jpg",
    ),
];

fn main() -> ExitCode {
    let args = Args::parse();
    run_example(|| run(&args))
}

fn run(args: &Args) -> ExampleResult {
    let out = args.common.output_dir("ch10")?;
    let results = args.results.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src/images/gallery")
    });
    let height = if args.common.quick { 60 } else { 220 };
    let photo_name = "tubingen.jpg";
    let photo = open(&image_or_example(None, photo_name)?)?;

    // The photo's licence asks for its credit wherever a picture made from it appears.
    let credits = [
        credit(photo_name).unwrap_or_default().to_string(),
        "Paintings: public domain (engine/assets/images/SOURCES.md)".to_string(),
    ];
    let mut rows = Vec::new();
    for (painting_name, title, result_name) in ARTICLE {
        let painting = open(&image_or_example(None, painting_name)?)?;
        let result = open_result(&results, result_name)?;
        println!(
            "{result_name}: photo {}×{}, painting {}×{}, result {}×{}",
            photo.width(),
            photo.height(),
            painting.width(),
            painting.height(),
            result.width(),
            result.height()
        );
        rows.push(PictureRow {
            cells: vec![
                ("photo".into(), photo.clone()),
                (title.into(), painting),
                ("result".into(), result),
            ],
        });
    }
    draw_rows(
        &out.join("photo_painting_result.jpg"),
        &rows,
        height,
        &credits,
    )?;

    let defaults = PictureRow {
        cells: vec![
            ("photo".into(), photo.clone()),
            (
                "The Starry Night".into(),
                open(&image_or_example(None, "starry_night.jpg")?)?,
            ),
            (
                "defaults: 256 → 512 px".into(),
                open_result(&results, "defaults_tubingen_starry_night.jpg")?,
            ),
        ],
    };
    draw_rows(&out.join("defaults_row.jpg"), &[defaults], height, &credits)?;
    println!("pictures written to {}", out.display());
    Ok(())
}

fn open(path: &Path) -> Result<RgbImage, String> {
    image::open(path)
        .map(|picture| picture.to_rgb8())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A result of `book/scripts/gallery.sh`, with a hint at how to make it when it is missing.
fn open_result(results: &Path, name: &str) -> Result<RgbImage, String> {
    let path = results.join(name);
    if !path.is_file() {
        return Err(format!(
            "{} is missing: make the gallery first (book/scripts/gallery.sh), or pass --results DIR",
            path.display()
        ));
    }
    open(&path)
}
