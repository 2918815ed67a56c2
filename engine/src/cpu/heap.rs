//! Keeping freed memory for the next evaluation instead of giving it back to the kernel, and
//! giving back the pages of built-in data once it has been read.
//!
//! One evaluation of style transfer at 512 px allocates and frees about 3 GB: activations,
//! gradients and work buffers, most of them blocks of 1 to 50 MB. glibc's `malloc` serves
//! blocks that large with `mmap` and returns them to the kernel at `free`, so the next
//! evaluation touches fresh pages again: a page fault for every 4 KB, and the kernel clears
//! each page before handing it over. Told to serve every block from its heap and to keep
//! what is freed, `malloc` hands the same memory back evaluation after evaluation. Peak
//! memory does not grow, because an evaluation needs the same blocks as the one before.
//! (Measured in engine/benches/RESULTS.md: system time 5.4 → 1.8 s over 12 evaluations.)

/// Set this environment variable (to anything) to keep glibc's defaults: for comparing the
/// two.
pub const KEEP_DEFAULTS_ENV: &str = "PICASSO_MALLOC_DEFAULTS";

// ANCHOR: keep_freed_memory
/// Make `malloc` keep freed memory for reuse (glibc on Linux; elsewhere nothing changes).
/// Call it first thing in `main`, before other threads start. Returns whether it took effect.
pub fn keep_freed_memory() -> bool {
    if std::env::var_os(KEEP_DEFAULTS_ENV).is_some() {
        return false;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's tuning parameters; each call returns 1 when
        // the value was accepted.
        unsafe {
            // No block from mmap: everything from the heap, so that free keeps it.
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                // Never shrink the heap (i32::MAX bytes of free space at its top, 2 GiB).
                && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
                // Grow it in steps of 512 MiB: address space only, until a page is touched.
                && libc::mallopt(libc::M_TOP_PAD, 512 << 20) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
// ANCHOR_END: keep_freed_memory

// ANCHOR: release_program_pages
/// Hand back to the kernel the pages of `bytes`, a part of the program's own file (data built
/// in with `include_bytes!`), once the program is done reading it. Such pages are a read-only
/// mapping of the file, so this changes no contents: were they read again, the kernel would
/// load them again from the file. Until then they no longer count in the process's resident
/// memory. Linux only (elsewhere nothing changes); returns whether the pages went.
pub fn release_program_pages(bytes: &'static [u8]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let Ok(page) = usize::try_from(page) else {
            return false;
        };
        // Only whole pages inside the slice: its neighbours' pages are left alone.
        let start = (bytes.as_ptr() as usize).next_multiple_of(page);
        let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
        if end <= start {
            return false;
        }
        // SAFETY: [start, end) lies inside a 'static read-only slice of the program's file
        // mapping; MADV_DONTNEED on a private file mapping that was never written drops the
        // pages, and the next read maps the same bytes from the file again.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = bytes;
        false
    }
}
// ANCHOR_END: release_program_pages

#[cfg(test)]
mod tests {
    /// Page faults of the calling thread so far.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn page_faults() -> i64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes one rusage into the struct it is given.
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        usage.ru_minflt
    }

    /// Built-in data whose pages were handed back reads the same afterwards.
    #[test]
    fn released_program_pages_read_the_same() {
        static DATA: [u8; 1 << 16] = {
            let mut data = [0u8; 1 << 16];
            let mut i = 0;
            while i < data.len() {
                data[i] = (i * 7 % 251) as u8;
                i += 1;
            }
            data
        };
        let before: u64 = DATA.iter().map(|&b| b as u64).sum();
        let released = super::release_program_pages(&DATA);
        assert_eq!(released, cfg!(target_os = "linux"));
        let after: u64 = DATA.iter().map(|&b| b as u64).sum();
        assert_eq!(before, after);
        assert!(DATA
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i * 7 % 251) as u8));
    }

    /// What the setting is for: a block freed and allocated again is the same memory, so
    /// writing it again costs no page faults (with glibc's defaults, a 48 MB block comes
    /// from mmap and goes back at free: 12 288 fresh pages each time).
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_freed_block_is_reused_without_page_faults() {
        if std::env::var_os(super::KEEP_DEFAULTS_ENV).is_some() {
            println!("skipped: {} is set", super::KEEP_DEFAULTS_ENV);
            return;
        }
        assert!(super::keep_freed_memory(), "glibc refused a setting");
        let write_block = || std::hint::black_box(vec![1u8; 48 << 20]);
        drop(write_block());
        let before = page_faults();
        drop(write_block());
        let faults = page_faults() - before;
        assert!(faults < 1000, "{faults} page faults writing a reused block");
    }
}
