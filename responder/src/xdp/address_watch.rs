//! A small thread of the data plane that keeps the steering program's
//! address maps in step with its interface: on every rtnetlink link or
//! address notification, and every [`REREAD`] in case one was lost, it
//! re-reads the interface's MAC and addresses and applies the difference
//! (additions before removals, see `program/addresses.rs`).
//!
//! Re-reading rather than applying each notification keeps one code path
//! for start and change, and cannot drift from the kernel's view.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netlink::{self, ChangeEvents};
use super::program::AddressFilter;

/// How often a stop request is noticed.
const TICK: Duration = Duration::from_millis(100);
/// Re-read even without a notification this often.
const REREAD: Duration = Duration::from_secs(10);

pub struct AddressWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AddressWatcher {
    /// Subscribes to changes; call it in the interface's network namespace
    /// and before the first read, so no change falls between the two.
    pub fn subscribe() -> std::io::Result<ChangeEvents> {
        ChangeEvents::subscribe()
    }

    /// Starts following interface `ifindex` (`iface` names it in logs). The
    /// thread inherits the calling thread's network namespace.
    pub fn spawn(
        events: ChangeEvents,
        ifindex: u32,
        iface: String,
        filter: AddressFilter,
    ) -> std::io::Result<AddressWatcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("xdp-addresses".into())
            .spawn(move || watch(&events, ifindex, &iface, &filter, &stopping))?;
        Ok(AddressWatcher { stop, thread: Some(thread) })
    }
}

impl Drop for AddressWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(events: &ChangeEvents, ifindex: u32, iface: &str, filter: &AddressFilter, stop: &AtomicBool) {
    // Whatever changed between the caller's first read and the subscription.
    let mut reread_at = Instant::now();
    let mut failing = false;
    // Warned once per streak: a failure that repeats every tick is one event.
    let mut apply_failing = false;
    while !stop.load(Ordering::Relaxed) {
        let changed = match events.wait(TICK) {
            Ok(changed) => changed,
            Err(err) => {
                if !failing {
                    tracing::warn!(iface, error = %err, "address notifications failed: re-reading periodically");
                }
                failing = true;
                std::thread::sleep(TICK);
                false
            }
        };
        if !changed && Instant::now() < reread_at {
            continue;
        }
        reread_at = Instant::now() + REREAD;
        match netlink::interface_state(ifindex)
            .map_err(|e| e.to_string())
            .and_then(|state| filter.apply(&state).map_err(|e| e.to_string()))
        {
            Ok(changes) if !changes.is_empty() => {
                apply_failing = false;
                tracing::info!(
                iface,
                added = ?changes.added,
                removed = ?changes.removed,
                mac_changed = changes.mac_changed,
                left_out = changes.left_out,
                steered = ?filter.steered(),
                "interface addresses changed: steering updated"
                )
            }
            Ok(_) => apply_failing = false,
            // The interface may be going away, or (kernels before 6.5 with
            // kernel.unprivileged_bpf_disabled, after --user) map updates are
            // refused: the maps keep their last state.
            Err(err) if !apply_failing => {
                apply_failing = true;
                tracing::warn!(iface, error = %err, "following the interface's addresses: keeping the last ones")
            }
            Err(_) => {}
        }
    }
}
