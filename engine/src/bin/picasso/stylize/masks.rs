//! `--style-mask PAINTING=MASK.png`: which painting acts where. Checked with the rest of the
//! plan (a mask naming no painting, two masks for one, a mask of another shape than the photo
//! are refused in milliseconds); loaded at each scale at the photo's size.

use engine::io::image::{load_rgb8, read_dimensions, DEFAULT_MAX_PIXELS};
use engine::{Error, Result, Tensor};
use std::path::{Path, PathBuf};

/// How far a mask's proportions may differ from the photo's before it no longer covers it.
const ASPECT_TOLERANCE: f64 = 0.02;

/// One mask file per painting that has one (index into the styles).
pub type MaskFiles = Vec<Option<PathBuf>>;

/// The painting `name` refers to: its path as given, its file name, or its number (1 = first).
fn painting_index(name: &str, styles: &[PathBuf]) -> Option<usize> {
    if let Ok(n) = name.parse::<usize>() {
        return (1..=styles.len()).contains(&n).then(|| n - 1);
    }
    styles
        .iter()
        .position(|p| p == Path::new(name))
        .or_else(|| {
            let file = |p: &Path| p.file_name().map(|f| f.to_os_string());
            let wanted = file(Path::new(name));
            styles.iter().position(|p| file(p) == wanted)
        })
}

/// Parse and check every `--style-mask`; `content` is the photo's size in pixels.
pub fn parse(specs: &[String], styles: &[PathBuf], content: (u32, u32)) -> Result<MaskFiles> {
    let mut masks: MaskFiles = vec![None; styles.len()];
    for spec in specs {
        let Some((name, file)) = spec.split_once('=') else {
            return Err(Error::invalid(
                "--style-mask",
                format!("`{spec}` should be PAINTING=MASK.png (the painting as given, its file name, or its number)"),
            ));
        };
        let index = painting_index(name.trim(), styles).ok_or_else(|| {
            let given: Vec<String> = styles.iter().map(|p| p.display().to_string()).collect();
            Error::invalid(
                "--style-mask",
                format!(
                    "`{name}` is none of the paintings ({}); name one of them, or give its number",
                    given.join(", ")
                ),
            )
        })?;
        if masks[index].is_some() {
            return Err(Error::invalid(
                "--style-mask",
                format!(
                    "painting {} ({}) has two masks; give one",
                    index + 1,
                    styles[index].display()
                ),
            ));
        }
        let path = PathBuf::from(file.trim());
        let (w, h) = read_dimensions(&path, DEFAULT_MAX_PIXELS)?;
        let (ratio, photo) = (w as f64 / h as f64, content.0 as f64 / content.1 as f64);
        if (ratio / photo - 1.0).abs() > ASPECT_TOLERANCE {
            return Err(Error::invalid(
                "--style-mask",
                format!(
                    "{} is {w}×{h}, not the photo's shape ({}×{}): it would not cover the photo; make the mask with the photo's proportions",
                    path.display(),
                    content.0,
                    content.1
                ),
            ));
        }
        if load_rgb8(&path, DEFAULT_MAX_PIXELS)?
            .pixels()
            .all(|p| p.0 == [0, 0, 0])
        {
            return Err(Error::invalid(
                "--style-mask",
                format!("{} is black everywhere: painting {} would act nowhere; make the region it should paint white", path.display(), index + 1),
            ));
        }
        masks[index] = Some(path);
    }
    Ok(masks)
}

/// A mask file as `[1, 1, height, width]` in 0..1 (its brightness), resized to the photo.
pub fn load(path: &Path, width: usize, height: usize) -> Result<Tensor> {
    let rgb = load_rgb8(path, DEFAULT_MAX_PIXELS)?;
    let rgb = image::imageops::resize(
        &rgb,
        width as u32,
        height as u32,
        image::imageops::FilterType::Triangle,
    );
    let grey: Vec<f32> = rgb
        .pixels()
        .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
        .collect();
    let mask = Tensor::from_vec(grey, &[1, 1, height, width])?;
    engine::style::masks::check_mask(&mask, &path.display().to_string())?;
    Ok(mask)
}
