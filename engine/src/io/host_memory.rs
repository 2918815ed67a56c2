//! How much memory this machine can give a run now: the kernel's estimate of what can be
//! allocated without swapping (`MemAvailable` in `/proc/meminfo`), or the container's limit
//! (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`) less what the container already uses
//! (not counting page cache the kernel can drop), whichever is smaller. Linux only; elsewhere
//! nothing is known and no run is refused.

use std::path::Path;

/// Memory a run may use, and where the number came from (for error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailableMemory {
    pub bytes: u64,
    pub source: String,
}

/// What this machine has available now, or `None` where it cannot be read.
pub fn available_memory() -> Option<AvailableMemory> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let machine = meminfo
        .as_deref()
        .and_then(mem_available)
        .map(|bytes| AvailableMemory {
            bytes,
            source: "MemAvailable in /proc/meminfo".to_string(),
        });
    let container = cgroup_room();
    match (machine, container) {
        (Some(m), Some(c)) if c.bytes < m.bytes => Some(c),
        (Some(m), _) => Some(m),
        (None, c) => c,
    }
}

/// `MemAvailable:  12345678 kB` → bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemAvailable:")?;
        let kb: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb.saturating_mul(1024))
    })
}

/// The room left under this process's cgroup memory limit, if it has one.
fn cgroup_room() -> Option<AvailableMemory> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut candidates = Vec::new();
    for line in membership.lines() {
        // v2: `0::/path`; v1: `4:memory:/path`.
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let (Some(controllers), Some(path)) = (controllers, path) else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            for dir in [format!("/sys/fs/cgroup/{path}"), "/sys/fs/cgroup".into()] {
                candidates.push((dir, "memory.max", "memory.current"));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            for dir in [
                format!("/sys/fs/cgroup/memory/{path}"),
                "/sys/fs/cgroup/memory".into(),
            ] {
                candidates.push((dir, "memory.limit_in_bytes", "memory.usage_in_bytes"));
            }
        }
    }
    candidates
        .into_iter()
        .filter_map(|(dir, limit, usage)| {
            let dir = Path::new(&dir);
            let limit = read_number(&dir.join(limit))?;
            // "max" (v2) or a huge number (v1) means no limit.
            if limit >= 1 << 60 {
                return None;
            }
            // Page cache the kernel can drop on demand counts as usage but not as in use.
            let reclaimable = inactive_file(&dir.join("memory.stat")).unwrap_or(0);
            let used = read_number(&dir.join(usage))
                .unwrap_or(0)
                .saturating_sub(reclaimable);
            Some(AvailableMemory {
                bytes: limit.saturating_sub(used),
                source: format!(
                    "the container's memory limit ({} in {})",
                    crate::models::memory::format_bytes(limit),
                    dir.display()
                ),
            })
        })
        .min_by_key(|a| a.bytes)
}

/// `inactive_file` (v2) or `total_inactive_file` (v1) from a cgroup's `memory.stat`.
fn inactive_file(path: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    stat.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        matches!(key, "inactive_file" | "total_inactive_file")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Peak resident memory of this process so far (`VmHWM` in `/proc/self/status`), Linux only.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let kb: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb.saturating_mul(1024))
    })
}

/// `2G`, `512M`, `1.5GB`, `800000000` → bytes (decimal or binary suffixes, case-insensitive).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    let bytes = value * scale;
    (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   22000000 kB\n";
        assert_eq!(mem_available(text), Some(22_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn parses_sizes_with_units() {
        assert_eq!(parse_bytes("2G"), Some(2_000_000_000));
        assert_eq!(parse_bytes("1.5 GB"), Some(1_500_000_000));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("0"), None);
    }

    #[test]
    fn this_machine_reports_something_on_linux() {
        if cfg!(target_os = "linux") {
            let a = available_memory().expect("/proc/meminfo is readable on Linux");
            assert!(a.bytes > 0, "{a:?}");
            assert!(peak_resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
