//! Faults that only the integration tests may inject, compiled in only with
//! the `test-hooks` feature, which the tests crate turns on for the binary it
//! builds (`cargo build -p responder --features test-hooks`). A release build
//! (`cargo build --release -p responder`) has neither the code nor the
//! control-socket command that reaches it.
//!
//! Why a control-socket command rather than an environment variable or a
//! signal: the test chooses the moment (in the middle of a bounded load),
//! needs no timing guess from process start, and the request is answered, so
//! the test knows the stall was scheduled before it starts measuring.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::xdp::program::MAX_QUEUES;

/// Milliseconds each queue's worker is asked to sleep at its next loop pass.
static STALLS: [AtomicU64; MAX_QUEUES as usize] = [const { AtomicU64::new(0) }; MAX_QUEUES as usize];

/// The longest stall a test may ask for.
const MAX_STALL: Duration = Duration::from_secs(30);

/// Called by each worker at the top of every loop pass: sleeps if a stall
/// was asked for, like a worker thread descheduled or stuck in a slow call.
pub fn stall_point(queue: u32) {
    let Some(slot) = STALLS.get(queue as usize) else { return };
    let ms = slot.swap(0, Ordering::Relaxed);
    if ms > 0 {
        tracing::warn!(queue, ms, "test hook: stalling the worker");
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// The control-socket command `test-stall-worker QUEUE MS`; `None` for any
/// other request.
pub fn handle(request: &str) -> Option<Value> {
    let rest = request.strip_prefix("test-stall-worker ")?;
    let mut words = rest.split_whitespace().map(str::parse::<u64>);
    let reply = match (words.next(), words.next(), words.next()) {
        (Some(Ok(queue)), Some(Ok(ms)), None)
            if queue < u64::from(MAX_QUEUES) && ms <= MAX_STALL.as_millis() as u64 =>
        {
            STALLS[queue as usize].store(ms, Ordering::Relaxed);
            json!({"ok": true, "queue": queue, "ms": ms})
        }
        _ => json!({"ok": false, "error": "usage: test-stall-worker QUEUE MS (MS at most 30000)"}),
    };
    Some(reply)
}
