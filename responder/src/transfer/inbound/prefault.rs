//! A new vector's pages faulted in on another core while this one fills it.
//!
//! An IXFR into a big zone copies every record into a new vector (`apply`):
//! at a million names 90 MB of fresh pages, and about half the copy's time
//! was the kernel zeroing them, page by page, as the copy first wrote
//! each. Asked for all at once (`MADV_POPULATE_WRITE`, Linux 5.14) on the
//! other core, the zeroing runs beside the copy instead of inside it.
//! Asked for on the copying thread itself it saved nothing (tried,
//! docs/BENCHMARKS.md).

use crate::xdp::tier0::capture::page_size;

/// Vectors smaller than this are filled before a thread would start.
const WORTH_IT: usize = 4 << 20;

/// The whole pages of a vector's unused capacity, as an address range:
/// plain numbers, so that the vector can be filled while they are populated.
pub struct Spare {
    start: usize,
    len: usize,
}

impl Spare {
    /// The pages past `v`'s length that its capacity holds whole; none
    /// when there are too few to be worth a thread.
    pub fn of<T>(v: &mut Vec<T>) -> Option<Spare> {
        let spare = v.spare_capacity_mut();
        let bytes = std::mem::size_of_val(spare);
        if bytes < WORTH_IT {
            return None;
        }
        let from = spare.as_ptr() as usize;
        let page = page_size();
        let start = from.div_ceil(page) * page;
        let end = (from + bytes) / page * page;
        (end > start).then(|| Spare { start, len: end - start })
    }

    /// Faults the pages in for writing. Never changes what any memory
    /// holds (a missing anonymous page comes zeroed, as it would at the
    /// first write; a present one is left as it is), and does nothing on
    /// a kernel without `MADV_POPULATE_WRITE` or where it fails: the
    /// copy then takes the faults itself, as before.
    pub fn populate(&self) {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: madvise reads no memory of ours and writes none: it
            // only asks the kernel to map pages in the range, which holds
            // the same contents afterwards (zeros for pages never written,
            // the bytes written for the others). An address range that is
            // not mapped, or not writable, gives an error and no effect.
            let _ = unsafe { libc::madvise(self.start as *mut libc::c_void, self.len, libc::MADV_POPULATE_WRITE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_vectors_get_no_thread() {
        let mut v: Vec<u64> = Vec::with_capacity(1000);
        assert!(Spare::of(&mut v).is_none());
    }

    #[test]
    fn the_range_is_whole_pages_inside_the_spare_capacity() {
        let mut v: Vec<u8> = Vec::with_capacity(8 << 20);
        v.extend_from_slice(&[7; 100]);
        let spare = Spare::of(&mut v).expect("8 MB is worth a thread");
        let page = page_size();
        let (from, to) = (v.as_ptr() as usize + v.len(), v.as_ptr() as usize + v.capacity());
        assert_eq!(spare.start % page, 0);
        assert_eq!(spare.len % page, 0);
        assert!(spare.start >= from && spare.start + spare.len <= to);
        assert!(spare.len >= (8 << 20) - 2 * page);
        // Populating changes nothing that was written, and the rest can be written.
        spare.populate();
        assert_eq!(v, vec![7; 100]);
        v.resize(8 << 20, 1);
        assert!(v[100..].iter().all(|&b| b == 1));
    }
}
