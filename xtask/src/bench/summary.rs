//! The figures of one server distilled from its ladder: peak answered rate,
//! highest offered rate at ≤ 1% loss, CPU per million answers, each as the
//! median over repeats with its range.

use super::measure::{Point, ServerResult, Status};
use super::plan::ServerKind;
use super::stats::Spread;

/// The DENIC study's loss threshold.
pub const LOSS_THRESHOLD: f64 = 0.01;

#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub kind: ServerKind,
    /// Highest answered rate of each repeat.
    pub peak: Option<Spread>,
    /// The peak came from a step where the generator could not send what
    /// was asked, with no loss: the server could do more.
    pub peak_generator_limited: bool,
    /// Never saturated: the peak was generator-limited, or the highest
    /// step of the ladder still lost ≤ 1%. Its peak is a lower bound.
    pub unsaturated: bool,
    /// Share of one CPU the server used at its peak step (process + NAPI +
    /// softirq seconds over the step's seconds), per repeat.
    pub busy_at_peak: Option<Spread>,
    /// Median peak over median busy share: the answered rate one fully
    /// busy CPU would give at the peak step's CPU cost per answer.
    pub cpu_bound_estimate: Option<f64>,
    /// Highest offered rate with loss ≤ 1%, per repeat; generator-limited
    /// steps do not count.
    pub max_rate_within_loss: Option<Spread>,
    /// CPU seconds per million answers at the plan's CPU rate.
    pub cpu_per_million: Option<Spread>,
    /// Its parts (process, NAPI threads, softirq), medians.
    pub cpu_parts: Option<[f64; 3]>,
}

pub fn figures(result: &ServerResult, cpu_rate: u32) -> Figures {
    let repeats = result.points.iter().map(|p| p.steps.len()).max().unwrap_or(0);
    let per_repeat = |f: &dyn Fn(&Point, usize) -> Option<f64>| -> Option<Spread> {
        let values: Vec<f64> =
            (0..repeats).filter_map(|r| result.points.iter().filter_map(|p| f(p, r)).max_by(f64::total_cmp)).collect();
        Spread::of(&values)
    };
    let peak = per_repeat(&|p, r| p.steps.get(r).map(|s| s.answered_rate));
    let max_rate_within_loss = per_repeat(&|p, r| {
        let s = p.steps.get(r)?;
        (!s.generator_limited() && s.loss() <= LOSS_THRESHOLD).then_some(f64::from(p.offered))
    });
    let best = peak_point(&result.points);
    let peak_generator_limited =
        best.is_some_and(|p| p.generator_limited() && p.loss().is_some_and(|l| l.median <= LOSS_THRESHOLD));
    let last_step_kept_up = result
        .points
        .iter()
        .max_by_key(|p| p.offered)
        .is_some_and(|p| p.loss().is_some_and(|l| l.median <= LOSS_THRESHOLD));
    let busy_at_peak = best.and_then(Point::busy);
    let cpu_bound_estimate = cpu_bound_estimate(peak, busy_at_peak);
    let at_cpu_rate = result.points.iter().find(|p| p.offered == cpu_rate);
    let cpu_parts = at_cpu_rate.and_then(|p| {
        let part = |f: &dyn Fn(&super::load::Step) -> f64| {
            let values: Vec<f64> =
                p.steps.iter().filter(|s| s.replies > 0).map(|s| f(s) / s.replies as f64 * 1e6).collect();
            Spread::of(&values).map(|s| s.median)
        };
        Some([part(&|s| s.cpu.process)?, part(&|s| s.cpu.napi)?, part(&|s| s.cpu.softirq)?])
    });
    Figures {
        kind: result.kind,
        peak,
        peak_generator_limited,
        unsaturated: peak_generator_limited || last_step_kept_up,
        busy_at_peak,
        cpu_bound_estimate,
        max_rate_within_loss,
        cpu_per_million: at_cpu_rate.and_then(Point::cpu_per_million),
        cpu_parts,
    }
}

/// The peak step: the offered rate with the highest median answered rate.
pub fn peak_point(points: &[Point]) -> Option<&Point> {
    points.iter().max_by(|a, b| {
        let rate = |p: &Point| p.answered().map_or(0.0, |s| s.median);
        rate(a).total_cmp(&rate(b))
    })
}

/// The rate one CPU would answer if the peak step's CPU cost per answer
/// held at full load. A lower bound: batches grow with load, and the cost
/// per answer falls with them.
pub fn cpu_bound_estimate(peak: Option<Spread>, busy: Option<Spread>) -> Option<f64> {
    let (peak, busy) = (peak?.median, busy?.median);
    (busy > 0.0).then_some(peak / busy)
}

/// Servers that may be ranked: real DNS servers that passed the gate and
/// were measured.
pub fn rankable(result: &ServerResult) -> bool {
    result.status == Status::Measured && !result.kind.is_diagnostic()
}

/// Ranks by median peak answered rate, best first.
pub fn ranking(results: &[ServerResult], all: &[Figures]) -> Vec<ServerKind> {
    let mut ranked: Vec<(ServerKind, f64)> = results
        .iter()
        .zip(all)
        .filter(|(r, _)| rankable(r))
        .filter_map(|(r, f)| Some((r.kind, f.peak?.median)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.into_iter().map(|(k, _)| k).collect()
}

/// A ratio of medians, when both exist and the divisor is not zero.
pub fn ratio(a: Option<Spread>, b: Option<Spread>) -> Option<f64> {
    ratio_of(a.map(|s| s.median), b.map(|s| s.median))
}

/// `a / b`, when both exist and the divisor is not zero.
pub fn ratio_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b > 0.0).then_some(a / b)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::bench::cpu::CpuUse;
    use crate::bench::drops::PathCounters;
    use crate::bench::load::Step;

    pub fn step(offered: u32, sent: u64, replies: u64, cpu: f64) -> Step {
        Step {
            offered,
            seconds: 1,
            sent,
            replies,
            answered_rate: replies as f64,
            cpu: CpuUse { process: cpu, napi: 0.0, softirq: 0.0 },
            drops: PathCounters::default(),
        }
    }

    /// Three repeats at 100k (no loss) and 200k (some loss, differing).
    pub fn measured(kind: ServerKind) -> ServerResult {
        ServerResult {
            kind,
            status: Status::Measured,
            xdp_mode: None,
            points: vec![
                Point { offered: 100_000, steps: vec![step(100_000, 100_000, 100_000, 0.5); 3] },
                Point {
                    offered: 200_000,
                    steps: vec![
                        step(200_000, 200_000, 199_000, 1.0),
                        step(200_000, 200_000, 150_000, 1.0),
                        step(200_000, 200_000, 190_000, 1.0),
                    ],
                },
            ],
            latency: None,
            program_cost: None,
        }
    }

    #[test]
    fn medians_over_repeats() {
        let f = figures(&measured(ServerKind::ResponderXdp), 100_000);
        assert_eq!(f.peak, Some(Spread { median: 190_000.0, min: 150_000.0, max: 199_000.0 }));
        // Repeat 1 kept loss within 1% at 200k; repeats 2 and 3 did not.
        assert_eq!(f.max_rate_within_loss, Some(Spread { median: 100_000.0, min: 100_000.0, max: 200_000.0 }));
        assert_eq!(f.cpu_per_million.unwrap().median, 5.0);
        assert_eq!(f.cpu_parts, Some([5.0, 0.0, 0.0]));
        assert!(!f.peak_generator_limited);
        assert!(!f.unsaturated, "200k lost more than 1%");
        // The peak step is 200k: 1.0 CPU second over 1 s each repeat.
        assert_eq!(f.busy_at_peak, Some(Spread { median: 1.0, min: 1.0, max: 1.0 }));
        assert_eq!(f.cpu_bound_estimate, Some(190_000.0));
    }

    #[test]
    fn cpu_bound_estimate_scales_the_peak_to_a_full_cpu() {
        let busy = |median: f64| Some(Spread { median, min: median, max: median });
        let peak = busy(400_000.0);
        assert_eq!(cpu_bound_estimate(peak, busy(0.5)), Some(800_000.0));
        assert_eq!(cpu_bound_estimate(peak, busy(0.0)), None, "no CPU seen: no estimate");
        assert_eq!(cpu_bound_estimate(None, busy(0.5)), None);

        // Busy share at the peak step: all three parts, over the step's seconds.
        let mut r = measured(ServerKind::ResponderXdp);
        r.points.push(Point {
            offered: 400_000,
            steps: (0..3)
                .map(|i| {
                    let mut s = step(400_000, 800_000, 800_000, 0.3 + 0.1 * f64::from(i));
                    s.seconds = 2;
                    s.answered_rate = 400_000.0;
                    s.cpu.napi = 0.4;
                    s.cpu.softirq = 0.1;
                    s
                })
                .collect(),
        });
        let f = figures(&r, 100_000);
        let busy = f.busy_at_peak.unwrap();
        assert!((busy.median - 0.45).abs() < 1e-9 && (busy.min - 0.4).abs() < 1e-9, "{busy:?}");
        assert!((f.cpu_bound_estimate.unwrap() - 400_000.0 / 0.45).abs() < 1e-6);
        assert!(f.unsaturated, "the top step lost nothing");
        assert!(!f.peak_generator_limited, "it sent all it was asked");
    }

    #[test]
    fn a_generator_limited_step_does_not_count_towards_the_loss_threshold() {
        let mut r = measured(ServerKind::Knot);
        r.points.push(Point { offered: 400_000, steps: vec![step(400_000, 300_000, 300_000, 1.0); 3] });
        let f = figures(&r, 100_000);
        assert_eq!(f.peak.unwrap().median, 300_000.0);
        assert!(f.peak_generator_limited, "the peak was all the generator could send");
        assert!(f.unsaturated);
        assert_eq!(f.max_rate_within_loss.unwrap().max, 200_000.0, "400k was never really offered");
    }

    #[test]
    fn only_measured_servers_are_ranked() {
        let mut slow = measured(ServerKind::Nsd);
        for p in &mut slow.points {
            for s in &mut p.steps {
                s.answered_rate /= 2.0;
            }
        }
        let mut wrong = measured(ServerKind::Bind);
        wrong.status = Status::WrongAnswers(vec!["h1 A: got NXDOMAIN".into()]);
        let results = vec![slow, measured(ServerKind::Floor), wrong, measured(ServerKind::KnotXdp)];
        let all: Vec<Figures> = results.iter().map(|r| figures(r, 100_000)).collect();
        assert_eq!(ranking(&results, &all), [ServerKind::KnotXdp, ServerKind::Nsd]);
        assert_eq!(ratio(all[3].peak, all[0].peak), Some(2.0));
        assert_eq!(ratio(all[3].peak, None), None);
    }
}
