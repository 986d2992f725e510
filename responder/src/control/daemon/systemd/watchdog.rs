//! WATCHDOG=1 pings while the server is healthy. systemd sets
//! `$WATCHDOG_USEC` (from the unit's WatchdogSec=) and kills the service if
//! no ping arrives within it; pinging from a thread of its own would only
//! prove that thread runs, so each ping first asks `healthy` (the data
//! plane's workers: alive and beating) and is skipped when it says no.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Notifier;

/// The pinging thread; dropping it stops the pings.
pub struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The interval systemd asks for, if it asks this process.
pub fn interval_from_env() -> Option<Duration> {
    interval(std::env::var("WATCHDOG_USEC").ok().as_deref(), std::env::var("WATCHDOG_PID").ok().as_deref())
}

/// `WATCHDOG_PID`, when set, names the process meant (a child started by
/// the service must not ping for it).
fn interval(usec: Option<&str>, pid: Option<&str>) -> Option<Duration> {
    if pid.is_some_and(|p| p.parse::<u32>().ok() != Some(std::process::id())) {
        return None;
    }
    let usec: u64 = usec?.parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec))
}

impl Watchdog {
    /// Pings every half `timeout` (as sd_watchdog_enabled(3) advises) while
    /// `healthy` returns Ok; logs its error otherwise. `healthy` is given
    /// the ping period: progress older than that is no progress.
    pub fn start(
        notifier: Notifier,
        timeout: Duration,
        healthy: impl Fn(Duration) -> Result<(), String> + Send + 'static,
    ) -> std::io::Result<Watchdog> {
        let period = timeout / 2;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("watchdog".into()).spawn(move || loop {
            match healthy(period) {
                Ok(()) => notifier.watchdog(),
                Err(why) => tracing::error!("not pinging the service watchdog: {why}"),
            }
            match stopped.recv_timeout(period) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        })?;
        Ok(Watchdog { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn the_interval_is_for_this_process_only() {
        let me = std::process::id().to_string();
        assert_eq!(interval(Some("3000000"), None), Some(Duration::from_secs(3)));
        assert_eq!(interval(Some("3000000"), Some(&me)), Some(Duration::from_secs(3)));
        assert_eq!(interval(Some("3000000"), Some("1")), None, "another process's watchdog");
        assert_eq!(interval(None, None), None);
        assert_eq!(interval(Some("0"), None), None);
        assert_eq!(interval(Some("soon"), None), None);
    }

    #[test]
    fn pings_come_while_healthy_and_stop_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let healthy = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&healthy);
        let notifier = Notifier::to(path.to_str().unwrap()).unwrap();
        let watchdog = Watchdog::start(notifier, Duration::from_millis(100), move |period| {
            assert_eq!(period, Duration::from_millis(50));
            if flag.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err("worker 0 stopped".into())
            }
        })
        .unwrap();
        let mut buf = [0u8; 64];
        let started = Instant::now();
        for _ in 0..3 {
            let n = socket.recv(&mut buf).expect("a ping every 50 ms");
            assert_eq!(&buf[..n], b"WATCHDOG=1");
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        healthy.store(false, Ordering::Relaxed);
        // At most one ping was already on its way when the flag flipped.
        std::thread::sleep(Duration::from_millis(120));
        while socket.recv(&mut buf).is_ok() {
            assert!(started.elapsed() < Duration::from_secs(3), "pings go on while unhealthy");
        }
        let stopping = Instant::now();
        drop(watchdog);
        assert!(stopping.elapsed() < Duration::from_millis(200), "drop waits at most one period");
    }
}
