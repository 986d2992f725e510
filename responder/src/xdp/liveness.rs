//! Per-queue liveness words, shared with the steering program: each worker
//! stores the time of its last sign of progress in its queue's word, and the
//! program passes a queue's queries to the kernel once that word is older
//! than the stall threshold. A stopped, hung or never-started worker then
//! costs latency, not answers.
//!
//! The words live in the program's `liveness` map, created BPF_F_MMAPABLE
//! and mapped here, so a beat is a clock read (vDSO, no system call) and a
//! plain store. Times are CLOCK_MONOTONIC nanoseconds, the clock of the
//! program's bpf_ktime_get_ns().

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::tier0::capture::page_size;

/// The mapped words of one loaded program; the mapping keeps the map alive
/// even after the program and its descriptors are gone.
pub struct Liveness {
    words: NonNull<AtomicU64>,
    len: usize,
    mapped_bytes: usize,
}

// SAFETY: the mapping is owned by this value and only ever accessed through
// `&AtomicU64`, which is Sync; the kernel side reads and writes it atomically
// too (aligned 8-byte words).
unsafe impl Send for Liveness {}
// SAFETY: as above.
unsafe impl Sync for Liveness {}

impl Liveness {
    /// Maps the `entries` u64 words of the BPF_F_MMAPABLE array map `map`.
    pub(crate) fn map(map: BorrowedFd<'_>, entries: u32) -> io::Result<Liveness> {
        let len = entries as usize;
        let page = page_size();
        let mapped_bytes = (len * size_of::<u64>()).div_ceil(page).max(1) * page;
        // SAFETY: a fresh shared mapping of a map descriptor we hold; the
        // kernel checks the size against the map and the flags against its
        // BPF_F_MMAPABLE. The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let words = NonNull::new(ptr.cast::<AtomicU64>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Liveness { words, len, mapped_bytes })
    }

    fn word(&self, queue: u32) -> Option<&AtomicU64> {
        let index = queue as usize;
        // SAFETY: index < len words lie inside the page-aligned mapping,
        // which lives as long as `self`; AtomicU64 has u64's layout.
        (index < self.len).then(|| unsafe { &*self.words.as_ptr().add(index) })
    }

    /// Marks `queue`'s worker as alive now. Out-of-range queues are ignored
    /// (the loader refuses them before any worker starts).
    pub fn beat(&self, queue: u32) {
        if let Some(word) = self.word(queue) {
            word.store(monotonic_ns(), Ordering::Relaxed);
        }
    }

    /// How long ago `queue`'s worker last beat; `None` if it never did.
    pub fn age(&self, queue: u32) -> Option<Duration> {
        let last = self.word(queue)?.load(Ordering::Relaxed);
        (last != 0).then(|| Duration::from_nanos(monotonic_ns().saturating_sub(last)))
    }

    /// Stores `ns` as `queue`'s last beat: for tests that need a stale word.
    #[cfg(test)]
    pub(crate) fn set_raw(&self, queue: u32, ns: u64) {
        if let Some(word) = self.word(queue) {
            word.store(ns, Ordering::Relaxed);
        }
    }
}

impl Drop for Liveness {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no reference into
        // it can outlive `self`.
        unsafe { libc::munmap(self.words.as_ptr().cast(), self.mapped_bytes) };
    }
}

/// One worker's handle on its queue's word.
#[derive(Clone)]
pub struct Heartbeat {
    liveness: Arc<Liveness>,
    queue: u32,
}

impl Heartbeat {
    pub fn new(liveness: Arc<Liveness>, queue: u32) -> Heartbeat {
        Heartbeat { liveness, queue }
    }

    pub fn beat(&self) {
        self.liveness.beat(self.queue);
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec we own; CLOCK_MONOTONIC
    // always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(now.tv_nsec as u64)
}
