//! Work the compiler does per node with no node depending on another
//! (NSEC3 hashes, closest encloser proofs), spread over the host's cores:
//! each thread takes one contiguous run of the indices and the results are
//! joined in index order, so the output is the same as one thread's.

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
    let per = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..n)
            .step_by(per)
            .map(|start| scope.spawn(move || (start..(start + per).min(n)).map(f).collect::<Vec<T>>()))
            .collect();
        let mut out = Vec::with_capacity(n);
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

/// `f(0), f(1), … f(n - 1)` as an iterator, computed `batch` at a time
/// by [`map`]: all cores at work, and only one batch's results held.
pub fn batched<T: Send, F: Fn(usize) -> T + Sync>(n: usize, batch: usize, f: F) -> Batched<T, F> {
    Batched { next: 0, n, batch: batch.max(1), ready: Vec::new().into_iter(), f }
}

pub struct Batched<T, F> {
    next: usize,
    n: usize,
    batch: usize,
    ready: std::vec::IntoIter<T>,
    f: F,
}

impl<T: Send, F: Fn(usize) -> T + Sync> Iterator for Batched<T, F> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.ready.len() == 0 && self.next < self.n {
            let (first, end) = (self.next, (self.next + self.batch).min(self.n));
            let f = &self.f;
            self.ready = map(end - first, |k| f(first + k)).into_iter();
            self.next = end;
        }
        self.ready.next()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_order_as_one_thread() {
        for n in [0, 1, 5, super::SERIAL_BELOW - 1, super::SERIAL_BELOW, 3 * super::SERIAL_BELOW + 7] {
            let got = super::map(n, |i| i * 3 + 1);
            assert_eq!(got, (0..n).map(|i| i * 3 + 1).collect::<Vec<_>>(), "n = {n}");
            let got: Vec<usize> = super::batched(n, super::SERIAL_BELOW + 3, |i| i * 3 + 1).collect();
            assert_eq!(got, (0..n).map(|i| i * 3 + 1).collect::<Vec<_>>(), "batched, n = {n}");
        }
    }
}
