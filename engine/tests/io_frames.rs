//! Numbered frames and animated GIFs.

mod io_common;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use engine::io::frames::{
    frame_path, list_frames, save_frame, write_gif, write_gif_from_files, write_gif_from_tensors,
    GifOptions,
};
use image::codecs::gif::GifDecoder;
use image::AnimationDecoder;
use io_common::{noise_image, shared_image, shared_tensor, TempDir};

const NO_INPUTS: &[&Path] = &[];

/// Decode every frame of a GIF: (width, height, delay in ms) per frame.
fn decode_gif(path: &Path) -> Vec<(u32, u32, u32)> {
    let decoder = GifDecoder::new(BufReader::new(File::open(path).unwrap())).unwrap();
    decoder
        .into_frames()
        .collect_frames()
        .unwrap()
        .into_iter()
        .map(|f| {
            let (n, d) = f.delay().numer_denom_ms();
            (f.buffer().width(), f.buffer().height(), n / d)
        })
        .collect()
}

#[test]
fn frame_names_derive_from_the_output() {
    assert_eq!(
        frame_path(Path::new("out.png"), 10),
        PathBuf::from("out_0010.png")
    );
    assert_eq!(
        frame_path(Path::new("runs/a.b.JPG"), 7),
        PathBuf::from("runs/a.b_0007.JPG")
    );
    assert_eq!(
        frame_path(Path::new("anim.gif"), 3),
        PathBuf::from("anim_0003.png")
    );
    assert_eq!(
        frame_path(Path::new("out"), 12345),
        PathBuf::from("out_12345.png")
    );
}

#[test]
fn saved_frames_are_listed_in_numeric_order() {
    let dir = TempDir::new("frames");
    let out = dir.join("out.png");
    for i in [10, 2, 100, 12000] {
        let p = save_frame(&noise_image(3, 4, i as u64), &out, i, NO_INPUTS).unwrap();
        assert!(p.exists());
    }
    // Look-alikes that are not frames.
    std::fs::write(dir.join("out.png"), b"").unwrap();
    std::fs::write(dir.join("out_abcd.png"), b"").unwrap();
    std::fs::write(dir.join("out_0001.jpg"), b"").unwrap();
    std::fs::write(dir.join("other_0001.png"), b"").unwrap();
    let names: Vec<String> = list_frames(&out)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "out_0002.png",
            "out_0010.png",
            "out_0100.png",
            "out_12000.png"
        ]
    );
}

#[test]
fn gif_has_every_frame_with_delay_and_loops() {
    let dir = TempDir::new("gif");
    let frames: Vec<_> = (0..5).map(|i| noise_image(24, 40, i)).collect();
    let path = dir.join("anim.gif");
    let options = GifOptions {
        delay_ms: 250,
        ..GifOptions::default()
    };
    assert_eq!(
        write_gif_from_tensors(&path, &frames, &options, NO_INPUTS).unwrap(),
        5
    );
    assert_eq!(decode_gif(&path), vec![(40, 24, 250); 5]);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.windows(11).any(|w| w == b"NETSCAPE2.0"),
        "loop extension present"
    );
    assert_eq!(dir.names(), vec!["anim.gif"]);
}

#[test]
fn gif_frames_are_downscaled_and_made_one_size() {
    let dir = TempDir::new("gif-scale");
    let frames = vec![
        noise_image(200, 300, 1),
        noise_image(50, 50, 2),
        noise_image(400, 600, 3),
    ];
    let path = dir.join("small.gif");
    let options = GifOptions {
        max_long_side: Some(60),
        ..GifOptions::default()
    };
    write_gif_from_tensors(&path, &frames, &options, NO_INPUTS).unwrap();
    let decoded = decode_gif(&path);
    assert_eq!(decoded.len(), 3);
    assert!(
        decoded.iter().all(|&(w, h, _)| (w, h) == (60, 40)),
        "{decoded:?}"
    );
}

#[test]
fn gif_from_saved_frames_of_a_real_image() {
    let Some(content) = shared_tensor("images/content/tubingen.jpg", 96) else {
        return;
    };
    let dir = TempDir::new("gif-files");
    let out = dir.join("result.png");
    for i in 0..4 {
        save_frame(&content, &out, i * 10, NO_INPUTS).unwrap();
    }
    let files = list_frames(&out).unwrap();
    let gif = dir.join("result.gif");
    let n = write_gif_from_files(&gif, &files, &GifOptions::default(), &files).unwrap();
    assert_eq!(n, 4);
    let decoded = decode_gif(&gif);
    assert_eq!(decoded.len(), 4);
    let (h, w) = (content.shape()[2] as u32, content.shape()[3] as u32);
    assert_eq!((decoded[0].0, decoded[0].1), (w, h));
}

#[test]
fn gif_errors_leave_no_files() {
    let dir = TempDir::new("gif-err");
    let path = dir.join("empty.gif");
    let none: Vec<engine::Tensor> = Vec::new();
    let msg = write_gif_from_tensors(&path, &none, &GifOptions::default(), NO_INPUTS)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no frames"), "{msg}");

    // A failing frame midway aborts the whole GIF.
    let frames = vec![
        Ok(engine::io::tensor_to_rgb8(&noise_image(5, 5, 1)).unwrap()),
        Err(engine::Error::invalid("test", "frame failed")),
    ];
    assert!(write_gif(&path, frames, &GifOptions::default(), NO_INPUTS).is_err());

    let missing = [dir.join("missing_0001.png")];
    assert!(write_gif_from_files(&path, &missing, &GifOptions::default(), NO_INPUTS).is_err());
    assert!(dir.names().is_empty(), "{:?}", dir.names());

    let Some(input) = shared_image("images/content/chelsea.png") else {
        return;
    };
    let msg = write_gif_from_files(&input, &[&input], &GifOptions::default(), &[&input])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("refusing"), "{msg}");
}
