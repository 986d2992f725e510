//! The bench's record: a markdown report (summary table, targets, ladder,
//! how it was measured) and a PNG of answered against offered rate, under
//! `bench-results/<date>/`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::measure::{ServerResult, Status};
use super::plan::{Plan, ServerKind};
use super::stats::Spread;
use super::summary::{self, Figures};

/// Facts about the machine and the run, for the report's header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Environment {
    pub date: String,
    pub kernel: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub load_before: String,
    pub load_after: String,
    pub commit: String,
    pub versions: Vec<(String, String)>,
}

fn kq(rate: f64) -> String {
    format!("{:.0}k", rate / 1000.0)
}

fn spread_k(s: Option<Spread>) -> String {
    match s {
        Some(s) if s.min == s.max => kq(s.median),
        Some(s) => format!("{} ({}–{})", kq(s.median), kq(s.min), kq(s.max)),
        None => "–".to_owned(),
    }
}

fn spread_plain(s: Option<Spread>) -> String {
    match s {
        Some(s) if s.min == s.max => format!("{:.2}", s.median),
        Some(s) => format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
        None => "–".to_owned(),
    }
}

fn times(x: Option<f64>) -> String {
    x.map_or("–".to_owned(), |x| format!("{x:.2}×"))
}

fn status_text(status: &Status) -> String {
    match status {
        Status::Measured => "ok".to_owned(),
        Status::Skipped(why) => format!("skipped: {why}"),
        Status::Failed(why) => format!("FAILED: {}", why.lines().next().unwrap_or("")),
        Status::WrongAnswers(problems) => format!("WRONG ANSWERS ({}): {}", problems.len(), problems[0]),
    }
}

/// The whole report as markdown.
pub fn markdown(plan: &Plan, env: &Environment, results: &[ServerResult]) -> String {
    let all: Vec<Figures> = results.iter().map(|r| summary::figures(r, plan.cpu_rate)).collect();
    let by_kind = |kind: ServerKind| results.iter().position(|r| r.kind == kind && r.status == Status::Measured);
    let floor = by_kind(ServerKind::Floor).map(|i| &all[i]);
    let ranking = summary::ranking(results, &all);
    let mut md = String::new();
    let _ = writeln!(md, "# `cargo xtask bench`{}: {}\n", if plan.quick { " --quick" } else { "" }, env.date);
    let _ = writeln!(
        md,
        "Kernel `{}`, {} × `{}`, load average {} before and {} after, commit `{}`.\n\
         Zone: {} generated names; {} queries; {} queue(s); ladder {} q/s, {} s a step, {} repeat(s), median shown \
         with the range of the repeats in parentheses. Server on CPU 0, kxdpgun and dnsperf on CPU 1.\n",
        env.kernel,
        env.cpus,
        env.cpu_model,
        env.load_before,
        env.load_after,
        env.commit,
        plan.names,
        plan.queries,
        plan.queues,
        plan.rates.iter().map(|r| kq(f64::from(*r))).collect::<Vec<_>>().join(", "),
        plan.seconds,
        plan.repeats
    );
    let _ = writeln!(
        md,
        "| rank | server | status | XDP | peak answered q/s | max offered q/s at ≤1% loss | latency p50 / p99 ms \
         at {} q/s | CPU s per M answers at {} q/s (process + NAPI + softirq) | peak vs floor | CPU vs floor |",
        kq(f64::from(plan.latency_rate)),
        kq(f64::from(plan.cpu_rate))
    );
    let _ = writeln!(md, "|---:|---|---|---|---:|---:|---:|---:|---:|---:|");
    for (result, f) in results.iter().zip(&all) {
        let rank = ranking.iter().position(|k| *k == result.kind).map_or("–".to_owned(), |i| (i + 1).to_string());
        let rank = if result.kind.is_diagnostic() { "floor".to_owned() } else { rank };
        let peak = format!("{}{}", if f.peak_generator_limited { "≥ " } else { "" }, spread_k(f.peak));
        let latency = result.latency.map_or("–".to_owned(), |l| format!("{:.3} / {:.3}", l.p50_ms, l.p99_ms));
        let cpu = match (f.cpu_per_million, f.cpu_parts) {
            (Some(total), Some([p, n, s])) => format!("{} ({p:.2} + {n:.2} + {s:.2})", spread_plain(Some(total))),
            (total, _) => spread_plain(total),
        };
        let (vs_peak, vs_cpu) = match floor.filter(|_| result.kind != ServerKind::Floor) {
            Some(fl) if result.status == Status::Measured => {
                (times(summary::ratio(f.peak, fl.peak)), times(summary::ratio(f.cpu_per_million, fl.cpu_per_million)))
            }
            _ => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            md,
            "| {rank} | {} | {} | {} | {peak} | {} | {latency} | {cpu} | {vs_peak} | {vs_cpu} |",
            result.kind,
            status_text(&result.status),
            result.xdp_mode.as_deref().unwrap_or("–"),
            spread_k(f.max_rate_within_loss),
        );
    }
    md.push('\n');
    targets(&mut md, results, &all);
    ladder(&mut md, plan, results);
    problems(&mut md, results);
    let _ = writeln!(md, "## How this was measured\n\n{}", METHOD);
    if !env.versions.is_empty() {
        let _ = writeln!(
            md,
            "\nVersions: {}.",
            env.versions.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join("; ")
        );
    }
    md
}

const METHOD: &str = "\
- **peak answered q/s**: the highest answered rate (kxdpgun's reply rate) over the ladder, per repeat; `≥` marks a \
peak reached while kxdpgun could not send the offered rate, without loss: the server could do more.
- **max offered at ≤1% loss**: the highest offered rate whose loss stayed within 1%, per repeat. Steps where \
kxdpgun sent less than 95% of the offered rate are generator-limited and do not count.
- **latency**: dnsperf (kernel sockets, one client, up to 1000 outstanding) at a fixed rate; percentiles of every \
answer's latency.
- **CPU**: utime + stime of the server process and its children (/proc/PID/stat), plus the server interface's \
threaded-NAPI kernel threads (pinned to CPU 0), plus CPU 0's irq + softirq time (/proc/stat), per million answers, \
at one ladder step. NAPI threads run the receive path: the veth copy, XDP, the AF_XDP copy.
- **vs floor**: the ratio to the floor, the responder's own AF_XDP data plane answering every query with a fixed \
REFUSED reply and no lookup (`responder/examples/xdp_floor.rs`): the I/O cost of this testbed.
- Servers that answer the correctness gate's sample wrongly (rcode, answer count, AA) are not measured or ranked.";

fn targets(md: &mut String, results: &[ServerResult], all: &[Figures]) {
    let get = |kind: ServerKind| {
        results.iter().zip(all).find(|(r, _)| r.kind == kind && r.status == Status::Measured).map(|(_, f)| f)
    };
    let Some(responder) = get(ServerKind::ResponderXdp) else { return };
    let best_kernel = results
        .iter()
        .zip(all)
        .filter(|(r, _)| {
            r.kind.is_kernel_stack() && r.kind != ServerKind::ResponderKernel && r.status == Status::Measured
        })
        .max_by(|(_, a), (_, b)| a.peak.map_or(0.0, |s| s.median).total_cmp(&b.peak.map_or(0.0, |s| s.median)));
    let _ = writeln!(md, "## Targets (responder-xdp)\n\n| target | measured | met |\n|---|---:|---|");
    let mut row = |what: String, value: Option<f64>, met: fn(f64) -> bool| {
        let verdict = value.map_or("–", |v| if met(v) { "yes" } else { "no" });
        let _ = writeln!(md, "| {what} | {} | {verdict} |", times(value));
    };
    if let Some(knot) = get(ServerKind::KnotXdp) {
        row("peak ≥ 1.5 × knot-xdp".into(), summary::ratio(responder.peak, knot.peak), |v| v >= 1.5);
        row(
            "CPU per answer ≤ 0.7 × knot-xdp".into(),
            summary::ratio(responder.cpu_per_million, knot.cpu_per_million),
            |v| v <= 0.7,
        );
    }
    if let Some((r, kernel)) = best_kernel {
        row(
            format!("peak ≥ 3 × best kernel-stack peer ({})", r.kind),
            summary::ratio(responder.peak, kernel.peak),
            |v| v >= 3.0,
        );
    }
    if let Some(floor) = get(ServerKind::Floor) {
        row("peak within 10% of the floor".into(), summary::ratio(responder.peak, floor.peak), |v| v >= 0.9);
        row(
            "CPU per answer within 10% of the floor".into(),
            summary::ratio(responder.cpu_per_million, floor.cpu_per_million),
            |v| v <= 1.1,
        );
    }
    md.push('\n');
}

fn ladder(md: &mut String, plan: &Plan, results: &[ServerResult]) {
    let shown: Vec<&ServerResult> = results.iter().filter(|r| !r.points.is_empty()).collect();
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Answered q/s by offered rate (median; loss in parentheses; * generator-limited; blank: not run, \
         the server had saturated)\n"
    );
    let _ = write!(md, "| offered |");
    for r in &shown {
        let _ = write!(md, " {} |", r.kind);
    }
    let _ = write!(md, "\n|---:|");
    md.push_str(&"---:|".repeat(shown.len()));
    md.push('\n');
    for &offered in &plan.rates {
        let _ = write!(md, "| {} |", kq(f64::from(offered)));
        for r in &shown {
            let cell = r.points.iter().find(|p| p.offered == offered).map_or(String::new(), |p| {
                let answered = p.answered().map_or(0.0, |s| s.median);
                let loss = p.loss().map_or(1.0, |s| s.median);
                format!("{} ({:.1}%){}", kq(answered), loss * 100.0, if p.generator_limited() { "*" } else { "" })
            });
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    md.push('\n');
}

fn problems(md: &mut String, results: &[ServerResult]) {
    let failed: Vec<&ServerResult> =
        results.iter().filter(|r| matches!(r.status, Status::Failed(_) | Status::WrongAnswers(_))).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Problems\n");
    for r in failed {
        match &r.status {
            Status::Failed(why) => {
                let _ = writeln!(md, "**{}** failed:\n\n```\n{}\n```\n", r.kind, why.trim());
            }
            Status::WrongAnswers(list) => {
                let _ = writeln!(md, "**{}** answered {} of the gate's queries wrongly:\n", r.kind, list.len());
                for problem in list.iter().take(10) {
                    let _ = writeln!(md, "- {problem}");
                }
                md.push('\n');
            }
            _ => {}
        }
    }
}

/// gnuplot's data: one block per server (`offered answered`), blocks
/// separated by two blank lines so `index` picks them.
pub fn plot_data(results: &[ServerResult]) -> (String, Vec<ServerKind>) {
    let mut data = String::new();
    let mut kinds = Vec::new();
    for r in results.iter().filter(|r| !r.points.is_empty()) {
        let _ = writeln!(data, "# {}", r.kind);
        for p in &r.points {
            if let Some(a) = p.answered() {
                let _ = writeln!(data, "{} {}", p.offered, a.median);
            }
        }
        data.push_str("\n\n");
        kinds.push(r.kind);
    }
    (data, kinds)
}

pub fn plot_script(data: &str, png: &str, kinds: &[ServerKind], title: &str) -> String {
    let mut script = format!(
        "set terminal png size 1000,640\nset output '{png}'\nset title '{title}'\n\
         set xlabel 'offered (k q/s)'\nset ylabel 'answered (k q/s)'\nset key top left\nset grid\n\
         plot x title 'offered' with lines dashtype 2 linecolor rgb 'gray'"
    );
    for (i, kind) in kinds.iter().enumerate() {
        let _ = write!(script, ", '{data}' index {i} using ($1/1000):($2/1000) title '{kind}' with linespoints");
    }
    script.push('\n');
    script
}

/// Writes report.md, ladder.dat, plot.gp and answered.png (when gnuplot is
/// there) into `dir`. Returns a note about the plot.
pub fn write(dir: &Path, plan: &Plan, env: &Environment, results: &[ServerResult]) -> Result<String, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write_file = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write_file("report.md", &markdown(plan, env, results))?;
    let (data, kinds) = plot_data(results);
    write_file("ladder.dat", &data)?;
    let script = plot_script("ladder.dat", "answered.png", &kinds, &format!("answered vs offered, {}", env.date));
    write_file("plot.gp", &script)?;
    if kinds.is_empty() {
        return Ok("no plot: nothing was measured".to_owned());
    }
    match Command::new("gnuplot").arg("plot.gp").current_dir(dir).output() {
        Ok(out) if out.status.success() => Ok(format!("plot: {}", dir.join("answered.png").display())),
        Ok(out) => Ok(format!("gnuplot failed: {}", String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Ok(format!("no plot: cannot run gnuplot ({e}); install gnuplot-nox")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::tests::measured;

    fn plan() -> Plan {
        Plan {
            rates: vec![100_000, 200_000, 400_000],
            cpu_rate: 100_000,
            ..crate::bench::plan::Plan::from_args(&Default::default()).unwrap()
        }
    }

    #[test]
    fn the_table_has_a_row_per_server_and_ranks_only_real_servers() {
        let mut wrong = measured(ServerKind::Bind);
        wrong.status = Status::WrongAnswers(vec!["h1.bench.test. A: got NXDOMAIN with 0 answer(s) AA".into()]);
        let results = vec![
            measured(ServerKind::Floor),
            measured(ServerKind::ResponderXdp),
            ServerResult {
                kind: ServerKind::Nsd,
                status: Status::Skipped("nsd not installed".into()),
                xdp_mode: None,
                points: vec![],
                latency: None,
            },
            wrong,
        ];
        let md = markdown(&plan(), &Environment { date: "2026-11-22".into(), ..Default::default() }, &results);
        assert!(md.contains("| floor | floor | ok |"), "{md}");
        assert!(md.contains("| 1 | responder-xdp | ok | – | 190k (150k–199k) | 100k (100k–200k) |"), "{md}");
        assert!(md.contains("| 1.00× | 1.00× |"), "responder vs floor");
        assert!(md.contains("| – | nsd | skipped: nsd not installed |"), "{md}");
        assert!(md.contains("| – | bind | WRONG ANSWERS (1): h1.bench.test. A: got NXDOMAIN"), "{md}");
        assert!(md.contains("peak within 10% of the floor | 1.00× | yes"), "{md}");
        // The ladder shows 200k's median answered rate and loss, 400k blank.
        assert!(md.contains("| 200k | 190k (5.0%) | 190k (5.0%) | 190k (5.0%) |"), "{md}");
        assert!(md.contains("| 400k |  |  |  |"), "{md}");
    }

    #[test]
    fn plot_has_one_line_per_measured_server() {
        let results = vec![measured(ServerKind::KnotXdp), measured(ServerKind::Knot)];
        let (data, kinds) = plot_data(&results);
        assert_eq!(kinds, [ServerKind::KnotXdp, ServerKind::Knot]);
        assert_eq!(data.matches("# ").count(), 2);
        assert!(data.starts_with("# knot-xdp\n100000 100000\n200000 190000\n\n\n"));
        let script = plot_script("ladder.dat", "a.png", &kinds, "t");
        assert!(script.contains("index 1 using ($1/1000):($2/1000) title 'knot'"));
    }
}
