//! The budget that makes the GPU fast, checked on the emulator through the device ledger
//! (which counts alike on a GPU and in the emulator): style transfer with L-BFGS, the real
//! VGG16 on a small image, the ledger read after every evaluation.
//!
//! - no image-sized copy between host and device inside the loop: the image, its gradient and
//!   L-BFGS's history stay on the device, only scalars come back;
//! - host round trips per evaluation (each drains the device's queue and idles it) bounded by
//!   a small constant that does not grow with the L-BFGS history.
//!
//! The counts of one steady-state evaluation are also what chapter 11 shows, and what its
//! roofline estimate (`engine/benches/roofline.py`) adds fixed costs from: this test writes
//! them to `book/src/outputs/ch11_ledger.json` and `.md` under `PICASSO_BLESS=1` (the estimate's
//! table `ch11_roofline.md` with them), and otherwise fails when the book's copy is stale.

use engine::cuda::Ledger;
use engine::models::{load_vgg, Vgg};
use engine::style::{optimise, Control, ImageOptimizer, LbfgsConfig, Objective, ObjectiveConfig};
use engine::{Device, Rng, Tensor};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Small, so that the emulator gets through an evaluation in a fraction of a second;
/// relu5_1 is then 2×2.
const SIZE: usize = 32;
/// Evaluations per run: enough for the history of 100 to hold more pairs than that of 5.
const EVALUATIONS: usize = 12;
/// The largest copy the loop may make: the 256 partial sums (f64) a vector fold leaves for the
/// host, or the addresses of a history of 100 pairs (8 bytes each), whatever the image's size.
const LARGEST_COPY: u64 = 256 * 8;
/// Host round trips per L-BFGS evaluation, at any history: the loss and gradient checks, a
/// handful of norms for the step, one batched product over the history.
const ROUND_TRIPS: u64 = 12;

/// The emulated device, or `None` without a C++ compiler (a failure under REQUIRE_EMULATOR=1).
fn emulator() -> Option<Device> {
    engine::cuda::use_host_emulator(true);
    match engine::cuda::CudaDevice::get(0) {
        Ok(_) => Some(Device::Cuda(0)),
        Err(e) if std::env::var("REQUIRE_EMULATOR").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_EMULATOR=1 but the host emulator cannot run: {e}")
        }
        Err(e) => {
            println!("skipped: no emulator ({e})");
            None
        }
    }
}

fn vgg16(device: Device) -> Vgg {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("weights/vgg16-imagenet-f16.safetensors");
    load_vgg(&path).unwrap().to_device(device).unwrap()
}

/// Pixels 0..255 on `device`.
fn image(seed: u64, device: Device) -> Tensor {
    Tensor::rand_uniform(&[1, 3, SIZE, SIZE], 0.0, 255.0, &mut Rng::new(seed))
        .to_device(device)
        .unwrap()
}

/// The device's ledger after each evaluation of a run with L-BFGS history `history` (the
/// first entry: before the run). Runs once per history and is kept: the tests share it.
fn ledgers(history: usize) -> Option<Vec<Ledger>> {
    static RUNS: OnceLock<Mutex<HashMap<usize, Vec<Ledger>>>> = OnceLock::new();
    let device = emulator()?;
    let mut runs = RUNS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(run) = runs.get(&history) {
        return Some(run.clone());
    }
    let vgg = vgg16(device);
    let config = ObjectiveConfig::paper(1.0, 1000.0, 0.0);
    let style = [(image(2, device), 1.0)];
    let objective = Objective::new(&vgg, config, &image(1, device), &style).unwrap();
    let optimizer = ImageOptimizer::Lbfgs(LbfgsConfig {
        history,
        // Never stop early: every run makes all its evaluations.
        tolerance_grad: -1.0,
        tolerance_change: -1.0,
        ..LbfgsConfig::default()
    });
    let start = image(3, device);
    let mut seen = vec![device.ledger().unwrap().unwrap()];
    device.reset_ledger_marks().unwrap();
    let outcome = optimise(&vgg, &objective, &start, optimizer, EVALUATIONS, |_| {
        seen.push(device.ledger()?.expect("a CUDA device keeps a ledger"));
        Ok(Control::Continue)
    })
    .unwrap();
    assert_eq!(outcome.evaluations, EVALUATIONS, "{:?}", outcome.reason);
    runs.insert(history, seen.clone());
    Some(seen)
}

/// What evaluation `n` (1-based) cost, the optimiser's step before it included.
fn evaluation(run: &[Ledger], n: usize) -> Ledger {
    run[n].since(&run[n - 1])
}

#[test]
fn no_image_sized_copy_inside_the_loop() {
    let Some(run) = ledgers(100) else { return };
    let image_bytes = (3 * SIZE * SIZE * 4) as u64;
    assert!(LARGEST_COPY < image_bytes, "the image is too small to tell");
    // From the first evaluation's end to the last's: the loop proper.
    let lp = run[EVALUATIONS].since(&run[1]);
    let per = lp.per(EVALUATIONS - 1);
    println!("per evaluation: {per:?}");
    println!(
        "evaluation {EVALUATIONS}: {:?}",
        evaluation(&run, EVALUATIONS)
    );
    assert!(
        lp.largest_copy_bytes <= LARGEST_COPY,
        "a copy of {} bytes inside the loop (the image is {image_bytes}): {lp:?}",
        lp.largest_copy_bytes
    );
    // What does move: scalars, and per remembered vector an address up and a few products
    // down (8 bytes each) — the history's size, never the image's.
    assert!(
        per.upload_bytes <= 4096.0 && per.download_bytes <= 4096.0,
        "bytes moved per evaluation: {per:?}"
    );
}

/// With the two-loop recursion on the vectors, every dot product was its own round trip:
/// 2·pairs + 10 per evaluation (30 at evaluation 12 with history 100, 20 with history 5).
#[test]
fn round_trips_per_evaluation_do_not_grow_with_history() {
    let (Some(short), Some(long)) = (ledgers(5), ledgers(100)) else {
        return;
    };
    for n in 2..=EVALUATIONS {
        let (a, b) = (evaluation(&short, n), evaluation(&long, n));
        println!(
            "evaluation {n}: {} round trips at history 5, {} at 100",
            a.syncs, b.syncs
        );
    }
    let (a, b) = (
        evaluation(&short, EVALUATIONS),
        evaluation(&long, EVALUATIONS),
    );
    assert_eq!(
        a.round_trips(),
        b.round_trips(),
        "round trips of evaluation {EVALUATIONS} at history 5 and 100"
    );
    assert!(
        b.round_trips() <= ROUND_TRIPS,
        "{} round trips in one evaluation: {b:?}",
        b.round_trips()
    );
}

/// The ledger of evaluation [`EVALUATIONS`] at history 5 and 100, as the book shows it: the
/// counts as JSON (what `roofline.py` reads) and as a Markdown table.
#[test]
fn the_book_shows_this_runs_ledger() {
    let (Some(short), Some(long)) = (ledgers(5), ledgers(100)) else {
        assert!(
            !book::blessing(),
            "PICASSO_BLESS=1, but no emulator: nothing to write"
        );
        return;
    };
    let runs: Vec<(usize, Ledger)> = vec![
        (5, evaluation(&short, EVALUATIONS)),
        (100, evaluation(&long, EVALUATIONS)),
    ];
    let counts = |(history, l): &(usize, Ledger)| {
        serde_json::json!({
            "history": history,
            "launches": l.launches,
            "gemms": l.gemms,
            "syncs": l.syncs,
            "uploads": l.uploads,
            "upload_bytes": l.upload_bytes,
            "downloads": l.downloads,
            "download_bytes": l.download_bytes,
            "allocations": l.allocations,
            "allocated_bytes": l.allocated_bytes,
        })
    };
    let json = serde_json::json!({
        "what": format!(
            "device ledger of evaluation {EVALUATIONS} of L-BFGS style transfer (real VGG16, \
             {SIZE} x {SIZE} px, host emulator), written by engine/tests/cuda_ledger.rs"
        ),
        "height": SIZE,
        "width": SIZE,
        "evaluation": EVALUATIONS,
        "runs": runs.iter().map(counts).collect::<Vec<_>>(),
    });
    let json = serde_json::to_string_pretty(&json).unwrap() + "\n";
    type Cell = fn(&Ledger) -> String;
    let rows: [(&str, Cell); 6] = [
        ("kernel launches", |l| l.launches.to_string()),
        ("cuBLAS calls", |l| l.gemms.to_string()),
        ("round trips (host waits)", |l| l.syncs.to_string()),
        ("uploads (bytes)", |l| {
            format!("{} ({} B)", l.uploads, l.upload_bytes)
        }),
        ("downloads (bytes)", |l| {
            format!("{} ({} B)", l.downloads, l.download_bytes)
        }),
        ("allocations (MB)", |l| {
            format!(
                "{} ({:.2} MB)",
                l.allocations,
                l.allocated_bytes as f64 / 1e6
            )
        }),
    ];
    let mut table = format!(
        "| evaluation {EVALUATIONS} at {SIZE} × {SIZE} px | history 5 | history 100 |\n\
         | --- | ---: | ---: |\n"
    );
    for (what, cell) in rows {
        let cells: Vec<String> = runs.iter().map(|(_, l)| cell(l)).collect();
        table += &format!("| {what} | {} |\n", cells.join(" | "));
    }
    book::check_or_bless("ch11_ledger.md", &table);
    book::check_or_bless("ch11_ledger.json", &json);
    if book::blessing() {
        book::write_roofline_table();
    }
}

/// The ledger's files in `book/src/outputs/`: written with `PICASSO_BLESS=1` (as
/// `style_reference.rs` writes its table), otherwise compared with what this run counted.
mod book {
    use std::path::{Path, PathBuf};

    fn outputs() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/outputs")
    }

    pub fn blessing() -> bool {
        std::env::var_os("PICASSO_BLESS").is_some()
    }

    pub fn check_or_bless(name: &str, counted: &str) {
        let path = outputs().join(name);
        if blessing() {
            std::fs::write(&path, counted).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let book = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            book,
            counted,
            "{} is not what this run counted (the book is stale: after a deliberate change run \
             PICASSO_BLESS=1 REQUIRE_EMULATOR=1 cargo test --release -p picasso-engine \
             --test cuda_ledger, which rewrites chapter 11's roofline table too)",
            path.display()
        );
    }

    /// The roofline estimate at the main job's size (512 px wide, 384 high) from the counts
    /// just written: the table `tests/tests/book.rs` remakes and compares.
    pub fn write_roofline_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let made = std::process::Command::new("python3")
            .arg(root.join("engine/benches/roofline.py"))
            .args(["--height", "384", "--width", "512", "--table", "--ledger"])
            .arg(outputs().join("ch11_ledger.json"))
            .output()
            .expect("python3 runs engine/benches/roofline.py, which writes ch11_roofline.md");
        assert!(
            made.status.success(),
            "roofline.py: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let path = outputs().join("ch11_roofline.md");
        std::fs::write(&path, made.stdout).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
