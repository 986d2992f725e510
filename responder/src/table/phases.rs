//! Per-phase times of a compile, printed to stderr when the environment
//! has `RESPONDER_COMPILE_PHASES=1`: where a large compile's time goes
//! (docs/BENCHMARKS.md, issue 12), without a profiler. Each mark prints
//! the time since the previous mark on this thread: wall, this thread's
//! CPU and the whole process's CPU (its other threads' work shows as the
//! difference). Off, a mark is one relaxed load.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

/// 0: not read yet, 1: off, 2: on.
static ENABLED: AtomicU8 = AtomicU8::new(0);

fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var_os("RESPONDER_COMPILE_PHASES").is_some_and(|v| v == "1");
            ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        v => v == 2,
    }
}

#[derive(Clone, Copy)]
struct Stamp {
    wall: Instant,
    /// This thread's time on a CPU, ns (`/proc/thread-self/schedstat`).
    thread_ns: u64,
    /// The process's user + system time, all threads, ns.
    process_ns: u64,
}

thread_local! {
    static LAST: Cell<Option<Stamp>> = const { Cell::new(None) };
}

fn now() -> Stamp {
    let thread_ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    // utime and stime, fields 14 and 15, in clock ticks (100 a second on
    // Linux): after the command, which is in parentheses and may hold spaces.
    let process_ns = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let mut f = rest.split_whitespace().skip(11);
            let (u, s): (u64, u64) = (f.next()?.parse().ok()?, f.next()?.parse().ok()?);
            Some((u + s) * 10_000_000)
        })
        .unwrap_or(0);
    Stamp { wall: Instant::now(), thread_ns, process_ns }
}

/// The process's resident set now and its peak so far (`VmRSS`, `VmHWM`),
/// MB: which phase sets a compile's peak memory (issue 14).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024 / 1_000_000)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts timing on this thread (the next [`mark`] measures from here).
pub fn start() {
    if enabled() {
        LAST.set(Some(now()));
    }
}

/// Prints the time since the last mark (or [`start`]) as phase `name`.
pub fn mark(name: &str) {
    if !enabled() {
        return;
    }
    let t = now();
    if let Some(last) = LAST.get() {
        let (rss, peak) = memory();
        eprintln!(
            "compile phase {name:<28} wall {:8.3} s  thread cpu {:8.3} s  process cpu {:8.2} s  rss {rss:6} MB  peak {peak:6} MB",
            t.wall.duration_since(last.wall).as_secs_f64(),
            t.thread_ns.saturating_sub(last.thread_ns) as f64 / 1e9,
            t.process_ns.saturating_sub(last.process_ns) as f64 / 1e9,
        );
    }
    LAST.set(Some(t));
}

/// The time now when phases are printed (to time a part of a phase).
pub fn instant() -> Option<Instant> {
    enabled().then(Instant::now)
}

/// Prints a time measured inside a phase (not a mark: the phase goes on).
pub fn note(name: &str, wall: std::time::Duration) {
    if enabled() {
        eprintln!("compile phase {name:<28} wall {:8.3} s", wall.as_secs_f64());
    }
}
