//! Work the compiler does per node with no node depending on another
//! (NSEC3 hashes, closest encloser proofs), spread over the host's cores:
//! each thread takes one contiguous run of the indices and the results are
//! joined in index order, so the output is the same as one thread's.

use std::sync::{Condvar, Mutex, MutexGuard};

/// Below this many items one thread does it all: starting threads would
/// cost more than they save.
const SERIAL_BELOW: usize = 4096;

/// `f(0), f(1), … f(n - 1)`, in that order, computed on up to as many
/// threads as the host has cores.
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads();
    if threads < 2 || n < SERIAL_BELOW {
        return (0..n).map(f).collect();
    }
    spread(n, threads, f)
}

/// `f` of `0..n` cut into runs of `run` indices (the last one shorter),
/// in order, computed as [`map`] computes items: for items so small that
/// their results are better gathered a run at a time (one buffer per run,
/// not one per item). Whether threads start depends on the items, not on
/// how many runs they make.
pub fn map_runs<T: Send>(n: usize, run: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let run = run.max(1);
    let runs = n.div_ceil(run);
    let f = |r: usize| f(r * run..((r + 1) * run).min(n));
    let threads = threads();
    if threads < 2 || n < SERIAL_BELOW {
        return (0..runs).map(f).collect();
    }
    spread(runs, threads, f)
}

/// [`map`] on `threads` threads, this one included.
fn spread<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let per = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let runs: Vec<_> = (per..n)
            .step_by(per)
            .map(|start| scope.spawn(move || (start..(start + per).min(n)).map(f).collect::<Vec<T>>()))
            .collect();
        // The first run here, into the vector returned: the other runs'
        // results are the only copies held beside it (with two cores,
        // half the output more, not all of it).
        let mut out = Vec::with_capacity(n);
        out.extend((0..per).map(f));
        for run in runs {
            match run.join() {
                Ok(part) => out.extend(part),
                // A panic in `f` is a bug; carry it to the caller as one
                // thread would have.
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

fn threads() -> usize {
    #[cfg(test)]
    if let Some(n) = THREADS.get() {
        return n;
    }
    std::thread::available_parallelism().map_or(1, |c| c.get())
}

#[cfg(test)]
thread_local! {
    /// How many threads `map` uses, when a test says (`with_threads`).
    static THREADS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `map` called from this thread using `threads` threads,
/// whatever the host has: to compare one thread's output with several's.
#[cfg(test)]
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    THREADS.set(Some(threads));
    let r = f();
    THREADS.set(None);
    r
}

/// Hands `f(0), f(1), … f(n - 1)`, in that order, to `consume`, while
/// the host's other cores compute the items ahead of it (at most `window`
/// of them, so only so many results are held at once). The consumer
/// computes items too whenever the next one is not ready: a serial
/// consumer and the per-item work overlap instead of taking turns (a
/// batch computed on every core, then consumed on one, left the other
/// cores idle for most of a signed compile).
pub fn pipelined<T: Send, R>(
    n: usize,
    window: usize,
    f: impl Fn(usize) -> T + Sync,
    consume: impl FnOnce(&mut dyn Iterator<Item = T>) -> R,
) -> R {
    let threads = threads();
    if threads < 2 || n < SERIAL_BELOW {
        return consume(&mut (0..n).map(f));
    }
    let window = window.max(1);
    let shared = Pipeline {
        state: Mutex::new(Window {
            next: 0,
            consumed: 0,
            done: (0..window).map(|_| None).collect(),
            stopped: false,
            panic: None,
            sleepers: 0,
        }),
        changed: Condvar::new(),
        n,
        window,
    };
    let (shared, f) = (&shared, &f);
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(move || shared.work(f));
        }
        // Stops the workers however `consume` ends (done, early return, panic).
        let mut items = InOrder { shared, f, next: 0 };
        consume(&mut items)
    })
}

struct Pipeline<T> {
    state: Mutex<Window<T>>,
    /// A result stored, one taken, or the consumer gone.
    changed: Condvar,
    n: usize,
    window: usize,
}

struct Window<T> {
    /// The next index nobody has claimed.
    next: usize,
    /// How many results the consumer has taken.
    consumed: usize,
    /// Item `i`'s result at `i % window` until taken: claims stay below
    /// `consumed + window`, so no two live items share a slot.
    done: Vec<Option<T>>,
    stopped: bool,
    /// A worker's panic, carried to the consumer.
    panic: Option<Box<dyn std::any::Any + Send>>,
    /// Threads waiting on `changed`: with none, a change wakes nobody
    /// (a wake is a system call, twice per item otherwise).
    sleepers: usize,
}

impl<T> Pipeline<T> {
    fn lock(&self) -> MutexGuard<'_, Window<T>> {
        // A panic is carried by `panic`, not by the lock's poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next index to compute, once there is room for its result.
    fn claim<'a>(&'a self, mut w: MutexGuard<'a, Window<T>>) -> (MutexGuard<'a, Window<T>>, Option<usize>) {
        loop {
            if w.stopped || w.next >= self.n {
                return (w, None);
            }
            if w.next < w.consumed + self.window {
                w.next += 1;
                let i = w.next - 1;
                return (w, Some(i));
            }
            w = self.wait(w);
        }
    }

    fn wait<'a>(&'a self, mut w: MutexGuard<'a, Window<T>>) -> MutexGuard<'a, Window<T>> {
        w.sleepers += 1;
        let mut w = self.changed.wait(w).unwrap_or_else(|e| e.into_inner());
        w.sleepers -= 1;
        w
    }

    fn wake(&self, w: &Window<T>) {
        if w.sleepers > 0 {
            self.changed.notify_all();
        }
    }

    /// Computes `f(i)` unlocked and stores it.
    fn compute(&self, i: usize, f: &(impl Fn(usize) -> T + Sync)) -> MutexGuard<'_, Window<T>> {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i)));
        let mut w = self.lock();
        match result {
            Ok(t) => w.done[i % self.window] = Some(t),
            Err(e) => {
                w.stopped = true;
                w.panic.get_or_insert(e);
            }
        }
        self.wake(&w);
        w
    }

    fn work(&self, f: &(impl Fn(usize) -> T + Sync)) {
        let mut w = self.lock();
        loop {
            let (guard, claimed) = self.claim(w);
            let Some(i) = claimed else { return };
            drop(guard);
            w = self.compute(i, f);
        }
    }
}

/// The consumer's side of [`pipelined`].
struct InOrder<'p, T, F> {
    shared: &'p Pipeline<T>,
    f: &'p F,
    next: usize,
}

impl<T, F: Fn(usize) -> T + Sync> Iterator for InOrder<'_, T, F> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let p = self.shared;
        if self.next >= p.n {
            return None;
        }
        let mut w = p.lock();
        loop {
            if let Some(e) = w.panic.take() {
                drop(w);
                std::panic::resume_unwind(e);
            }
            if let Some(t) = w.done[self.next % p.window].take() {
                w.consumed += 1;
                self.next += 1;
                p.wake(&w);
                return Some(t);
            }
            // Not ready: compute the next unclaimed item rather than wait.
            let unclaimed = !w.stopped && w.next < p.n && w.next < w.consumed + p.window;
            if unclaimed {
                let (guard, claimed) = p.claim(w);
                w = match claimed {
                    Some(i) => {
                        drop(guard);
                        p.compute(i, self.f)
                    }
                    None => guard,
                };
            } else {
                w = p.wait(w);
            }
        }
    }
}

impl<T, F> Drop for InOrder<'_, T, F> {
    fn drop(&mut self) {
        let mut w = self.shared.lock();
        w.stopped = true;
        self.shared.wake(&w);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_order_as_one_thread() {
        for n in [0, 1, 5, super::SERIAL_BELOW - 1, super::SERIAL_BELOW, 3 * super::SERIAL_BELOW + 7] {
            let got = super::map(n, |i| i * 3 + 1);
            assert_eq!(got, (0..n).map(|i| i * 3 + 1).collect::<Vec<_>>(), "n = {n}");
            for window in [1, 7, super::SERIAL_BELOW + 3] {
                let got: Vec<usize> = super::pipelined(n, window, |i| i * 3 + 1, |items| items.collect());
                assert_eq!(got, (0..n).map(|i| i * 3 + 1).collect::<Vec<_>>(), "pipelined, n = {n}, window {window}");
            }
        }
    }

    #[test]
    fn runs_cover_every_index_once_in_order() {
        for n in [0, 1, 5, super::SERIAL_BELOW - 1, super::SERIAL_BELOW, 3 * super::SERIAL_BELOW + 7] {
            for run in [0, 1, 3, 256, n + 1] {
                for threads in [1, 2, 3] {
                    let runs = super::with_threads(threads, || super::map_runs(n, run, |r| r.collect::<Vec<_>>()));
                    assert!(runs.iter().all(|r| !r.is_empty() && r.len() <= run.max(1)), "n {n}, run {run}");
                    let flat: Vec<usize> = runs.into_iter().flatten().collect();
                    assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n {n}, run {run}, {threads} threads");
                }
            }
        }
    }

    #[test]
    fn a_consumer_that_stops_early_stops_the_workers() {
        let n = 4 * super::SERIAL_BELOW;
        let computed = std::sync::atomic::AtomicUsize::new(0);
        let first: Vec<usize> = super::pipelined(
            n,
            16,
            |i| {
                computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i
            },
            |items| items.take(10).collect(),
        );
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        // The window bounds how far ahead the workers got.
        assert!(computed.into_inner() <= 10 + 16 + 2, "workers ran past the window");
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let n = 2 * super::SERIAL_BELOW;
        let caught = std::panic::catch_unwind(|| {
            super::with_threads(2, || {
                super::pipelined(n, 64, |i| if i == n / 2 { panic!("item {i}") } else { i }, |items| items.count())
            })
        });
        assert!(caught.is_err());
    }
}
