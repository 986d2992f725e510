//! The facts a benchmark figure is meaningless without: when, which kernel
//! and CPU, how loaded the machine was, which commit and which peers.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::report;
use crate::workspace;

pub struct Environment {
    /// UTC, `YYYY-MM-DD_HHMMSS`: names the results directory too.
    pub date: String,
    load_before: String,
    load_now: String,
}

/// At the start of a run.
pub fn start() -> Environment {
    let load = load_average();
    Environment { date: utc_stamp(now_seconds()), load_before: load.clone(), load_now: load }
}

impl Environment {
    /// At the end of the run: the load average now.
    pub fn finish(self) -> Environment {
        Environment { load_now: load_average(), ..self }
    }

    pub fn report(&self) -> report::Environment {
        report::Environment {
            date: self.date.clone(),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
            cpu_model: fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| cpu_model(&text))
                .unwrap_or_else(|| "unknown CPU".to_owned()),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_before: self.load_before.clone(),
            load_after: self.load_now.clone(),
            commit: commit(),
            versions: versions(),
            signing_seconds: None,
        }
    }
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git").args(args).current_dir(workspace::root()).output().ok().filter(|o| o.status.success())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown".to_owned() };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|o| !o.stdout.is_empty());
    format!("{}{}", String::from_utf8_lossy(&head.stdout).trim(), if dirty { "+changes" } else { "" })
}

/// First line of each peer's version output.
fn versions() -> Vec<(String, String)> {
    [("knotd", "--version"), ("nsd", "-v"), ("named", "-v"), ("kxdpgun", "-V")]
        .iter()
        .filter_map(|(program, flag)| {
            let out = Command::new(program).arg(flag).output().ok()?;
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            Some((program.to_string(), text.lines().next()?.trim().to_owned()))
        })
        .collect()
}

/// `YYYY-MM-DD_HHMMSS` in UTC for seconds since the epoch.
pub fn utc_stamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}_{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "1970-01-01_000000");
        assert_eq!(utc_stamp(951_782_400 + 3_723), "2000-02-29_010203", "leap day");
        assert_eq!(utc_stamp(1_798_761_599), "2026-12-31_235959");
    }

    #[test]
    fn cpu_model_line() {
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n").as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }
}
