//! The process's own numbers, read from `/proc/self` at each snapshot, under
//! the names every Prometheus client library gives them (`process_*`), so
//! the usual dashboards and alerts work unchanged.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    /// The soft limit on descriptors.
    pub max_fds: Option<u64>,
    /// Since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// `None` where `/proc` is not mounted or unreadable: the family is
    /// left out rather than shown as zero.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let mut stats = from_stat(&stat, &uptime, ticks as f64, page as u64, now_unix())?;
        stats.open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        stats.max_fds = std::fs::read_to_string("/proc/self/limits").ok().as_deref().and_then(max_fds);
        Some(stats)
    }
}

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// From `/proc/self/stat` (proc(5)): fields after the command name, which is
/// in parentheses and may itself hold spaces and parentheses.
fn from_stat(stat: &str, uptime: &str, ticks: f64, page: u64, now: f64) -> Option<ProcessStats> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; utime is field 14.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let (utime, stime, start_ticks) = (field(14)?, field(15)?, field(22)?);
    let (vsize, rss_pages) = (field(23)?, field(24)?);
    let boot_uptime: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    let ticks = if ticks > 0.0 { ticks } else { 100.0 };
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / ticks,
        resident_bytes: rss_pages * page,
        virtual_bytes: vsize,
        open_fds: 0,
        max_fds: None,
        start_time_seconds: now - boot_uptime + start_ticks as f64 / ticks,
    })
}

/// The soft limit of the `Max open files` line of `/proc/self/limits`.
fn max_fds(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_a_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime prio nice threads itreal
        // starttime vsize rss ...
        let stat =
            "42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 250 50 0 0 20 0 3 0 1000 123456 7 18446744073709551615";
        let s = from_stat(stat, "100.00 50.00", 100.0, 4096, 2000.0).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!((s.virtual_bytes, s.resident_bytes), (123456, 7 * 4096));
        // Booted at 2000 - 100 = 1900; started 1000 ticks = 10 s later.
        assert_eq!(s.start_time_seconds, 1910.0);
        assert_eq!(from_stat("42 (x) S 1 2", "1 1", 100.0, 4096, 0.0), None);
    }

    #[test]
    fn the_soft_descriptor_limit_is_read_and_our_own_process_is_readable() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_fds(limits), Some(1024));
        let me = ProcessStats::read().expect("/proc/self is readable");
        assert!(me.open_fds >= 3 && me.resident_bytes > 0 && me.start_time_seconds > 1.0e9, "{me:?}");
    }
}
