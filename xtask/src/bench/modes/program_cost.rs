//! What the XDP program itself costs per packet: with
//! `kernel.bpf_stats_enabled=1` the kernel adds up every run's time
//! (`run_time_ns`) and count (`run_cnt`) per program, which `bpftool prog
//! show id ID --json` prints. The stats cost two clock reads a packet, so
//! they are on only for one extra step after a server's ladder (its figures
//! stay comparable with the other servers'), and set back as they were
//! however the step ends.

use std::fs;
use std::process::Command;

use serde_json::Value;

const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";
pub const BPFTOOL: &str = "/usr/sbin/bpftool";

/// The program's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

impl RunStats {
    /// Nanoseconds per run over the interval since `before`; `None` when
    /// nothing ran or a counter went backwards (another program).
    pub fn ns_per_run_since(&self, before: &RunStats) -> Option<f64> {
        let time = self.run_time_ns.checked_sub(before.run_time_ns)?;
        let runs = self.run_cnt.checked_sub(before.run_cnt).filter(|&n| n > 0)?;
        Some(time as f64 / runs as f64)
    }
}

/// What the extra step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProgramCost {
    pub offered: u32,
    /// Program runs in the step: every frame the interface received.
    pub runs: u64,
    pub ns_per_packet: f64,
}

/// Reads `bpftool prog show id ID --json`. bpftool leaves both fields out
/// while they are 0 (stats just turned on, or off), so a program's entry
/// without them reads as 0; a step in which they stay 0 measured nothing
/// ([`RunStats::ns_per_run_since`]).
pub fn parse(json: &str) -> Option<RunStats> {
    let v: Value = serde_json::from_str(json).ok()?;
    v["id"].as_u64()?;
    let field = |name: &str| if v[name].is_null() { Some(0) } else { v[name].as_u64() };
    Some(RunStats { run_time_ns: field("run_time_ns")?, run_cnt: field("run_cnt")? })
}

pub fn sample(prog_id: u32) -> Result<RunStats, String> {
    let out = Command::new(BPFTOOL)
        .args(["prog", "show", "id", &prog_id.to_string(), "--json"])
        .output()
        .map_err(|e| format!("cannot run bpftool: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| {
        format!(
            "bpftool shows no run_time_ns for program {prog_id}: {}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// The id of the XDP program on an `ip link show` line (`prog/xdp id 42`).
pub fn prog_id_of(ip_link: &str) -> Option<u32> {
    let words: Vec<&str> = ip_link.split_whitespace().collect();
    words.windows(3).find(|w| w[0].starts_with("prog/xdp") && w[1] == "id").and_then(|w| w[2].parse().ok())
}

/// `kernel.bpf_stats_enabled` on while this lives; the value it had before
/// is written back when it is dropped.
pub struct StatsOn {
    before: String,
}

impl StatsOn {
    pub fn enable() -> Result<StatsOn, String> {
        let before = fs::read_to_string(BPF_STATS).map_err(|e| format!("cannot read {BPF_STATS}: {e}"))?;
        fs::write(BPF_STATS, "1").map_err(|e| format!("cannot enable {BPF_STATS}: {e}"))?;
        Ok(StatsOn { before: before.trim().to_owned() })
    }
}

impl Drop for StatsOn {
    fn drop(&mut self) {
        if let Err(e) = fs::write(BPF_STATS, &self.before) {
            eprintln!("\nxtask bench: cannot set {BPF_STATS} back to {}: {e}", self.before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_stats_from_bpftool() {
        let on = r#"{"id":42,"type":"xdp","name":"xdp_dns","tag":"0123456789abcdef","gpl_compatible":true,
                     "run_time_ns":1500000,"run_cnt":30000,"loaded_at":1733530000,"uid":0}"#;
        assert_eq!(parse(on), Some(RunStats { run_time_ns: 1_500_000, run_cnt: 30_000 }));
        let zero = RunStats::default();
        assert_eq!(parse(r#"{"id":42,"type":"xdp","name":"xdp_dns"}"#), Some(zero), "0 so far, or stats off");
        assert_eq!(parse(r#"{"id":42,"run_time_ns":-1,"run_cnt":3}"#), None, "not a count");
        assert_eq!(parse("Error: get by id (42): No such file or directory"), None);
    }

    #[test]
    fn ns_per_run_over_an_interval() {
        let before = RunStats { run_time_ns: 1_000, run_cnt: 10 };
        let after = RunStats { run_time_ns: 5_001_000, run_cnt: 100_010 };
        assert_eq!(after.ns_per_run_since(&before), Some(50.0));
        assert_eq!(before.ns_per_run_since(&before), None, "nothing ran");
        assert_eq!(before.ns_per_run_since(&after), None, "ran backwards");
    }

    #[test]
    fn program_id_from_ip_link() {
        let native = "7: rs1@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 xdp qdisc noqueue state UP mode DEFAULT \
                      group default qlen 1000\n    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netns c\n    \
                      prog/xdp id 42 tag 0123456789abcdef jited";
        assert_eq!(prog_id_of(native), Some(42));
        assert_eq!(
            prog_id_of("7: rs1@if6: <BROADCAST> mtu 1500 xdpgeneric qdisc noqueue\n prog/xdp id 7 tag x"),
            Some(7)
        );
        assert_eq!(prog_id_of("7: rs1@if6: <BROADCAST> mtu 1500 qdisc noqueue state UP"), None);
    }
}
