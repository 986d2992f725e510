//! Server-side CPU time, from /proc, in three parts:
//!
//! - **process**: `utime + stime` of the server process and every process
//!   under it (NSD forks its workers), all threads included;
//! - **napi**: `utime + stime` of the server interface's `napi/IFACE-N`
//!   kernel threads (pinned to the server CPU unless `--unpinned`): receiving the queries,
//!   running XDP, copying frames into AF_XDP sockets;
//! - **softirq**: the `irq + softirq` time of the server CPU in /proc/stat:
//!   any receive or transmit-completion work that still ran as a softirq
//!   there. Other processes' softirqs on that CPU land here too; on an idle
//!   machine they are negligible, on a shared one they are noise.
//!   Unpinned, the server's softirq work may run on any CPU, so every
//!   CPU's is counted; the generator side's receive work runs in its own
//!   NAPI threads, not in softirq, so little of it lands here.
//!
//! Resolution is one clock tick (10 ms with USER_HZ = 100).
//!
//! Of the process's time, the responder's capture thread (named `capture`:
//! dnstap and pcap encoding and writing) is also counted apart, from its
//! scheduler run time in nanoseconds (`/proc/PID/task/TID/schedstat`),
//! as it uses a few milliseconds a second, below the tick.

use std::collections::BTreeMap;
use std::fs;

/// Tick counts at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    pub process: u64,
    pub napi: u64,
    pub softirq: u64,
    /// Nanoseconds, not ticks.
    pub capture_ns: u64,
}

/// CPU seconds spent between two samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuUse {
    pub process: f64,
    pub napi: f64,
    pub softirq: f64,
    /// Part of `process`: the capture thread.
    pub capture: f64,
}

impl CpuUse {
    pub fn total(&self) -> f64 {
        self.process + self.napi + self.softirq
    }

    pub fn between(before: Sample, after: Sample, ticks_per_second: u64) -> CpuUse {
        let seconds = |a: u64, b: u64| b.saturating_sub(a) as f64 / ticks_per_second.max(1) as f64;
        CpuUse {
            process: seconds(before.process, after.process),
            napi: seconds(before.napi, after.napi),
            softirq: seconds(before.softirq, after.softirq),
            capture: after.capture_ns.saturating_sub(before.capture_ns) as f64 / 1e9,
        }
    }
}

/// Reads the three counters now; softirq time of `cpu`, or of every CPU.
pub fn sample(server_pid: u32, napi_threads: &[u32], cpu: Option<usize>) -> Sample {
    let tree = process_tree(server_pid);
    Sample {
        process: tree.iter().filter_map(|&pid| task_ticks(pid)).sum(),
        napi: napi_threads.iter().filter_map(|&pid| task_ticks(pid)).sum(),
        softirq: fs::read_to_string("/proc/stat").ok().and_then(|s| irq_ticks(&s, cpu)).unwrap_or(0),
        capture_ns: tree.iter().map(|&pid| thread_ns(pid, CAPTURE_THREAD)).sum(),
    }
}

/// The name the responder gives its capture thread.
const CAPTURE_THREAD: &str = "capture";

/// Run time of `pid`'s threads named `name`, in nanoseconds.
fn thread_ns(pid: u32, name: &str) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter(|t| fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0).unwrap_or(100)
}

fn task_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|s| s.utime + s.stime)
}

/// The fields of /proc/PID/stat the bench uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    pub utime: u64,
    pub stime: u64,
}

/// Parses /proc/PID/stat. The command name (field 2) is in parentheses and
/// may itself hold spaces and parentheses, so fields are counted from the
/// last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state): ppid is 4, utime 14, stime 15.
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
    })
}

/// `irq + softirq` ticks of `cpu` from /proc/stat; `None`: all CPUs'.
pub fn irq_ticks(proc_stat: &str, cpu: Option<usize>) -> Option<u64> {
    let label = cpu.map_or("cpu".to_owned(), |cpu| format!("cpu{cpu}"));
    let line = proc_stat.lines().find(|l| l.split_whitespace().next() == Some(label.as_str()))?;
    let values: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq ...
    Some(values.get(5)? + values.get(6)?)
}

/// `root` and every process descending from it.
fn process_tree(root: u32) -> Vec<u32> {
    let mut parents = BTreeMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for pid in entries.filter_map(Result::ok).filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()) {
            if let Some(stat) = fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| parse_stat(&s)) {
                parents.insert(pid, stat.ppid);
            }
        }
    }
    descendants(root, &parents)
}

/// `root` and its descendants in a child → parent map.
pub fn descendants(root: u32, parents: &BTreeMap<u32, u32>) -> Vec<u32> {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, &p)| p == parent).map(|(&child, _)| child));
        i += 1;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let text = "4242 (nsd: xfrd) (x)) S 4240 4240 1 0 -1 4194560 1500 0 0 0 173 58 0 0 20 0 3 0 99 1 2 3\n";
        assert_eq!(parse_stat(text), Some(Stat { ppid: 4240, utime: 173, stime: 58 }));
        assert_eq!(parse_stat("4242 (short) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn this_process_has_a_readable_stat() {
        let me = std::process::id();
        let stat = parse_stat(&fs::read_to_string(format!("/proc/{me}/stat")).unwrap()).unwrap();
        assert!(stat.ppid > 0);
        assert!(process_tree(me).contains(&me));
        let named = std::thread::Builder::new()
            .name("busy-named".into())
            .spawn(|| {
                // Busy until its own run time shows, for at most 5 s.
                let start = std::time::Instant::now();
                let me = std::process::id();
                while thread_ns(me, "busy-named") < 5_000_000 && start.elapsed() < std::time::Duration::from_secs(5) {}
                thread_ns(me, "busy-named")
            })
            .unwrap();
        assert!(named.join().unwrap() >= 5_000_000, "a named thread's run time is read");
        assert_eq!(thread_ns(me, "no-such-thread"), 0);
    }

    #[test]
    fn irq_time_of_one_cpu() {
        let text = "cpu  100 0 50 1000 5 7 11 0 0 0\ncpu0 60 0 30 500 2 3 6 0 0 0\ncpu1 40 0 20 500 3 4 5 0 0 0\n";
        assert_eq!(irq_ticks(text, Some(0)), Some(9));
        assert_eq!(irq_ticks(text, Some(1)), Some(9));
        assert_eq!(irq_ticks(text, None), Some(18), "the sum line, for unpinned runs");
        assert_eq!(irq_ticks("cpu0 1 2 3 4 5 6 7\ncpu1 1 2 3 4 5 60 70\n", Some(1)), Some(130));
        assert_eq!(irq_ticks(text, Some(2)), None);
        assert_eq!(irq_ticks("cpu0 1 2\n", Some(0)), None);
    }

    #[test]
    fn tree_takes_children_and_grandchildren_only() {
        let parents: BTreeMap<u32, u32> = [(10, 1), (11, 10), (12, 11), (13, 1), (14, 13)].into();
        let mut tree = descendants(10, &parents);
        tree.sort();
        assert_eq!(tree, [10, 11, 12]);
    }

    #[test]
    fn use_between_samples() {
        let before = Sample { process: 100, napi: 10, softirq: 5, capture_ns: 1_000_000 };
        let after = Sample { process: 250, napi: 60, softirq: 5, capture_ns: 26_000_000 };
        let used = CpuUse::between(before, after, 100);
        assert_eq!((used.process, used.napi, used.softirq, used.capture), (1.5, 0.5, 0.0, 0.025));
        assert_eq!(used.total(), 2.0);
        assert_eq!(CpuUse::between(after, before, 100).total(), 0.0, "counters never run backwards");
    }
}
