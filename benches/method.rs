//! The benchmark method: every side-by-side measure runs ours and the
//! reference in alternation for `ROUNDS` rounds (default 5; the side that
//! goes first alternates too), and is summed up by medians and by the
//! median and range (min–max) of the per-round ratios. Beside the figure
//! itself each round may carry the work done (ops, bytes) and what the
//! side's process cost ([`crate::child::Usage`]): CPU per GiB, CPU per
//! 1000 ops, peak RSS.

use crate::child::Usage;

/// The number of rounds: `ROUNDS` (default 5).
pub fn rounds() -> usize {
    std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(5)
}

/// Seconds per timed run: `SECS` (default `default`).
pub fn secs(default: u64) -> u64 {
    std::env::var("SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &u64| n > 0)
        .unwrap_or(default)
}

/// Which side of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// rbd-native.
    Ours,
    /// The reference tool.
    Reference,
}

/// The order of the sides in round `round`: ours first in even rounds,
/// the reference first in odd ones.
pub fn order(round: usize) -> [Side; 2] {
    if round % 2 == 0 {
        [Side::Ours, Side::Reference]
    } else {
        [Side::Reference, Side::Ours]
    }
}

/// One side's result in one round.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// The figure compared (ops/s, seconds, ...).
    pub value: f64,
    /// Operations done.
    pub ops: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// What the side's process cost, when it ran as a child of its own.
    pub usage: Option<Usage>,
}

impl Sample {
    /// A figure alone.
    pub fn new(value: f64) -> Sample {
        Sample {
            value,
            ..Sample::default()
        }
    }

    /// With the work it did.
    pub fn work(mut self, ops: u64, bytes: u64) -> Sample {
        self.ops = ops;
        self.bytes = bytes;
        self
    }

    /// With what its process cost.
    pub fn usage(mut self, usage: Usage) -> Sample {
        self.usage = Some(usage);
        self
    }

    /// CPU seconds per GiB moved.
    pub fn cpu_per_gib(&self) -> Option<f64> {
        let u = self.usage?;
        (self.bytes > 0).then(|| u.cpu() / (self.bytes as f64 / (1u64 << 30) as f64))
    }

    /// CPU seconds per 1000 operations.
    pub fn cpu_per_kop(&self) -> Option<f64> {
        let u = self.usage?;
        (self.ops > 0).then(|| u.cpu() / (self.ops as f64 / 1000.0))
    }
}

/// The median (the mean of the middle two for an even count) of some
/// figures; `None` for none.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The smallest and largest of some figures.
pub fn range(v: &[f64]) -> Option<(f64, f64)> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().reduce(f64::min)?;
    let hi = v.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// One measure: both sides' samples, round by round.
#[derive(Debug, Clone)]
pub struct Measure {
    /// What is measured.
    pub name: String,
    /// The unit of [`Sample::value`].
    pub unit: String,
    /// Whether a higher value is better (throughput) or a lower one (time).
    pub higher_is_better: bool,
    /// Our samples, in round order.
    pub ours: Vec<Sample>,
    /// The reference's samples, in round order.
    pub theirs: Vec<Sample>,
}

/// A measure summed up (see [`Measure::summary`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Rounds with both sides.
    pub rounds: usize,
    /// Median of our figures.
    pub ours: Option<f64>,
    /// Median of the reference's figures.
    pub theirs: Option<f64>,
    /// Median of the per-round ratios, oriented so that above 1 means
    /// ours did better (ours/ref for throughput, ref/ours for time).
    pub ratio: Option<f64>,
    /// Smallest and largest per-round ratio.
    pub ratio_range: Option<(f64, f64)>,
    /// Median CPU seconds per GiB: ours, the reference's.
    pub cpu_per_gib: (Option<f64>, Option<f64>),
    /// Median CPU seconds per 1000 ops: ours, the reference's.
    pub cpu_per_kop: (Option<f64>, Option<f64>),
    /// Median of the per-round ratios of CPU per op, ours/ref (below 1:
    /// we spend less).
    pub cpu_ratio: Option<f64>,
    /// Largest peak RSS over the rounds, KiB: ours, the reference's.
    pub peak_rss_kib: (Option<u64>, Option<u64>),
    /// Median wall time of the side's process, seconds: ours, the reference's.
    pub wall: (Option<f64>, Option<f64>),
}

impl Measure {
    /// The per-round ratios, oriented so that above 1 means ours did better.
    pub fn ratios(&self) -> Vec<f64> {
        self.ours
            .iter()
            .zip(&self.theirs)
            .map(|(o, t)| {
                if self.higher_is_better {
                    o.value / t.value
                } else {
                    t.value / o.value
                }
            })
            .collect()
    }

    /// Medians, ratios and costs.
    pub fn summary(&self) -> Summary {
        let values = |s: &[Sample]| median(&s.iter().map(|x| x.value).collect::<Vec<_>>());
        let of = |s: &[Sample], f: fn(&Sample) -> Option<f64>| {
            median(&s.iter().filter_map(f).collect::<Vec<_>>())
        };
        let rss = |s: &[Sample]| {
            s.iter()
                .filter_map(|x| x.usage)
                .map(|u| u.peak_rss_kib)
                .max()
        };
        let wall = |s: &[Sample]| {
            median(
                &s.iter()
                    .filter_map(|x| x.usage)
                    .map(|u| u.wall)
                    .collect::<Vec<_>>(),
            )
        };
        let cpu_ratios: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.theirs)
            .filter_map(|(o, t)| Some(o.cpu_per_kop()? / t.cpu_per_kop()?))
            .collect();
        let ratios = self.ratios();
        Summary {
            rounds: ratios.len(),
            ours: values(&self.ours),
            theirs: values(&self.theirs),
            ratio: median(&ratios),
            ratio_range: range(&ratios),
            cpu_per_gib: (
                of(&self.ours, Sample::cpu_per_gib),
                of(&self.theirs, Sample::cpu_per_gib),
            ),
            cpu_per_kop: (
                of(&self.ours, Sample::cpu_per_kop),
                of(&self.theirs, Sample::cpu_per_kop),
            ),
            cpu_ratio: median(&cpu_ratios),
            peak_rss_kib: (rss(&self.ours), rss(&self.theirs)),
            wall: (wall(&self.ours), wall(&self.theirs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ranges() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
        assert_eq!(range(&[2.0, 0.5, 1.0]), Some((0.5, 2.0)));
        assert_eq!(order(0), [Side::Ours, Side::Reference]);
        assert_eq!(order(1), [Side::Reference, Side::Ours]);
    }

    #[test]
    fn ratios_face_the_right_way() {
        let usage = |cpu: f64| Usage {
            wall: 1.0,
            user: cpu,
            sys: 0.0,
            peak_rss_kib: 100,
        };
        let m = Measure {
            name: "t".into(),
            unit: "s".into(),
            higher_is_better: false,
            ours: vec![
                Sample::new(1.0).work(1000, 1 << 30).usage(usage(1.0)),
                Sample::new(2.0).work(1000, 1 << 30).usage(usage(1.0)),
            ],
            theirs: vec![
                Sample::new(2.0).work(1000, 1 << 30).usage(usage(4.0)),
                Sample::new(2.0).work(2000, 1 << 30).usage(usage(4.0)),
            ],
        };
        let s = m.summary();
        assert_eq!(s.ratio_range, Some((1.0, 2.0)));
        assert_eq!(s.ratio, Some(1.5));
        assert_eq!(s.cpu_per_gib, (Some(1.0), Some(4.0)));
        // Per op: 1/1000 vs 4/1000, then 1/1000 vs 4/2000.
        assert_eq!(s.cpu_ratio, Some((0.25 + 0.5) / 2.0));
        assert_eq!(s.peak_rss_kib, (Some(100), Some(100)));
    }
}
