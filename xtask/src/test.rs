//! `cargo xtask test`: build, every test, an end-to-end smoke run, a fuzz
//! smoke run, and a check that nothing was left behind. One summary line at the end.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::TestArgs;
use crate::testbed::LEDGER_ENV;
use crate::{deps, interrupt, workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Default)]
pub struct Report {
    steps: Vec<(String, Outcome)>,
}

impl Report {
    pub fn record(&mut self, step: &str, outcome: Outcome) {
        self.steps.push((step.to_owned(), outcome));
    }

    pub fn any_failed(&self) -> bool {
        self.count(Outcome::Failed) > 0
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.steps.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// Per-step lines, then `N passed, N failed` (and skips, if any).
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for (step, outcome) in &self.steps {
            let mark = match outcome {
                Outcome::Passed => "ok     ",
                Outcome::Failed => "FAILED ",
                Outcome::Skipped => "skipped",
            };
            text.push_str(&format!("  {mark} {step}\n"));
        }
        text.push_str(&format!("{} passed, {} failed", self.count(Outcome::Passed), self.count(Outcome::Failed)));
        let skipped = self.count(Outcome::Skipped);
        if skipped > 0 {
            text.push_str(&format!(", {skipped} skipped"));
        }
        text
    }
}

pub fn run(args: TestArgs, no_deps: bool) -> Result<(), String> {
    interrupt::install();
    let ledger = workspace::xtask_dir().join(format!("testbeds-{}.ledger", std::process::id()));
    fs::create_dir_all(workspace::xtask_dir()).map_err(|e| format!("cannot create the xtask directory: {e}"))?;
    // Fresh per run: only namespaces created by this run may be removed.
    let _ = fs::remove_file(&ledger);

    // The later steps run this binary again. Its own file does not last:
    // the workspace build below rebuilds `target/debug/xtask` whenever
    // feature unification across the workspace differs from how `cargo
    // xtask` built it, and the running copy's path then names a deleted
    // file. So they run a copy taken now.
    let exe = own_copy()?;
    let mut report = Report::default();
    let deps_ok = no_deps || step(&mut report, "system packages (xtask deps)", || deps::run(true));
    let built = deps_ok
        && step(&mut report, "cargo build --workspace --all-targets", || {
            command(workspace::cargo().args(["build", "--workspace", "--all-targets"]), &ledger)
        });
    if built {
        step(&mut report, "cargo test --workspace", || {
            command(workspace::cargo().args(["test", "--workspace"]), &ledger)
        });
    } else {
        report.record("cargo test --workspace", Outcome::Skipped);
    }
    if args.quick {
        report.record("smoke: xtask run --once", Outcome::Skipped);
    } else if built {
        step(&mut report, "smoke: xtask run --once", || {
            command(Command::new(&exe).args(["--no-deps", "run", "--once"]).current_dir(workspace::root()), &ledger)
        });
    } else {
        report.record("smoke: xtask run --once", Outcome::Skipped);
    }
    // A short replay-and-mutate run of every fuzz target: the full runs are
    // `cargo xtask fuzz --seconds 600`; this catches what the seeds and a few
    // seconds of mutation still reach.
    if args.quick {
        report.record("fuzz smoke: xtask fuzz", Outcome::Skipped);
    } else if built {
        step(&mut report, "fuzz smoke: xtask fuzz", || {
            command(Command::new(&exe).args(["--no-deps", "fuzz"]).current_dir(workspace::root()), &ledger)
        });
    } else {
        report.record("fuzz smoke: xtask fuzz", Outcome::Skipped);
    }
    step(&mut report, "no network namespaces left behind", || remove_leftover_namespaces(&ledger));
    let _ = fs::remove_file(&ledger);
    let _ = fs::remove_file(&exe);

    println!("\n{}", report.summary());
    if report.any_failed() {
        return Err("some steps failed".to_owned());
    }
    Ok(())
}

/// A copy of the running xtask binary, private to this run.
fn own_copy() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let copy = workspace::xtask_dir().join(format!("xtask-test-{}", std::process::id()));
    fs::copy(&exe, &copy).map_err(|e| format!("cannot copy {} to {}: {e}", exe.display(), copy.display()))?;
    Ok(copy)
}

/// Runs one step unless interrupted, records and announces the outcome.
fn step(report: &mut Report, name: &str, body: impl FnOnce() -> Result<(), String>) -> bool {
    if interrupt::interrupted() {
        report.record(name, Outcome::Skipped);
        return false;
    }
    eprintln!("\n==> {name}");
    let result = body();
    if let Err(e) = &result {
        eprintln!("==> {name}: FAILED: {e}");
    }
    report.record(name, if result.is_ok() { Outcome::Passed } else { Outcome::Failed });
    result.is_ok()
}

fn command(cmd: &mut Command, ledger: &Path) -> Result<(), String> {
    let status = cmd.env(LEDGER_ENV, ledger).status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

/// Namespaces named in this run's ledger that still exist were leaked by a
/// test that died without its guard running: remove them and fail the step.
/// Anything not in the ledger (another engineer's run) is never touched.
fn remove_leftover_namespaces(ledger: &Path) -> Result<(), String> {
    let ours = match fs::read_to_string(ledger) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", ledger.display())),
    };
    let out = Command::new("ip").args(["netns", "list"]).output().map_err(|e| format!("cannot run ip: {e}"))?;
    let leftovers = leftovers(&ours, &String::from_utf8_lossy(&out.stdout));
    if leftovers.is_empty() {
        return Ok(());
    }
    for ns in &leftovers {
        let _ = Command::new("ip").args(["netns", "del", ns]).status();
    }
    Err(format!("removed namespaces a test left behind: {}", leftovers.into_iter().collect::<Vec<_>>().join(" ")))
}

/// Ledger names that appear in `ip netns list` output (`name (id: 3)` lines).
pub fn leftovers(ledger: &str, netns_list: &str) -> BTreeSet<String> {
    let ours: BTreeSet<&str> = ledger.lines().map(str::trim).filter(|l| l.starts_with("rsp-")).collect();
    netns_list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|ns| ours.contains(ns))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_each_outcome() {
        let mut report = Report::default();
        report.record("build", Outcome::Passed);
        report.record("test", Outcome::Failed);
        report.record("smoke", Outcome::Skipped);
        report.record("netns", Outcome::Passed);
        assert!(report.any_failed());
        let summary = report.summary();
        assert!(summary.ends_with("\n2 passed, 1 failed, 1 skipped"), "{summary}");
        assert!(summary.contains("FAILED  test"), "{summary}");
    }

    #[test]
    fn summary_line_without_skips() {
        let mut report = Report::default();
        report.record("build", Outcome::Passed);
        assert!(!report.any_failed());
        assert_eq!(report.summary().lines().last(), Some("1 passed, 0 failed"));
    }

    #[test]
    fn a_leaked_namespace_is_removed_and_fails_the_step() {
        if !crate::testbed::privileged("a_leaked_namespace_is_removed_and_fails_the_step") {
            return;
        }
        let ns = format!("rsp-s-leak{}", std::process::id());
        let ledger = std::env::temp_dir().join(format!("xtask-leak-{}.ledger", std::process::id()));
        fs::write(&ledger, format!("{ns}\nrsp-c-neverexisted\n")).unwrap();
        crate::testbed::run(Command::new("ip").args(["netns", "add", &ns])).unwrap();

        let result = remove_leftover_namespaces(&ledger);
        let list = crate::testbed::run(Command::new("ip").args(["netns", "list"])).unwrap();
        let still_there = String::from_utf8_lossy(&list.stdout).contains(&ns);
        if still_there {
            let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        }
        fs::remove_file(&ledger).unwrap();
        assert_eq!(result, Err(format!("removed namespaces a test left behind: {ns}")));
        assert!(!still_there, "{ns} should have been removed");
    }

    #[test]
    fn only_namespaces_from_our_ledger_are_leftovers() {
        let ledger = "rsp-s-tb1234\nrsp-c-tb1234\nrsp-s-run99\nrsp-c-run99\n";
        let list = "rsp-s-run99 (id: 4)\nrsp-s-other777 (id: 3)\nrsp-c-tb1234\nsomeone-elses\n";
        let found: Vec<_> = leftovers(ledger, list).into_iter().collect();
        assert_eq!(found, ["rsp-c-tb1234", "rsp-s-run99"]);
        assert!(leftovers("", list).is_empty());
        // Whatever the ledger says, only testbed names are ever candidates.
        assert!(leftovers("someone-elses\n", list).is_empty());
    }
}
