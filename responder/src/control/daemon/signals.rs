//! Shutdown and reload signals, received synchronously by the main thread.
//!
//! The signals are blocked before any thread starts, so every thread
//! inherits the mask and only `wait` ever sees them: no handler runs in the
//! middle of a worker's loop.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Stop,
    Reload,
}

pub struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    /// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in
    /// every thread it starts afterwards).
    pub fn block() -> std::io::Result<Signals> {
        // SAFETY: sigset_t is plain data that sigemptyset initialises; the
        // calls only read and write that set and this thread's mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            Ok(Signals { set })
        }
    }

    /// Waits for the next signal, at most `timeout`.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> Option<Signal> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `set` was initialised in `block`; `ts` outlives the call and
        // no siginfo is asked for.
        let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) };
        match sig {
            s if s == libc::SIGHUP => Some(Signal::Reload),
            s if s > 0 => Some(Signal::Stop),
            _ => None, // timeout (EAGAIN) or interrupted (EINTR)
        }
    }
}
