//! Talking to a service manager (systemd, or anything that speaks its
//! notification protocol): READY=1 once everything serves, RELOADING=1 and
//! READY=1 around each reload, STOPPING=1 at stop, and WATCHDOG=1 pings
//! while the data plane's workers are alive. Without `$NOTIFY_SOCKET` all of
//! it is a no-op, so `serve` behaves the same outside systemd.

pub mod notify;
pub mod watchdog;

pub use notify::Notifier;
pub use watchdog::Watchdog;
