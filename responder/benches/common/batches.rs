//! The worker's batch loop as the engine and overlay benches time it (and
//! callgrind counts it, `--toggle-collect='*answer_batches*'`).

use responder::engine::policy::SendAll;
use responder::engine::{answer_in_place_with, Engine, Prefetch, Scratch, Verdict};

/// As a worker answers an RX batch: each frame arrives in its own buffer and
/// is shown to the prefetcher, then the node lines are requested, then every
/// frame is answered. `n` answers over `frames` in turn (a power of two of
/// them), in batches of `bufs.len()`; gives how many were sent, and their bytes.
#[inline(never)]
pub fn answer_batches(
    engine: &Engine,
    frames: &[Vec<u8>],
    bufs: &mut [Vec<u8>],
    prefetch: &mut Prefetch,
    n: usize,
) -> (usize, usize) {
    assert!(frames.len().is_power_of_two(), "the frames are taken in turn by a mask");
    let mask = frames.len() - 1;
    let mut scratch = Scratch::default();
    let (mut tx, mut bytes, mut done) = (0, 0, 0);
    while done < n {
        let batch = (n - done).min(bufs.len());
        for (j, buf) in bufs[..batch].iter_mut().enumerate() {
            let f = &frames[(done + j) & mask];
            buf[..f.len()].copy_from_slice(f);
            prefetch.frame(engine, &buf[..f.len()]);
        }
        prefetch.finish(engine, &mut scratch);
        for (j, buf) in bufs[..batch].iter_mut().enumerate() {
            let len = frames[(done + j) & mask].len();
            let capacity = buf.len();
            if let Verdict::Transmit(out) = answer_in_place_with(engine, &mut scratch, buf, len, capacity, &mut SendAll)
            {
                tx += 1;
                bytes += out;
            }
        }
        done += batch;
    }
    (tx, bytes)
}
