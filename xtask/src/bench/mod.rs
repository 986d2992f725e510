//! `cargo xtask bench`: the responder side by side with Knot DNS (kernel
//! sockets and XDP), NSD and BIND, and with its own I/O floor, on a veth
//! testbed this command builds and removes.
//!
//! - [`plan`]: what to measure; [`workload`]: the zone and the queries;
//! - [`bed`]: the testbed with threaded NAPI pinned per side;
//! - [`servers`]: one file per server kind; [`gate`]: the correctness gate;
//! - [`load`], [`latency`], [`cpu`]: kxdpgun ladder, dnsperf, /proc;
//! - [`drops`] ([`veth_stats`], [`xsk_stats`], [`counters`]): drop
//!   counters along the path around each step;
//! - [`measure`]: one server start to finish; [`summary`], [`report`]: the
//!   figures and the record; [`loss_report`]: where the lost queries went;
//!   [`progress`]: the status line;
//! - [`modes`]: the signed zone (`--signed`), the tier-0 workload
//!   (`--t0-hits`) and the XDP program's own cost.

mod bed;
mod counters;
mod cpu;
mod drops;
mod environment;
mod floor_report;
mod gate;
mod latency;
mod load;
mod loss_report;
mod measure;
mod modes;
pub mod plan;
mod process;
mod progress;
mod report;
mod servers;
mod stats;
mod summary;
mod veth_stats;
mod workload;
mod xsk_stats;

use std::fs;
use std::path::{Path, PathBuf};

use crate::{deps, interrupt, workspace};
use measure::{Inputs, Status};
use plan::{BenchArgs, Plan};
use progress::Progress;

/// Fixed, so every run asks the same queries.
const QUERY_SEED: u64 = 0x5eed_d115;

pub fn run(args: BenchArgs) -> Result<(), String> {
    let plan = Plan::from_args(&args)?;
    if !workspace::is_root() {
        return Err("`cargo xtask bench` creates network namespaces and attaches XDP programs: run it as root \
                    (e.g. `sudo -E env PATH=\"$PATH\" cargo xtask bench`)"
            .to_owned());
    }
    deps::ensure(deps::BENCH_PACKAGES, false)?;
    // Before anything is started, so an interrupt at any point unwinds
    // through the guards below (servers, testbed, scratch directory).
    interrupt::install();
    for (tool, package) in
        [(load::KXDPGUN, "knot-dnsutils"), ("/usr/bin/dnsperf", "dnsperf"), ("/usr/bin/kdig", "knot-dnsutils")]
    {
        if !Path::new(tool).is_file() {
            return Err(format!("{tool} is missing (Debian package {package}); the bench cannot run without it"));
        }
    }
    let (responder, floor) = build()?;

    let environment = environment::start();
    let scratch = Scratch::create()?;
    let mix = workload::Mix { signed: plan.signed.is_some(), t0_hits: plan.t0_hits };
    let queries = workload::mixed(plan.names, plan.queries, QUERY_SEED, mix);
    let mut files = workload::write_files(&scratch.0, plan.names, &queries)?;
    let mut signing = None;
    if let Some(denial) = plan.signed {
        eprintln!("xtask bench: signing {} names with ldns-signzone ({})", plan.names, denial.name());
        let signed = modes::signed::sign(&scratch.0, &files.zone, denial)?;
        eprintln!("xtask bench: signed in {:.1} s", signed.seconds);
        files.zone = signed.zone;
        signing = Some(signed.seconds);
    }
    let client_pass = match plan.t0_hits.is_some() || plan.servers.iter().any(|k| k.answers_with_xdp_tx()) {
        true => Some(modes::client_pass::build(&scratch.0)?),
        false => None,
    };
    let bench_bed = bed::BenchBed::create(plan.queues, !plan.unpinned)?;
    eprintln!(
        "xtask bench: {} server(s), {} names, {} queries, testbed {} ⇄ {} ({} queue(s)); load takes about {} s",
        plan.servers.len(),
        plan.names,
        plan.queries,
        bench_bed.bed.server_if,
        bench_bed.bed.client_if,
        plan.queues,
        plan.load_time().as_secs()
    );
    let inputs = Inputs {
        bed: &bench_bed,
        files: &files,
        queries: &queries,
        responder: &responder,
        floor: &floor,
        scratch: &scratch.0,
        client_pass: client_pass.as_deref(),
    };
    let mut progress = Progress::new(plan.servers.len());
    let mut results = Vec::new();
    for &kind in &plan.servers {
        if interrupt::interrupted() {
            break;
        }
        results.push(measure::server(kind, &plan, &inputs, &mut progress));
    }
    progress.finish();
    drop(bench_bed);
    if interrupt::interrupted() {
        return Err("interrupted; testbed and servers removed".to_owned());
    }

    let environment = environment.finish();
    let dir = results_dir(&environment.date, plan.quick, plan.unpinned, &plan.modes());
    let facts = report::Environment { signing_seconds: signing, ..environment.report() };
    let plot = report::write(&dir, &plan, &facts, &results)?;
    let md = fs::read_to_string(dir.join("report.md")).unwrap_or_default();
    println!("{md}");
    eprintln!("xtask bench: report {} ({plot})", dir.join("report.md").display());
    let bad: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Failed(_) | Status::WrongAnswers(_)))
        .map(|r| r.kind.to_string())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("failed or answered wrongly: {} (see the report)", bad.join(", ")))
    }
}

/// Builds the responder and the floor example in the release profile.
fn build() -> Result<(PathBuf, PathBuf), String> {
    eprintln!("xtask bench: building the responder and the floor (release)");
    let status = workspace::cargo()
        .args(["build", "--release", "-p", "responder", "--bin", "responder", "--example", "xdp_floor"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the responder failed ({status})"));
    }
    let floor = workspace::target_dir().join("release").join("examples").join("xdp_floor");
    Ok((workspace::release_responder(), floor))
}

fn results_dir(stamp: &str, quick: bool, unpinned: bool, modes: &[String]) -> PathBuf {
    workspace::root().join("bench-results").join(results_name(stamp, quick, unpinned, modes))
}

fn results_name(stamp: &str, quick: bool, unpinned: bool, modes: &[String]) -> String {
    let modes: String = modes.iter().map(|m| format!("-{m}")).collect();
    format!("{stamp}{}{}{modes}", if quick { "-quick" } else { "" }, if unpinned { "-unpinned" } else { "" })
}

/// The zone, query files and server configurations of this run; removed
/// when the run ends, however it ends.
struct Scratch(PathBuf);

impl Scratch {
    fn create() -> Result<Scratch, String> {
        let dir = workspace::xtask_dir().join(format!("bench-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_directories_say_how_the_run_was_made() {
        assert_eq!(results_name("2026-12-04_170019", false, false, &[]), "2026-12-04_170019");
        assert_eq!(results_name("2026-12-04_170019", true, false, &[]), "2026-12-04_170019-quick");
        assert_eq!(results_name("2026-12-04_170019", true, true, &[]), "2026-12-04_170019-quick-unpinned");
        assert_eq!(results_name("2026-12-04_170019", false, true, &[]), "2026-12-04_170019-unpinned");
        let modes = ["signed-nsec3".to_owned(), "t0-hits-80".to_owned()];
        assert_eq!(
            results_name("2026-12-04_170019", true, false, &modes),
            "2026-12-04_170019-quick-signed-nsec3-t0-hits-80"
        );
    }
}
