//! Printing that survives a closed pipe. `println!` panics when stdout is a pipe whose reader
//! has gone (`picasso … | head -1`, `| true`), which would stop a run before its remaining files
//! are written. These write what they can and drop the rest quietly: the files are what
//! matter, and the reader asked for no more lines.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// One line on stdout, or nothing once stdout is closed.
pub fn say(args: std::fmt::Arguments) {
    write_line(&mut std::io::stdout().lock(), &STDOUT_CLOSED, args);
}

/// One line on stderr, or nothing once stderr is closed.
pub fn tell(args: std::fmt::Arguments) {
    write_line(&mut std::io::stderr().lock(), &STDERR_CLOSED, args);
}

/// Whether a write to stdout has found it closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

fn write_line(out: &mut impl Write, closed: &AtomicBool, args: std::fmt::Arguments) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    // Any failure (a closed pipe, a full disk behind a redirection) ends the printing, never
    // the program.
    if writeln!(out, "{args}").and_then(|()| out.flush()).is_err() {
        closed.store(true, Ordering::Relaxed);
    }
}

/// `say!("…", x)`: [`say`] with `format!` arguments.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::io::console::say(format_args!($($arg)*)) };
}

/// `tell!("…", x)`: [`tell`] with `format!` arguments.
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => { $crate::io::console::tell(format_args!($($arg)*)) };
}
