//! `cargo xtask fuzz`: every cargo-fuzz target in `fuzz/` (or one) for a
//! bounded time each, failing if any of them crashes.
//!
//! cargo-fuzz needs the nightly toolchain, so cargo is called through the
//! rustup proxy with `+nightly` rather than through `$CARGO`, which is the
//! toolchain that built xtask. New inputs go to a scratch corpus under
//! `target/`, so runs build on each other without touching the small seed
//! corpora committed in `fuzz/corpus/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cli::FuzzArgs;
use crate::test::{Outcome, Report};
use crate::{interrupt, workspace};

/// Without `--seconds`, the whole run gets this long, shared by the targets:
/// a smoke test that catches shallow regressions, not a fuzzing campaign.
pub const DEFAULT_TOTAL_SECONDS: u64 = 30;
/// libFuzzer reports an input that takes longer than this as a hang.
const UNIT_TIMEOUT_SECONDS: u64 = 10;

pub fn run(args: FuzzArgs) -> Result<(), String> {
    interrupt::install();
    ensure_cargo_fuzz()?;
    let available = list_targets()?;
    let targets = match args.target {
        Some(target) if available.contains(&target) => vec![target],
        Some(target) => return Err(format!("no fuzz target `{target}`; there are: {}", available.join(", "))),
        None => available,
    };
    let seconds = seconds_per_target(args.seconds, targets.len());

    eprintln!("==> building the fuzz targets (nightly, sanitizers, debug assertions)");
    let started = Instant::now();
    status(nightly_cargo().args(["fuzz", "build", "--debug-assertions"]))
        .map_err(|e| format!("building the fuzz targets failed: {e}"))?;
    eprintln!("==> built in {} s", started.elapsed().as_secs());

    let mut report = Report::default();
    for target in &targets {
        let step = format!("fuzz {target} for {seconds} s");
        if interrupt::interrupted() {
            report.record(&step, Outcome::Skipped);
            continue;
        }
        eprintln!("\n==> {step}");
        match fuzz_target(target, seconds) {
            Ok(()) => report.record(&step, Outcome::Passed),
            Err(e) => {
                eprintln!("==> {step}: FAILED: {e}");
                report.record(&step, Outcome::Failed);
            }
        }
    }
    println!("\n{}", report.summary());
    if report.any_failed() {
        return Err("a fuzz target failed; the crashing input is in fuzz/artifacts/<target>/".to_owned());
    }
    if interrupt::interrupted() {
        return Err("interrupted".to_owned());
    }
    Ok(())
}

/// `--seconds` is per target; the default total is shared out, at least a
/// second each.
pub fn seconds_per_target(explicit: Option<u64>, targets: usize) -> u64 {
    explicit.unwrap_or_else(|| (DEFAULT_TOTAL_SECONDS / targets.max(1) as u64).max(1))
}

fn fuzz_target(target: &str, seconds: u64) -> Result<(), String> {
    let scratch = workspace::target_dir().join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let seeds = fuzz_dir().join("corpus").join(target);
    let mut cmd = nightly_cargo();
    cmd.args(["fuzz", "run", "--debug-assertions", target]).arg(&scratch);
    // libFuzzer writes new inputs to the first corpus only: seeds stay as committed.
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={UNIT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1");
    status(&mut cmd)
}

/// Installs cargo-fuzz when `cargo +nightly fuzz` is not there yet.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let nightly = nightly_cargo().arg("--version").output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !nightly.status.success() {
        return Err("cargo-fuzz needs the nightly toolchain: `rustup toolchain install nightly`".to_owned());
    }
    let present = nightly_cargo().args(["fuzz", "--version"]).output().is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!("==> installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    status(workspace::cargo().args(["install", "cargo-fuzz", "--locked"]))
        .map_err(|e| format!("installing cargo-fuzz failed: {e}"))
}

fn list_targets() -> Result<Vec<String>, String> {
    let out =
        nightly_cargo().args(["fuzz", "list"]).output().map_err(|e| format!("cannot run cargo fuzz list: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo fuzz list failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let targets = parse_target_list(&String::from_utf8_lossy(&out.stdout));
    if targets.is_empty() {
        return Err(format!("no fuzz targets in {}", fuzz_dir().display()));
    }
    Ok(targets)
}

/// `cargo fuzz list` prints one target per line.
pub fn parse_target_list(stdout: &str) -> Vec<String> {
    stdout.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn fuzz_dir() -> PathBuf {
    workspace::root().join("fuzz")
}

/// `cargo +nightly` in `fuzz/`. The toolchain variables cargo set for
/// xtask would pin nested cargo and rustc to the stable toolchain.
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .current_dir(fuzz_dir())
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

fn status(cmd: &mut Command) -> Result<(), String> {
    let program = Path::new(cmd.get_program()).display().to_string();
    let status = cmd.status().map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_time_is_shared_out() {
        // Five targets (frame, message, zone_parser, table_loader, config):
        // the smoke run stays at about 30 s in all.
        assert_eq!(seconds_per_target(None, 5), 6);
        assert_eq!(seconds_per_target(None, 4), 7);
        assert_eq!(seconds_per_target(None, 1), DEFAULT_TOTAL_SECONDS);
        assert_eq!(seconds_per_target(None, 100), 1, "at least a second each");
        assert_eq!(seconds_per_target(Some(600), 4), 600, "--seconds is per target");
    }

    #[test]
    fn target_list_ignores_blank_lines() {
        assert_eq!(parse_target_list("frame\nmessage\n\n  zone_parser \n"), ["frame", "message", "zone_parser"]);
        assert!(parse_target_list("\n").is_empty());
    }

    #[test]
    fn every_target_has_seeds() {
        // The fuzz project lists its targets as [[bin]] sections; each one
        // must have a committed seed corpus, or a smoke run starts blind.
        let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        let targets: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|name| *name != "responder-fuzz")
            .collect();
        assert!(targets.len() >= 5, "{targets:?}");
        assert!(targets.contains(&"config"), "the configuration parser has a target: {targets:?}");
        assert!(targets.contains(&"signed_message"), "signed answers have a target: {targets:?}");
        for target in targets {
            let seeds = fuzz_dir().join("corpus").join(target);
            let count = std::fs::read_dir(&seeds).map(|d| d.count()).unwrap_or(0);
            assert!(count > 0, "no seeds in {}", seeds.display());
        }
    }
}
