//! The bench's record: a markdown report (summary table, targets, ladder,
//! where the lost queries went, how it was measured), a PNG of answered
//! against offered rate and every step's drop counters, under
//! `bench-results/<date>/`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::measure::{ServerResult, Status};
use super::modes::program_cost::ProgramCost;
use super::modes::{signed, tier0};
use super::plan::{Denial, Plan, ServerKind};
use super::stats::Spread;
use super::summary::{self, Figures};
use super::{floor_report, loss_report};

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
    /// How long ldns-signzone took, in a `--signed` run.
    pub signing_seconds: Option<f64>,
}

fn kq(rate: f64) -> String {
    format!("{:.0}k", rate / 1000.0)
}

pub(super) fn spread_k(s: Option<Spread>) -> String {
    match s {
        Some(s) if s.min == s.max => kq(s.median),
        Some(s) => format!("{} ({}–{})", kq(s.median), kq(s.min), kq(s.max)),
        None => "–".to_owned(),
    }
}

pub(super) fn spread_plain(s: Option<Spread>) -> String {
    match s {
        Some(s) if s.min == s.max => format!("{:.2}", s.median),
        Some(s) => format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
        None => "–".to_owned(),
    }
}

fn spread_percent(s: Option<Spread>) -> String {
    let pc = |x: f64| format!("{:.0}%", x * 100.0);
    match s {
        Some(s) if (s.max - s.min).abs() < 0.005 => pc(s.median),
        Some(s) => format!("{} ({}–{})", pc(s.median), pc(s.min), pc(s.max)),
        None => "–".to_owned(),
    }
}

/// Where the server, the generators and the receive work ran.
fn placement(unpinned: bool) -> &'static str {
    if unpinned {
        "**Unpinned**: server, kxdpgun, dnsperf and the NAPI threads ran wherever the scheduler put them (the \
         responder and the floor still pin one worker per queue, `--cpus auto`); server CPU counts the process and \
         its NAPI threads wherever they ran, plus irq + softirq time of every CPU."
    } else {
        "Server and its NAPI threads on CPU 0, kxdpgun, dnsperf and theirs on CPU 1."
    }
}

pub(super) fn times(x: Option<f64>) -> String {
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
    let _ = writeln!(
        md,
        "# `cargo xtask bench`{}{}{}: {}\n",
        if plan.quick { " --quick" } else { "" },
        if plan.unpinned { " --unpinned" } else { "" },
        modes_flags(plan),
        env.date
    );
    let _ = writeln!(
        md,
        "Kernel `{}`, {} × `{}`, load average {} before and {} after, commit `{}`.\n\
         Zone: {} generated names; {} queries; {} queue(s); ladder {} q/s, {} s a step, {} repeat(s), median shown \
         with the range of the repeats in parentheses. {}\n",
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
        plan.repeats,
        placement(plan.unpinned)
    );
    mode_sentences(&mut md, plan, env);
    if !plan.responder_args.is_empty() {
        // A tuning run: the responder's flags differ from its defaults.
        let _ = writeln!(
            md,
            "The responder's modes ran with `{}` (`--responder-args`); the floor with its defaults.\n",
            plan.responder_args.join(" ")
        );
    }
    let _ = writeln!(
        md,
        "| rank | server | status | XDP | peak answered q/s | max offered q/s at ≤1% loss | latency p50 / p99 ms \
         at {} q/s | CPU s per M answers at {} q/s (process + NAPI + softirq) | peak vs floor | CPU vs floor | {} | \
         CPU-bound estimate q/s |",
        kq(f64::from(plan.latency_rate)),
        kq(f64::from(plan.cpu_rate)),
        if plan.unpinned { "server CPU busy at peak (share of one CPU)" } else { "CPU 0 busy at peak" }
    );
    let _ = writeln!(md, "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (result, f) in results.iter().zip(&all) {
        let rank = ranking.iter().position(|k| *k == result.kind).map_or("–".to_owned(), |i| (i + 1).to_string());
        let rank = if result.kind.is_diagnostic() { "floor".to_owned() } else { rank };
        let peak = format!("{}{}", if f.unsaturated && f.peak.is_some() { "≥ " } else { "" }, spread_k(f.peak));
        let busy = spread_percent(f.busy_at_peak);
        let estimate = f.cpu_bound_estimate.map_or("–".to_owned(), |e| format!("~{}", kq(e)));
        let latency = result.latency.map_or("–".to_owned(), |l| format!("{:.3} / {:.3}", l.p50_ms, l.p99_ms));
        let cpu = match (f.cpu_per_million, f.cpu_parts) {
            (Some(total), Some([p, n, s])) => {
                let capture = f.capture_per_million.map_or(String::new(), |c| format!("; capture {c:.3}"));
                format!("{} ({p:.2} + {n:.2} + {s:.2}{capture})", spread_plain(Some(total)))
            }
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
            "| {rank} | {} | {} | {} | {peak} | {} | {latency} | {cpu} | {vs_peak} | {vs_cpu} | {busy} | {estimate} |",
            result.kind,
            status_text(&result.status),
            result.xdp_mode.as_deref().unwrap_or("–"),
            spread_k(f.max_rate_within_loss),
        );
    }
    md.push('\n');
    targets(&mut md, results, &all);
    if plan.t0_hits.is_some() {
        tier0_section(&mut md, plan, results, &all);
    }
    floor_report::section(&mut md, results, &all);
    ladder(&mut md, plan, results);
    loss_report::section(&mut md, results);
    problems(&mut md, results);
    let _ = writeln!(
        md,
        "## How this was measured\n\n{}\n{}\n{}",
        METHOD,
        loss_report::METHOD,
        if plan.unpinned { UNPINNED } else { PINNED }
    );
    if !env.versions.is_empty() {
        let _ = writeln!(
            md,
            "\nVersions: {}.",
            env.versions.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join("; ")
        );
    }
    md
}

/// The title's flags for the run's zone and queries.
fn modes_flags(plan: &Plan) -> String {
    let mut flags = String::new();
    if let Some(denial) = plan.signed {
        let _ = write!(flags, " --signed {}", denial.name());
    }
    if let Some(pct) = plan.t0_hits {
        let _ = write!(flags, " --t0-hits {pct}");
    }
    flags
}

/// What the run's zone and queries were, when not the usual mix.
fn mode_sentences(md: &mut String, plan: &Plan, env: &Environment) {
    if let Some(denial) = plan.signed {
        let how = match denial {
            Denial::Nsec3 => format!("NSEC3, 0 iterations, salt {}, no opt-out", signed::NSEC3_SALT),
            Denial::Nsec => "NSEC".to_owned(),
        };
        let took = env.signing_seconds.map_or(String::new(), |s| format!(" in {s:.1} s"));
        let _ = writeln!(
            md,
            "**Signed zone** (`--signed {}`): the zone signed by ldns-signzone{took} with an ECDSA P-256 KSK and ZSK \
             ({how}); every server served that signed file, and every query carried EDNS with DO=1 (kxdpgun `D`, \
             dnsperf `-D`), so answers carry RRSIGs and denials NSEC{} records. Compare the ratios to knot-xdp \
             with an unsigned run's.\n",
            denial.name(),
            if denial == Denial::Nsec3 { "3" } else { "" }
        );
    }
    if let Some(pct) = plan.t0_hits {
        let _ = writeln!(
            md,
            "**Tier-0 workload** (`--t0-hits {pct}`): {pct}% of the queries are keys `responder-xdp-t0` answers in its \
             XDP program (`--xdp-answers {}`): a tenth the apex's SOA or NS, the rest a delegation's NS, DS, A or \
             AAAA among the first {} names; the others are the usual mix. Every server was asked the same queries.\n",
            crate::bench::servers::T0_SELECTION,
            tier0::DELEGATION_POOL
        );
    }
}

pub(super) fn ns(cost: &Option<Result<ProgramCost, String>>) -> String {
    match cost {
        Some(Ok(c)) => format!("{:.0} ns ({} packets at {} q/s)", c.ns_per_packet, c.runs, kq(f64::from(c.offered))),
        Some(Err(e)) => format!("not measured: {}", e.lines().next().unwrap_or("")),
        None => "–".to_owned(),
    }
}

/// Per server: the share of answers tier 0 gave, the XDP program's time
/// per packet; and the tier-0 server against responder-xdp and knot-xdp.
fn tier0_section(md: &mut String, plan: &Plan, results: &[ServerResult], all: &[Figures]) {
    let _ = writeln!(
        md,
        "## Tier 0

| server | answers given by tier 0 (share of the ladder's) | XDP program time per packet \
         (`bpf_stats_enabled`, one extra step at {} q/s) |\n|---|---:|---|",
        kq(f64::from(plan.cpu_rate))
    );
    for r in results.iter().filter(|r| r.status == Status::Measured) {
        let share = r.tier0_share().map_or("–".to_owned(), |s| format!("{:.1}%", s * 100.0));
        let _ = writeln!(md, "| {} | {share} | {} |", r.kind, ns(&r.program_cost));
    }
    let get = |kind: ServerKind| {
        results.iter().zip(all).find(|(r, _)| r.kind == kind && r.status == Status::Measured).map(|(_, f)| f)
    };
    if let Some(t0) = get(ServerKind::ResponderXdpT0) {
        md.push_str("\n| responder-xdp-t0 against | peak | CPU per answer |\n|---|---:|---:|\n");
        for peer in [ServerKind::ResponderXdp, ServerKind::KnotXdp] {
            if let Some(p) = get(peer) {
                let peak = summary::ratio(t0.peak, p.peak);
                let cpu = summary::ratio(t0.cpu_per_million, p.cpu_per_million);
                let _ = writeln!(md, "| {peer} | {} | {} |", times(peak), times(cpu));
            }
        }
    }
    md.push('\n');
}

const METHOD: &str = "\
- **ladder**: each offered rate runs its repeats back to back; a server's ladder ends at the first rate where it \
lost more than 5% (median), or where kxdpgun could not send the rate and the server still answered all but 1% \
(a higher rate would measure the generator again). The floor runs the whole ladder, so it records what kxdpgun \
really sends at every rate. Each step takes 2 s more than its length: kxdpgun waits 1 s before sending and 1 s \
for late replies.
- **peak answered q/s**: the highest answered rate (kxdpgun's reply rate) over the ladder, per repeat; `≥` marks a \
server that was never saturated (its peak step was generator-limited without loss, or its highest step lost ≤ 1%): \
the server could do more.
- **max offered at ≤1% loss**: the highest offered rate whose loss stayed within 1%, per repeat. Steps where \
kxdpgun sent less than 95% of the offered rate are generator-limited and do not count.
- **latency**: dnsperf (kernel sockets, one client, up to 1000 outstanding) at a fixed rate; percentiles of every \
answer's latency.
- **CPU**: utime + stime of the server process and its children (/proc/PID/stat), plus the server interface's \
threaded-NAPI kernel threads, plus irq + softirq time (/proc/stat), per million answers, at one ladder step. NAPI \
threads run the receive path: the veth copy, XDP, the AF_XDP copy. With query capture on (`--dnstap`, `--pcap`), \
`capture` is the capture thread's part of the process's time (/proc/PID/task/TID/schedstat, nanoseconds).
- **busy at peak**: the same three parts at the peak step (the rate with the highest median answered), over the \
step's seconds: the share of one CPU the server used there, median over repeats.
- **CPU-bound estimate** (an estimate, not a measurement): peak answered / busy at peak, the rate one fully busy \
CPU would answer at the peak step's CPU cost per answer. CPU per answer falls as load grows (bigger batches, \
fewer wake-ups), so this is a lower bound of what the core could do, and meaningful mainly for servers whose \
peak was set by the generator.
- **vs floor**: the ratio to the floor, the responder's own AF_XDP data plane answering every query with a fixed \
REFUSED reply and no lookup (`responder/examples/xdp_floor.rs`): the I/O cost of this testbed. `floor-xdp-tx` \
(same example, `--floor xdp-tx`) is the in-kernel floor: the XDP program sends each query back itself \
(`ebpf/xdp_reflect.c`), the bound for tier 0.
- **targets**: a peak ratio is decided only by peaks that are not lower bounds. When the responder was never \
saturated and its ratio falls short, or the peer was never saturated and the ratio meets the target, the verdict \
is `undecided`. The CPU-bound estimate rows compare the estimates instead.
- Servers that answer the correctness gate's sample wrongly (rcode, answer count, AA) are not measured or ranked.";

const PINNED: &str = "\
- **pinning**: the server (`taskset -c 0`, and `--cpus 0` for the responder and the floor) and the server \
interface's NAPI threads on CPU 0; kxdpgun, dnsperf and the client interface's NAPI threads on CPU 1. Softirq: \
CPU 0's.";

const UNPINNED: &str = "\
- **unpinned** (`--unpinned`): no taskset for the server, kxdpgun or dnsperf, NAPI threads left where the kernel \
put them (threaded NAPI stays on, so the server interface's threads are still found and counted wherever they \
ran). The responder and the floor pin one worker per queue themselves (`--cpus auto`). Softirq: the sum over \
every CPU, as the server's part may run on either; the client side's receive work runs in its own NAPI threads, \
so little of the generator's lands there. Busy shares may exceed 100%: the server can use both CPUs.";

/// The verdict on a peak ratio `responder / peer ≥ target`. A server that
/// was never saturated has a peak that is only a lower bound: the
/// responder's bound can only raise the true ratio, the peer's can only
/// lower it.
pub fn peak_verdict(
    ratio: Option<f64>,
    target: f64,
    responder_unsaturated: bool,
    peer: &str,
    peer_unsaturated: bool,
) -> String {
    let Some(ratio) = ratio else { return "–".to_owned() };
    let met = ratio >= target;
    match (met, responder_unsaturated, peer_unsaturated) {
        (_, true, true) => format!("undecided: at the generator's ceiling ({peer} too)"),
        (false, true, false) => "undecided: at the generator's ceiling".to_owned(),
        (true, false, true) => format!("undecided: {peer} at the generator's ceiling"),
        (true, _, _) => "yes".to_owned(),
        (false, _, _) => "no".to_owned(),
    }
}

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
    let mut row = |what: String, value: Option<f64>, verdict: String| {
        let _ = writeln!(md, "| {what} | {} | {verdict} |", times(value));
    };
    let plain = |value: Option<f64>, met: fn(f64) -> bool| {
        value.map_or("–".to_owned(), |v| if met(v) { "yes" } else { "no" }.to_owned())
    };
    let peak_rows = |row: &mut dyn FnMut(String, Option<f64>, String), what: String, peer: &Figures, target: f64| {
        let ratio = summary::ratio(responder.peak, peer.peak);
        let verdict = peak_verdict(ratio, target, responder.unsaturated, peer.kind.name(), peer.unsaturated);
        row(what.clone(), ratio, verdict);
        let estimate = summary::ratio_of(responder.cpu_bound_estimate, peer.cpu_bound_estimate);
        let verdict = estimate.map_or("–".to_owned(), |v| if v >= target { "yes" } else { "no" }.to_owned());
        row(format!("{what} (CPU-bound estimate)"), estimate, verdict);
    };
    if let Some(knot) = get(ServerKind::KnotXdp) {
        peak_rows(&mut row, "peak ≥ 1.5 × knot-xdp".into(), knot, 1.5);
        let ratio = summary::ratio(responder.cpu_per_million, knot.cpu_per_million);
        row("CPU per answer ≤ 0.7 × knot-xdp".into(), ratio, plain(ratio, |v| v <= 0.7));
    }
    if let Some((r, kernel)) = best_kernel {
        peak_rows(&mut row, format!("peak ≥ 3 × best kernel-stack peer ({})", r.kind), kernel, 3.0);
    }
    if let Some(floor) = get(ServerKind::Floor) {
        let ratio = summary::ratio(responder.peak, floor.peak);
        let verdict = peak_verdict(ratio, 0.9, responder.unsaturated, "floor", floor.unsaturated);
        row("peak within 10% of the floor".into(), ratio, verdict);
        let ratio = summary::ratio(responder.cpu_per_million, floor.cpu_per_million);
        row("CPU per answer within 10% of the floor".into(), ratio, plain(ratio, |v| v <= 1.1));
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
        "set terminal png size 1000,640\nset output '{png}'\nset title '{title}' noenhanced\n\
         set xlabel 'offered (k q/s)'\nset ylabel 'answered (k q/s)'\nset key top left noenhanced\nset grid\n\
         plot x title 'offered' with lines dashtype 2 linecolor rgb 'gray'"
    );
    for (i, kind) in kinds.iter().enumerate() {
        let _ = write!(script, ", '{data}' index {i} using ($1/1000):($2/1000) title '{kind}' with linespoints");
    }
    script.push('\n');
    script
}

/// Writes report.md, ladder.dat, drops.tsv, plot.gp and answered.png (when
/// gnuplot is there) into `dir`. Returns a note about the plot.
pub fn write(dir: &Path, plan: &Plan, env: &Environment, results: &[ServerResult]) -> Result<String, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write_file = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write_file("report.md", &markdown(plan, env, results))?;
    let (data, kinds) = plot_data(results);
    write_file("ladder.dat", &data)?;
    write_file("drops.tsv", &loss_report::tsv(results))?;
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
    use crate::bench::measure::Point;
    use crate::bench::summary::tests::{measured, step};
    use crate::bench::xsk_stats::XskStat;

    fn plan() -> Plan {
        Plan {
            rates: vec![100_000, 200_000, 400_000],
            cpu_rate: 100_000,
            ..crate::bench::plan::Plan::from_args(&Default::default()).unwrap()
        }
    }

    #[test]
    fn the_capture_threads_part_shows_only_when_it_ran() {
        let mut tapped = measured(ServerKind::ResponderXdp);
        for s in &mut tapped.points[0].steps {
            s.cpu.capture = 0.02;
        }
        let env = Environment { date: "2026-12-07".into(), ..Default::default() };
        let md = markdown(&plan(), &env, &[measured(ServerKind::Floor), tapped]);
        assert!(md.contains("| 5.00 (5.00 + 0.00 + 0.00; capture 0.200) |"), "{md}");
        assert_eq!(md.matches("; capture").count(), 1, "the floor ran no capture thread: {md}");
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
                program_cost: None,
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
        // The loss section follows the ladder, for the two XDP servers only.
        let section = &md[md.find(loss_report::HEADING).expect("loss section")..];
        assert!(md.find("## Answered q/s by offered rate") < md.find(loss_report::HEADING));
        assert!(section.contains("| floor | – | 200k | 200000 | 190000 | 10000 | – |"), "{section}");
        assert!(section.contains("| responder-xdp | – | 200k |") && !section.contains("| nsd |"), "{section}");
        assert!(md.contains("- **where the lost queries went**"), "{md}");
        assert!(!md.contains("--responder-args"), "a default run names no tuning flags");
        let tuned = Plan { responder_args: vec!["--ring-size".into(), "4096".into()], ..plan() };
        let md = markdown(&tuned, &Environment::default(), &results);
        assert!(md.contains("ran with `--ring-size 4096` (`--responder-args`)"), "{md}");
    }

    /// A measured server whose program answered `tier0` of every 5 replies itself.
    fn with_tier0(kind: ServerKind, fifths: u64) -> ServerResult {
        let mut r = measured(kind);
        for s in r.points.iter_mut().flat_map(|p| p.steps.iter_mut()) {
            s.drops.xsk.0[XskStat::AnsweredTier0 as usize] = Some(s.replies * fifths / 5);
        }
        r
    }

    #[test]
    fn a_signed_tier0_run_names_its_modes_and_reports_tier0() {
        let run = Plan { signed: Some(Denial::Nsec3), t0_hits: Some(80), ..plan() };
        let mut t0 = with_tier0(ServerKind::ResponderXdpT0, 4);
        t0.program_cost = Some(Ok(ProgramCost { offered: 100_000, runs: 200_000, ns_per_packet: 41.6 }));
        let mut xdp = with_tier0(ServerKind::ResponderXdp, 0);
        xdp.program_cost = Some(Err("bpftool shows no run_time_ns for program 7".into()));
        let results = vec![xdp, t0, measured(ServerKind::KnotXdp)];
        let env = Environment { date: "d".into(), signing_seconds: Some(12.34), ..Default::default() };
        let md = markdown(&run, &env, &results);
        assert!(md.starts_with("# `cargo xtask bench` --signed nsec3 --t0-hits 80: d\n"), "{md}");
        assert!(md.contains("**Signed zone** (`--signed nsec3`): the zone signed by ldns-signzone in 12.3 s"), "{md}");
        assert!(md.contains("(NSEC3, 0 iterations, salt 5eedd115, no opt-out)"), "{md}");
        assert!(md.contains("every query carried EDNS with DO=1"), "{md}");
        assert!(md.contains("**Tier-0 workload** (`--t0-hits 80`): 80% of the queries"), "{md}");
        assert!(md.contains("| responder-xdp-t0 | 80.0% | 42 ns (200000 packets at 100k q/s) |"), "{md}");
        assert!(md.contains("| responder-xdp | 0.0% | not measured: bpftool shows no run_time_ns"), "{md}");
        assert!(md.contains("| knot-xdp | – | – |"), "no tier 0 outside the responder: {md}");
        assert!(md.contains("| responder-xdp | 1.00× | 1.00× |"), "t0 against responder-xdp: {md}");
        assert!(md.find("## Tier 0") < md.find("## Answered q/s by offered rate"));
        let nsec = Plan { signed: Some(Denial::Nsec), t0_hits: None, ..run };
        let md = markdown(&nsec, &Environment::default(), &results);
        assert!(md.contains("`--signed nsec`") && md.contains("(NSEC)") && md.contains("denials NSEC records"), "{md}");
        assert!(!md.contains("## Tier 0") && !md.contains("Tier-0 workload"), "{md}");
        let md = markdown(&plan(), &Environment::default(), &results);
        assert!(!md.contains("Signed zone") && !md.contains("## Tier 0"), "the usual run: {md}");
    }

    #[test]
    fn peak_verdicts_respect_lower_bounds() {
        let v = |ratio, responder, peer| peak_verdict(Some(ratio), 1.5, responder, "knot-xdp", peer);
        assert_eq!(v(1.6, false, false), "yes");
        assert_eq!(v(1.0, false, false), "no");
        // The responder's peak is a lower bound: short of the target proves nothing.
        assert_eq!(v(1.0, true, false), "undecided: at the generator's ceiling");
        assert_eq!(v(1.6, true, false), "yes", "a lower bound that already meets the target");
        assert_eq!(v(1.0, true, true), "undecided: at the generator's ceiling (knot-xdp too)");
        assert_eq!(v(1.6, true, true), "undecided: at the generator's ceiling (knot-xdp too)");
        // Only the peer's is a lower bound: its true peak may be higher.
        assert_eq!(v(1.6, false, true), "undecided: knot-xdp at the generator's ceiling");
        assert_eq!(v(1.0, false, true), "no");
        assert_eq!(peak_verdict(None, 1.5, true, "knot-xdp", true), "–");
    }

    /// Every step answered: the whole ladder, generator-limited at the top.
    fn unsaturated(kind: ServerKind, top_sent: u64, cpu: f64) -> ServerResult {
        let mut r = measured(kind);
        r.points[1].steps = vec![step(200_000, 200_000, 200_000, cpu); 3];
        r.points.push(Point { offered: 400_000, steps: vec![step(400_000, top_sent, top_sent, cpu); 3] });
        r
    }

    #[test]
    fn targets_at_the_generators_ceiling_are_undecided_and_estimated() {
        // Both reach 300k, all the generator sent; knot-xdp uses twice the CPU.
        let results =
            vec![unsaturated(ServerKind::ResponderXdp, 300_000, 0.25), unsaturated(ServerKind::KnotXdp, 300_000, 0.5)];
        let md = markdown(&plan(), &Environment::default(), &results);
        assert!(md.contains("| 1 | responder-xdp | ok | – | ≥ 300k |"), "{md}");
        assert!(
            md.contains("| peak ≥ 1.5 × knot-xdp | 1.00× | undecided: at the generator's ceiling (knot-xdp too) |"),
            "{md}"
        );
        // Busy 25% and 50% at the 400k step: 1.2M and 600k a full CPU.
        assert!(md.contains("| 25% | ~1200k |") && md.contains("| 50% | ~600k |"), "{md}");
        assert!(md.contains("| peak ≥ 1.5 × knot-xdp (CPU-bound estimate) | 2.00× | yes |"), "{md}");
        assert!(md.contains("Server and its NAPI threads on CPU 0"), "{md}");
    }

    #[test]
    fn an_unpinned_run_says_so() {
        let plan = Plan { unpinned: true, ..plan() };
        let md =
            markdown(&plan, &Environment { date: "d".into(), ..Default::default() }, &[measured(ServerKind::Floor)]);
        assert!(md.starts_with("# `cargo xtask bench` --unpinned: d\n"), "{md}");
        assert!(md.contains("**Unpinned**"), "{md}");
        assert!(md.contains("irq + softirq time of every CPU"), "{md}");
        assert!(md.contains("server CPU busy at peak (share of one CPU)"), "{md}");
        assert!(!md.contains("CPU 0 busy at peak"), "{md}");
    }

    #[test]
    fn plot_has_one_line_per_measured_server() {
        let results = vec![measured(ServerKind::KnotXdp), measured(ServerKind::Knot)];
        let (data, kinds) = plot_data(&results);
        assert_eq!(kinds, [ServerKind::KnotXdp, ServerKind::Knot]);
        assert_eq!(data.matches("# ").count(), 2);
        assert!(data.starts_with("# knot-xdp\n100000 100000\n200000 190000\n\n\n"));
        let script = plot_script("ladder.dat", "a.png", &kinds, "answered vs offered, 2026-12-04_170019");
        assert!(script.contains("index 1 using ($1/1000):($2/1000) title 'knot'"));
        // Enhanced text would set `_170019` as a subscript.
        assert!(script.contains("set title 'answered vs offered, 2026-12-04_170019' noenhanced\n"), "{script}");
        assert!(script.contains("set key top left noenhanced\n"), "{script}");
    }
}
