//! Logs when a queue's worker goes stale (the XDP program is then passing
//! its queries to the kernel) and when it beats again. A small thread that
//! reads the liveness words a few times per stall threshold: it decides
//! nothing, the program does; it only tells the operator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::liveness::Liveness;

/// Stops and joins the watcher when dropped.
pub struct StallWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StallWatch {
    /// Watches `queues` against `threshold`, the program's own.
    pub fn start(liveness: Arc<Liveness>, queues: Vec<u32>, threshold: Duration) -> std::io::Result<StallWatch> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let period = (threshold / 4).max(Duration::from_millis(10));
        let thread = std::thread::Builder::new().name("xsk-watch".into()).spawn(move || {
            let mut stalled = vec![None::<Duration>; queues.len()];
            while !stopping.load(Ordering::Relaxed) {
                for (queue, since) in queues.iter().zip(stalled.iter_mut()) {
                    check(*queue, liveness.age(*queue), threshold, since);
                }
                std::thread::sleep(period);
            }
        })?;
        Ok(StallWatch { stop, thread: Some(thread) })
    }
}

/// One look at one queue; `stalled` holds the age first seen stale.
fn check(queue: u32, age: Option<Duration>, threshold: Duration, stalled: &mut Option<Duration>) {
    let stale = age.is_none_or(|age| age > threshold);
    match (stale, *stalled) {
        (true, None) => {
            match age {
                Some(age) => {
                    tracing::warn!("queue {queue}: worker stalled for {} ms, queries go to the kernel", age.as_millis())
                }
                None => tracing::warn!("queue {queue}: worker has not started, queries go to the kernel"),
            }
            *stalled = Some(age.unwrap_or_default());
        }
        (false, Some(_)) => {
            tracing::warn!("queue {queue}: worker resumed, XDP steering again");
            *stalled = None;
        }
        _ => {}
    }
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_reported_once_when_it_goes_stale_and_once_when_it_recovers() {
        let threshold = Duration::from_millis(200);
        let ms = Duration::from_millis;
        let mut stalled = None;
        check(0, Some(ms(10)), threshold, &mut stalled);
        assert_eq!(stalled, None);
        check(0, Some(ms(250)), threshold, &mut stalled);
        assert_eq!(stalled, Some(ms(250)), "stale past the threshold");
        check(0, Some(ms(900)), threshold, &mut stalled);
        assert_eq!(stalled, Some(ms(250)), "still the same stall");
        check(0, Some(ms(1)), threshold, &mut stalled);
        assert_eq!(stalled, None, "resumed");
        check(0, None, threshold, &mut stalled);
        assert!(stalled.is_some(), "a worker that never beat is stale too");
    }
}
