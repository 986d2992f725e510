//! Message size histograms with power-of-two buckets, 16 to 4096 bytes and
//! above (the bounds Knot's and dnsdist's size statistics use): the bucket
//! is found from the length's leading zeros, without a search.

/// Upper bounds of the buckets (`le`), the last one unbounded.
pub const BOUNDS: [u32; 9] = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// Buckets, the unbounded one (+Inf) last.
pub const BUCKETS: usize = BOUNDS.len() + 1;

/// The bucket of a message `len` bytes long: the first whose bound is at least `len`.
#[inline(always)]
pub fn bucket(len: usize) -> usize {
    // Bits needed for len - 1, at least 4 (16 bytes): 4 is the first bucket.
    let bits = usize::BITS - (len.saturating_sub(1) | 15).leading_zeros();
    (bits as usize - 4).min(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_length_falls_in_the_first_bucket_that_holds_it() {
        for len in 0..70_000usize {
            let want = BOUNDS.iter().position(|&b| len <= b as usize).unwrap_or(BUCKETS - 1);
            assert_eq!(bucket(len), want, "{len}");
        }
    }
}
