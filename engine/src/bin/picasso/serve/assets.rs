//! The page and the example pictures, compiled into the program: the page works offline and
//! asks nothing of any other server.

use serde_json::{json, Value};

pub const INDEX_HTML: &str = include_str!("page/index.html");
pub const APP_JS: &str = include_str!("page/app.js");
pub const STYLE_CSS: &str = include_str!("page/style.css");

/// A bundled picture the page offers as a photo or a painting.
pub struct Example {
    pub file: &'static str,
    pub title: &'static str,
    pub role: &'static str,
    pub credit: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! example {
    ($file:literal, $title:literal, $role:literal, $credit:literal) => {
        Example {
            file: $file,
            title: $title,
            role: $role,
            credit: $credit,
            bytes: include_bytes!(concat!("../../../../assets/images/", $file)),
        }
    };
}

/// The same pictures as `engine/assets/images/` (credits from its SOURCES.md).
pub const EXAMPLES: &[Example] = &[
    example!(
        "chelsea.png",
        "Chelsea the cat",
        "photo",
        "Photo: Stefan van der Walt, CC0"
    ),
    example!(
        "tubingen.jpg",
        "Tübingen, Neckarfront",
        "photo",
        "Photo: Andreas Praefcke, CC BY 3.0, via Wikimedia Commons"
    ),
    example!(
        "udnie.jpg",
        "Udnie — Francis Picabia, 1913",
        "painting",
        "Public domain"
    ),
    example!(
        "starry_night.jpg",
        "The Starry Night — Vincent van Gogh, 1889",
        "painting",
        "Public domain"
    ),
    example!(
        "water_lilies.jpg",
        "Water Lilies — Claude Monet, 1919",
        "painting",
        "Public domain"
    ),
    example!(
        "the_scream.jpg",
        "The Scream — Edvard Munch, 1893",
        "painting",
        "Public domain"
    ),
];

/// The example called `file`, if there is one (the name is looked up, never opened).
pub fn example(file: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.file == file)
}

impl Example {
    pub fn content_type(&self) -> &'static str {
        if self.file.ends_with(".png") {
            "image/png"
        } else {
            "image/jpeg"
        }
    }
}

/// The examples as the page lists them.
pub fn describe() -> Value {
    EXAMPLES
        .iter()
        .map(|e| {
            json!({
                "file": e.file,
                "title": e.title,
                "role": e.role,
                "credit": e.credit,
                "url": format!("/api/examples/{}", e.file),
            })
        })
        .collect()
}
