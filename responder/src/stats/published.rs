//! Handing counters from the thread that owns them to the threads that read
//! them, without a shared atomic read-modify-write on the hot path: only the
//! owner ever writes a cell (a plain relaxed store), readers load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters that can be flattened to a fixed array of integers.
pub trait CounterSet: Copy + Default {
    const LEN: usize;
    fn write_to(&self, out: &mut [u64]);
    fn read_from(values: &[u64]) -> Self;
}

/// One owner's counters as last published.
pub struct Published<C: CounterSet> {
    cells: Box<[AtomicU64]>,
    _set: std::marker::PhantomData<fn() -> C>,
}

impl<C: CounterSet> Default for Published<C> {
    fn default() -> Published<C> {
        Published { cells: (0..C::LEN).map(|_| AtomicU64::new(0)).collect(), _set: std::marker::PhantomData }
    }
}

/// Largest counter set; publishing goes through a stack array this long.
const MAX_COUNTERS: usize = 32;

impl<C: CounterSet> Published<C> {
    /// Called only by the owner.
    pub fn publish(&self, counters: &C) {
        let mut values = [0u64; MAX_COUNTERS];
        counters.write_to(&mut values[..C::LEN]);
        for (cell, value) in self.cells.iter().zip(values) {
            cell.store(value, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> C {
        let mut values = [0u64; MAX_COUNTERS];
        for (value, cell) in values.iter_mut().zip(self.cells.iter()) {
            *value = cell.load(Ordering::Relaxed);
        }
        C::read_from(&values[..C::LEN])
    }
}

/// The published counters of a varying set of threads (the kernel-socket
/// server's): each registers once when it starts; the lock is taken only
/// then and by readers, never per query.
pub struct Registry<C: CounterSet> {
    members: Mutex<Vec<Arc<Published<C>>>>,
}

impl<C: CounterSet> Default for Registry<C> {
    fn default() -> Registry<C> {
        Registry { members: Mutex::new(Vec::new()) }
    }
}

impl<C: CounterSet> Registry<C> {
    pub fn register(&self) -> Arc<Published<C>> {
        let cell = Arc::new(Published::default());
        self.members.lock().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&cell));
        cell
    }

    pub fn snapshots(&self) -> Vec<C> {
        self.members.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|p| p.snapshot()).collect()
    }
}
