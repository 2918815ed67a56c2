//! Issue 18, item 5, in the library: an output name that passes the check made before a run
//! stays writable for the whole run — its temporary names never grow. (The old names carried
//! a counter that gained a digit at the tenth save: a name that fitted at the start failed
//! the final save of a 200-evaluation run.) Alone in its file: the temporary-name counter is
//! per process.

mod io_common;

use engine::io::{check_outputs, save_image, OutputKind, PlannedOutput};
use engine::Tensor;
use io_common::TempDir;
use std::path::Path;

#[test]
fn a_name_that_passes_the_check_survives_every_later_save() {
    let dir = TempDir::new("names");
    let picture = Tensor::from_vec(vec![128.0; 3 * 4 * 4], &[1, 3, 4, 4]).unwrap();
    // The longest name the check lets through: every later save must succeed too.
    let mut tried = 0;
    for len in (200..=251).rev() {
        let out = dir.join(&format!("{}.png", "n".repeat(len - 4)));
        let planned = PlannedOutput::new("-o", &out, OutputKind::Image);
        if check_outputs(&[planned], &[] as &[&Path]).is_err() {
            continue;
        }
        for save in 0..25 {
            if let Err(e) = save_image(&picture, &out, &[] as &[&Path]) {
                panic!("a {len}-byte name passed the check, but save {save} failed: {e}");
            }
        }
        tried += 1;
        if tried == 2 {
            break;
        }
    }
    assert_eq!(tried, 2, "no name passed the check");
}
