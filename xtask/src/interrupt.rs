//! Ctrl-C and SIGTERM become a flag that the waiting loops poll, so that an
//! interrupted run still stops its responder and removes its namespaces.
//!
//! A handler (rather than ignoring the signals) matters: handlers reset to the
//! default on exec, so the tools we start (cargo, apt-get, kdig) still die on
//! Ctrl-C, while ignored signals would stay ignored in them.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_signal(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM. Idempotent.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; glibc's signal() gives BSD semantics (the handler
        // stays installed and slow system calls restart).
        unsafe { libc::signal(signal, note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
