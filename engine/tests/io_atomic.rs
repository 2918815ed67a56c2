//! Atomic writes and the guard that refuses to overwrite an input, however it is spelled.

mod io_common;

use std::io::Write;
use std::path::{Path, PathBuf};

use engine::io::atomic::{ensure_not_input, write_atomic, AtomicFile};
use engine::io::save::{save_image, OutputFormat};
use io_common::{noise_image, TempDir};

const NO_INPUTS: &[&Path] = &[];

fn assert_refused(result: engine::Result<()>) -> String {
    let msg = result
        .expect_err("the output should be refused")
        .to_string();
    assert!(msg.contains("refusing"), "{msg}");
    msg
}

#[test]
fn write_atomic_writes_and_replaces_without_leftovers() {
    let dir = TempDir::new("atomic");
    let path = dir.join("out.txt");
    write_atomic(&path, b"first").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"first");
    write_atomic(&path, b"second, longer").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
    assert_eq!(dir.names(), vec!["out.txt"]);
}

#[test]
fn an_uncommitted_file_leaves_nothing_behind() {
    let dir = TempDir::new("uncommitted");
    let path = dir.join("out.bin");
    {
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"partial").unwrap();
        assert!(f.temp_path().exists());
        assert_eq!(f.dest(), path.as_path());
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    // An existing file survives an abandoned rewrite.
    write_atomic(&path, b"keep me").unwrap();
    {
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"never committed").unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
    assert_eq!(dir.names(), vec!["out.bin"]);
}

#[test]
fn missing_folders_and_directories_are_clear_errors() {
    let dir = TempDir::new("nodir");
    let msg = write_atomic(&dir.join("missing/out.png"), b"x")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("does not exist"), "{msg}");
    let msg = write_atomic(dir.path(), b"x").unwrap_err().to_string();
    assert!(msg.contains("directory"), "{msg}");
    assert!(dir.names().is_empty());
}

#[test]
fn guard_refuses_the_same_path() {
    let dir = TempDir::new("guard-same");
    let input = dir.join("photo.png");
    std::fs::write(&input, b"precious").unwrap();
    let msg = assert_refused(ensure_not_input(&input, &[&input]));
    assert!(
        msg.contains("photo_out.png"),
        "suggests another name: {msg}"
    );
    assert!(ensure_not_input(&dir.join("other.png"), &[&input]).is_ok());
    assert!(ensure_not_input(&input, NO_INPUTS).is_ok());
}

#[test]
fn guard_sees_through_dot_dot_and_relative_paths() {
    let dir = TempDir::new("guard-rel");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let input = dir.join("photo.png");
    std::fs::write(&input, b"precious").unwrap();
    assert_refused(ensure_not_input(&dir.join("sub/../photo.png"), &[&input]));
    assert_refused(ensure_not_input(
        &dir.join("./sub/.././photo.png"),
        &[&input],
    ));

    // The same file relative to the working directory.
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let target = input.canonicalize().unwrap();
    let mut relative = PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(target.strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    assert_refused(ensure_not_input(&relative, &[&input]));
    assert_refused(ensure_not_input(&input, &[&relative]));
}

#[test]
fn guard_resolves_outputs_that_do_not_exist_yet() {
    let dir = TempDir::new("guard-new");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let a = dir.join("new.png");
    let b = dir.join("sub/../new.png");
    assert!(!a.exists());
    assert_refused(ensure_not_input(&b, &[&a]));
    // A missing output folder cannot hold an input.
    assert!(ensure_not_input(&dir.join("nope/new.png"), &[&a]).is_ok());
}

#[cfg(unix)]
#[test]
fn guard_sees_through_symlinks_and_hard_links() {
    use std::os::unix::fs::symlink;
    let dir = TempDir::new("guard-links");
    let input = dir.join("photo.png");
    std::fs::write(&input, b"precious").unwrap();

    let link = dir.join("link.png");
    symlink(&input, &link).unwrap();
    assert_refused(ensure_not_input(&link, &[&input]));
    assert_refused(ensure_not_input(&input, &[&link]));

    let linked_dir = dir.join("alias");
    symlink(dir.path(), &linked_dir).unwrap();
    assert_refused(ensure_not_input(&linked_dir.join("photo.png"), &[&input]));
    // Not yet existing, reached through a symlinked folder.
    assert_refused(ensure_not_input(
        &linked_dir.join("fresh.png"),
        &[&dir.join("fresh.png")],
    ));

    let hard = dir.join("hard.png");
    std::fs::hard_link(&input, &hard).unwrap();
    assert_refused(ensure_not_input(&hard, &[&input]));
}

#[test]
fn save_image_refuses_an_input_and_leaves_it_untouched() {
    let dir = TempDir::new("save-guard");
    let input = dir.join("content.png");
    std::fs::write(&input, b"precious").unwrap();
    let other = dir.join("style.png");
    assert_refused(save_image(
        &noise_image(4, 4, 1),
        &dir.join("./content.png"),
        &[other.as_path(), input.as_path()],
    ));
    assert_eq!(std::fs::read(&input).unwrap(), b"precious");
    assert_eq!(dir.names(), vec!["content.png"]);
}

#[test]
fn output_format_follows_the_extension() {
    assert_eq!(
        OutputFormat::from_path(Path::new("a.PNG")).unwrap(),
        OutputFormat::Png
    );
    assert!(matches!(
        OutputFormat::from_path(Path::new("dir.v2/a.jpeg")).unwrap(),
        OutputFormat::Jpeg { .. }
    ));
    for bad in ["a.webp", "a.tiff", "a"] {
        let msg = OutputFormat::from_path(Path::new(bad))
            .unwrap_err()
            .to_string();
        assert!(msg.contains(".png, .jpg, .jpeg"), "{bad}: {msg}");
    }
    let dir = TempDir::new("save-ext");
    let msg = save_image(&noise_image(2, 2, 1), &dir.join("x.bmp"), NO_INPUTS)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("x.bmp") && msg.contains(".png"), "{msg}");
    assert!(dir.names().is_empty());
}

#[test]
fn save_image_writes_png_and_jpeg_without_temp_files() {
    let dir = TempDir::new("save");
    let t = noise_image(8, 12, 5);
    save_image(&t, &dir.join("a.png"), NO_INPUTS).unwrap();
    save_image(&t, &dir.join("b.jpg"), NO_INPUTS).unwrap();
    save_image(&t, &dir.join("a.png"), NO_INPUTS).unwrap();
    assert_eq!(dir.names(), vec!["a.png", "b.jpg"]);
    assert!(std::fs::read(dir.join("a.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    assert!(std::fs::read(dir.join("b.jpg"))
        .unwrap()
        .starts_with(&[0xFF, 0xD8]));
}
