//! Latency at a fixed rate below saturation: dnsperf in the client
//! namespace, pinned to the client CPU, reporting every answer's latency
//! (`-v`), from which the percentiles are computed. Kernel-socket client
//! for every server, so the client side's cost is the same for all. In a
//! signed run every query has DO=1 (`-D`), as kxdpgun's do.

use std::path::Path;
use std::time::Duration;

use super::bed::{BenchBed, CLIENT_CPU};
use super::process::run_bounded;
use super::stats::percentile;
use crate::testbed::SERVER_V4;

const GRACE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    pub rate: u32,
    pub answers: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn measure(bed: &BenchBed, queries: &Path, rate: u32, seconds: u32, dnssec_ok: bool) -> Result<Latency, String> {
    let mut cmd = if bed.pinned {
        let mut cmd = bed.bed.client_command("taskset");
        cmd.args(["-c", &CLIENT_CPU.to_string(), "dnsperf"]);
        cmd
    } else {
        bed.bed.client_command("dnsperf")
    };
    cmd.args(["-s", &SERVER_V4.to_string(), "-d"]).arg(queries).args([
        "-l",
        &seconds.to_string(),
        "-Q",
        &rate.to_string(),
        "-c",
        "1",
        "-q",
        "1000",
        "-t",
        "2",
        "-v",
    ]);
    if dnssec_ok {
        cmd.arg("-D");
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(u64::from(seconds)) + GRACE)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("dnsperf exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut seconds_each = parse_latencies(&stdout);
    if seconds_each.is_empty() {
        return Err(format!("dnsperf reported no answers:\n{}", tail(&stdout)));
    }
    seconds_each.sort_by(f64::total_cmp);
    let ms = |p| percentile(&seconds_each, p).map_or(f64::NAN, |s| s * 1e3);
    Ok(Latency { rate, answers: seconds_each.len(), p50_ms: ms(50.0), p99_ms: ms(99.0) })
}

/// The latency, in seconds, of every answered query in dnsperf's verbose
/// output: `> NOERROR h1.bench.test A 0.000210` (lost queries print
/// `> T ...` with no answer and are skipped).
pub fn parse_latencies(text: &str) -> Vec<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("> "))
        .filter(|rest| !rest.starts_with("T "))
        .filter_map(|rest| rest.split_whitespace().last()?.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .collect()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_from_verbose_output() {
        let text = "DNS Performance Testing Tool\n[Status] Sending queries (to 198.18.0.1:53)\n\
                    > NOERROR h1.bench.test A 0.000210\n> NXDOMAIN nx2.bench.test AAAA 0.001500\n\
                    > T h3.bench.test A\n  Queries sent:         3\n";
        assert_eq!(parse_latencies(text), [0.000210, 0.001500]);
        assert!(parse_latencies("Queries sent: 0\n").is_empty());
    }
}
