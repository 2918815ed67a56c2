//! Preparing the pictures for one scale: content, styles, the starting image (and the hand-over
//! from one size to the next), and the colour handling that wraps the optimisation
//! (luminance-only transfer, original colours).

use super::args::{ColorTransferArg, StylizeArgs};
use super::plan::{Init, Plan};
use engine::io::colour::{luminance, match_color_histogram, match_luminance, original_colors};
use engine::io::histogram::match_histograms;
use engine::io::image::{load_rgb8, rgb8_to_tensor, tensor_to_rgb8, DEFAULT_MAX_PIXELS};
use engine::io::{load_image, LoadOptions};
use engine::{Device, Result, Rng, Tensor};

/// The images one scale of the optimisation works with.
pub struct ScaleImages {
    /// The photo at this scale, in colour (for restoring colours at save time).
    pub content_rgb: Tensor,
    /// What the network sees as content (grey for luminance-only transfer).
    pub content: Tensor,
    /// What the network sees as styles.
    pub styles: Vec<Tensor>,
    /// One entry per painting when `--style-mask` is given (else empty).
    pub masks: Vec<Option<Tensor>>,
}

impl ScaleImages {
    /// What the network sees, moved to `device`; the colour photo stays on the host, where the
    /// pictures are finished and saved.
    pub fn moved_to(self, device: Device) -> Result<Self> {
        Ok(ScaleImages {
            content: self.content.to_device(device)?,
            styles: self
                .styles
                .iter()
                .map(|s| s.to_device(device))
                .collect::<Result<_>>()?,
            content_rgb: self.content_rgb,
            masks: self.masks,
        })
    }
}

pub fn load_scale(args: &StylizeArgs, plan: &Plan, size: u32) -> Result<ScaleImages> {
    let content_rgb = load_image(&args.content, &LoadOptions::long_side(size))?;
    let style_size = super::fit::style_long_side(size, args.style_scale);
    let mut styles = Vec::new();
    for path in &args.styles {
        let painting = load_image(path, &LoadOptions::long_side(style_size))?;
        styles.push(match args.color_transfer {
            ColorTransferArg::None => painting,
            ColorTransferArg::Histogram => match_histograms(&painting, &content_rgb)?,
            ColorTransferArg::MeanCov => match_color_histogram(&painting, &content_rgb)?,
        });
    }
    let (h, w) = (content_rgb.shape()[2], content_rgb.shape()[3]);
    let masks = if plan.masks.iter().any(|m| m.is_some()) {
        plan.masks
            .iter()
            .map(|m| m.as_ref().map(|p| super::masks::load(p, w, h)).transpose())
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    if !args.luminance_only {
        return Ok(ScaleImages {
            content: content_rgb.clone(),
            content_rgb,
            styles,
            masks,
        });
    }
    // Luminance-only: match each style's brightness statistics to the photo's, so a dark
    // painting does not darken the result, and optimise a grey image.
    let content = luminance(&content_rgb)?;
    let styles = styles
        .iter()
        .map(|s| match_luminance(&luminance(s)?, &content))
        .collect::<Result<_>>()?;
    Ok(ScaleImages {
        content_rgb,
        content,
        styles,
        masks,
    })
}

/// The image the first scale starts from.
fn initial_image(init: &Init, images: &ScaleImages, seed: u64) -> Result<Tensor> {
    match init {
        Init::Content => Ok(images.content.clone()),
        Init::Noise => {
            // Noise around the photo's average colour: far enough from it that the content
            // term has work to do, close enough that the first steps are sane.
            let mut rng = Rng::new(seed);
            let shape = images.content.shape().to_vec();
            let plane = shape[2] * shape[3];
            let data = images.content.to_vec()?;
            let mut out = Vec::with_capacity(data.len());
            for c in 0..3 {
                let mean = data[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32;
                out.extend((0..plane).map(|_| mean + 40.0 * rng.normal()));
            }
            Tensor::from_vec(out, &shape)
        }
        Init::File(path) => {
            let img = load_rgb8(path, DEFAULT_MAX_PIXELS)?;
            let shape = images.content.shape();
            resize_rgb8(&img, shape[3] as u32, shape[2] as u32)
        }
    }
}

/// What one size hands on to the next: its result, and the photo as that size saw it.
pub struct Handover {
    pub result: Tensor,
    pub photo: Tensor,
}

impl Handover {
    /// On the host, where the next size's start is made.
    pub fn new(result: &Tensor, images: &ScaleImages) -> Result<Self> {
        Ok(Handover {
            result: result.to_device(Device::Cpu)?,
            photo: images.content.to_device(Device::Cpu)?,
        })
    }
}

/// The image a size starts from: the first size's from `--init`, each later one's from the
/// size before it.
pub fn starting_image(
    init: &Init,
    before: Option<&Handover>,
    images: &ScaleImages,
    seed: u64,
) -> Result<Tensor> {
    match before {
        None => initial_image(init, images, seed),
        // A run that starts from the photo starts each size from the photo's detail too.
        Some(h) if *init == Init::Content => next_size_start(&h.result, &h.photo, &images.content),
        Some(h) => upsample(&h.result, &images.content),
    }
}

/// The previous scale's result, resized to this scale's size.
fn upsample(previous: &Tensor, like: &Tensor) -> Result<Tensor> {
    let img = tensor_to_rgb8(previous)?;
    resize_rgb8(&img, like.shape()[3] as u32, like.shape()[2] as u32)
}

// ANCHOR: next_size_start
/// Where the next size starts: the previous size's result upsampled, plus the detail the
/// coarser size could not hold, taken from the photo (the photo minus the coarse photo
/// upsampled the same way). Upsampling alone hands on a blurred picture whose content loss
/// the finer size must first repair; with the photo's fine detail added back, only the
/// strokes are left to sharpen.
fn next_size_start(previous: &Tensor, coarse_photo: &Tensor, photo: &Tensor) -> Result<Tensor> {
    let painted = upsample(previous, photo)?.to_vec()?;
    let blurred = upsample(coarse_photo, photo)?.to_vec()?;
    let sharp = photo.to_vec()?;
    let start = painted
        .iter()
        .zip(&blurred)
        .zip(&sharp)
        .map(|((painted, blurred), sharp)| (painted + (sharp - blurred)).clamp(0.0, 255.0))
        .collect();
    Tensor::from_vec(start, photo.shape())
}
// ANCHOR_END: next_size_start

fn resize_rgb8(img: &image::RgbImage, width: u32, height: u32) -> Result<Tensor> {
    let resized =
        image::imageops::resize(img, width, height, image::imageops::FilterType::CatmullRom);
    rgb8_to_tensor(&resized)
}

/// What gets saved: the optimised image, with the photo's colours put back when asked.
pub fn finished_image(
    args: &StylizeArgs,
    optimised: &Tensor,
    images: &ScaleImages,
) -> Result<Tensor> {
    // To the host: saving, GIF frames and colour handling work there.
    let optimised = optimised.to_device(Device::Cpu)?;
    if args.original_colors || args.luminance_only {
        original_colors(&optimised, &images.content_rgb)
    } else {
        Ok(optimised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(width: usize, height: usize, value: impl Fn(usize, usize, usize) -> f32) -> Tensor {
        let mut data = Vec::with_capacity(3 * width * height);
        for c in 0..3 {
            for y in 0..height {
                data.extend((0..width).map(|x| value(c, y, x)));
            }
        }
        Tensor::from_vec(data, &[1, 3, height, width]).unwrap()
    }

    #[test]
    fn the_next_size_starts_from_the_photo_where_the_coarse_size_changed_nothing() {
        // A photo with detail finer than the coarse size can hold: a checkerboard on a ramp.
        let photo = picture(16, 12, |c, y, x| {
            (20 * c + 5 * x + 3 * y) as f32 + if (x + y) % 2 == 0 { 40.0 } else { 0.0 }
        });
        let coarse_photo = picture(8, 6, |c, y, x| (20 * c + 10 * x + 6 * y + 20) as f32);
        let start = next_size_start(&coarse_photo, &coarse_photo, &photo).unwrap();
        assert_eq!(start.to_vec().unwrap(), photo.to_vec().unwrap());

        // What the coarse size painted (here: everything 30 brighter) is carried on, on top
        // of the photo's detail.
        let painted = picture(8, 6, |c, y, x| (20 * c + 10 * x + 6 * y + 50) as f32);
        let start = next_size_start(&painted, &coarse_photo, &photo).unwrap();
        for (s, p) in start.to_vec().unwrap().iter().zip(photo.to_vec().unwrap()) {
            assert!(
                (s - (p + 30.0).min(255.0)).abs() <= 1.0,
                "{s} against {p} + 30"
            );
        }
    }
}
