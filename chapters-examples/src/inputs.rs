//! The example photos and paintings that ship with the repository, in `engine/assets/images/`
//! (credits in its SOURCES.md), so every example runs in a fresh clone with no shared data.

use engine::Error;
use std::path::PathBuf;

/// The folder of example inputs in this repository.
pub fn example_images_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/assets/images")
}

/// `explicit` if given, else the repository's example image `name` (e.g. "tubingen.jpg").
pub fn image_or_example(explicit: Option<&PathBuf>, name: &str) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let path = example_images_dir().join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::invalid(
            "example image",
            format!(
                "{} is missing (it ships with the repository in engine/assets/images/): pass \
                 the picture's path explicitly",
                path.display()
            ),
        ))
    }
}

/// The credit line a picture made from example image `name` must carry.
pub fn credit(name: &str) -> Option<&'static str> {
    match name {
        "tubingen.jpg" => Some("Photo: Andreas Praefcke, CC BY 3.0, via Wikimedia Commons"),
        "chelsea.png" => Some("Photo: Chelsea the cat, Stefan van der Walt, CC0"),
        "starry_night.jpg" => Some("The Starry Night, Vincent van Gogh, 1889, public domain"),
        "udnie.jpg" => Some("Udnie, Francis Picabia, 1913, public domain"),
        "water_lilies.jpg" => Some("Water Lilies, Claude Monet, 1919, public domain"),
        "the_scream.jpg" => Some("The Scream, Edvard Munch, 1893, public domain"),
        _ => None,
    }
}
