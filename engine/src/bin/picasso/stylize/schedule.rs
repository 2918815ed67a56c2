//! Coarse to fine, and how long to spend at each size.
//!
//! A run paints at a few sizes, each started from the previous result upsampled (see
//! `images::next_size_start`): the coarse sizes settle the picture's large shapes at a quarter
//! of the cost per evaluation, and the final size only has to refine them. With a time budget,
//! each size gets a share of the budget in proportion to its planned work (evaluations ×
//! pixels); a size that ends early passes its unused time on to the next.

use engine::{Error, Result};
use std::time::Duration;

/// The smallest size the default schedule starts from: below it, VGG's deepest style layer
/// (relu5_1, 1/16 of the size) is too small to say much about the painting.
pub const COARSEST: u32 = 256;

// ANCHOR: default_sizes
/// The default schedule's sizes: halve `size` while the result stays ≥ [`COARSEST`], so 512
/// gives 256 → 512 and 1024 gives 256 → 512 → 1024; a size below 512 is painted in one go.
pub fn halving_sizes(size: u32) -> Vec<u32> {
    let mut sizes = vec![size];
    while sizes[0] / 2 >= COARSEST {
        sizes.insert(0, sizes[0] / 2);
    }
    sizes
}
// ANCHOR_END: default_sizes

// ANCHOR: evaluations_per_size
/// How many evaluations each size gets: the count written after it (`256:75`), else `iters`
/// at the final size and a quarter of that at each coarser one. A coarse evaluation at half
/// the size costs about a quarter, so the coarse sizes together add about 1/16 to the run's
/// time: they only have to give the final size a picture whose shapes are already in place.
pub fn evaluations_per_size(counts: &[Option<usize>], iters: usize) -> Vec<usize> {
    let last = counts.len().saturating_sub(1);
    counts
        .iter()
        .enumerate()
        .map(|(i, count)| match count {
            Some(n) => *n,
            None if i == last => iters,
            None => iters.div_ceil(4),
        })
        .collect()
}
// ANCHOR_END: evaluations_per_size

/// `90s`, `2m`, `1m30s`, `1.5h` or a plain number of seconds, as a duration (at least a
/// second, at most a week: a budget outside that is a typo).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = |why: &str| {
        Error::invalid(
            "--time",
            format!("`{text}` {why}; write a duration such as 90s, 2m or 1m30s"),
        )
    };
    let mut seconds = 0.0f64;
    let mut number = String::new();
    let mut saw_unit_last = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            saw_unit_last = false;
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(invalid("has a character that is not a number or s, m, h")),
        };
        let value: f64 = number
            .parse()
            .map_err(|_| invalid("has a unit without a number"))?;
        seconds += value * unit;
        number.clear();
        saw_unit_last = true;
    }
    if !number.is_empty() {
        seconds += number
            .parse::<f64>()
            .map_err(|_| invalid("is not a number"))?;
    } else if !saw_unit_last {
        return Err(invalid("is empty"));
    }
    if !(1.0..=7.0 * 86_400.0).contains(&seconds) {
        return Err(invalid("is not between one second and a week"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

// ANCHOR: deadlines
/// When each size must hand over, counted from the start of the run: the budget split in
/// proportion to each size's planned work (evaluations × pixels, pixels ∝ size²). Cumulative,
/// so time a size leaves unused goes to the sizes after it.
pub fn deadlines(sizes: &[u32], evaluations: &[usize], budget: Duration) -> Vec<Duration> {
    let work: Vec<f64> = sizes
        .iter()
        .zip(evaluations)
        .map(|(&s, &n)| n as f64 * (s as f64).powi(2))
        .collect();
    let total: f64 = work.iter().sum();
    let mut done = 0.0;
    work.iter()
        .map(|w| {
            done += w;
            budget.mul_f64(done / total)
        })
        .collect()
}
// ANCHOR_END: deadlines

/// `256 px × 75 → 512 px × 300 evaluations`, for the run's first line.
pub fn describe(sizes: &[u32], evaluations: &[usize]) -> String {
    let stages: Vec<String> = sizes
        .iter()
        .zip(evaluations)
        .map(|(s, n)| format!("{s} px × {n}"))
        .collect();
    format!("{} evaluations", stages.join(" → "))
}

/// Each size's share of the run's work, for a progress bar whose ETA means something when an
/// evaluation at 256 px costs a quarter of one at 512 px: units of 1/1000 of an evaluation at
/// the final size.
pub fn work_units(sizes: &[u32]) -> Vec<u64> {
    let last = *sizes.last().unwrap_or(&1) as f64;
    sizes
        .iter()
        .map(|&s| ((s as f64 / last).powi(2) * 1000.0).round().max(1.0) as u64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_stops_at_the_coarsest_size() {
        assert_eq!(halving_sizes(512), vec![256, 512]);
        assert_eq!(halving_sizes(1024), vec![256, 512, 1024]);
        assert_eq!(halving_sizes(800), vec![400, 800]);
        assert_eq!(halving_sizes(511), vec![511]);
        assert_eq!(halving_sizes(64), vec![64]);
    }

    #[test]
    fn durations_in_the_forms_people_write() {
        let s = |t: &str| parse_duration(t).map(|d| d.as_secs_f64());
        assert_eq!(s("90s").unwrap(), 90.0);
        assert_eq!(s("90").unwrap(), 90.0);
        assert_eq!(s("2m").unwrap(), 120.0);
        assert_eq!(s("1m30s").unwrap(), 90.0);
        assert_eq!(s("1.5h").unwrap(), 5400.0);
        for bad in ["", "s", "ten", "-5s", "0s", "1e9", "9999h", "5 min"] {
            let e = s(bad).unwrap_err().to_string();
            assert!(e.contains("--time"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_budget_is_shared_by_work() {
        // 256 px costs a quarter of 512 px per evaluation: a fifth of the time, then the rest.
        let d = deadlines(&[256, 512], &[100, 100], Duration::from_secs(100));
        assert_eq!(d.len(), 2);
        assert!((d[0].as_secs_f64() - 20.0).abs() < 1e-9, "{d:?}");
        assert_eq!(d[1], Duration::from_secs(100));
        assert_eq!(work_units(&[256, 512]), vec![250, 1000]);
    }

    #[test]
    fn coarse_sizes_get_a_quarter_unless_told() {
        assert_eq!(evaluations_per_size(&[None, None], 300), vec![75, 300]);
        assert_eq!(evaluations_per_size(&[None], 300), vec![300]);
        assert_eq!(
            evaluations_per_size(&[Some(10), None, Some(7)], 300),
            vec![10, 75, 7]
        );
        assert_eq!(evaluations_per_size(&[None, None], 1), vec![1, 1]);
    }
}
