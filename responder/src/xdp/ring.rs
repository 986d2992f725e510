//! The four single-producer/single-consumer rings an AF_XDP socket shares with
//! the kernel, mapped at the offsets `XDP_MMAP_OFFSETS` reports.
//!
//! # Who owns which slot when
//!
//! Each ring is an array of `size` slots (a power of two) with a free-running
//! `u32` producer and consumer index; slot `i` is `descs[i & (size - 1)]` and
//! indices wrap around `u32` (all arithmetic is `wrapping_*`).
//!
//! - Slots in `[consumer, producer)` are owned by the **consumer** side: it may
//!   read them until it publishes a larger consumer index.
//! - Slots in `[producer, consumer + size)` are owned by the **producer** side:
//!   it may write them until it publishes a larger producer index.
//!
//! | ring       | we are   | kernel is | carries                          |
//! |------------|----------|-----------|----------------------------------|
//! | fill       | producer | consumer  | frame addresses to receive into  |
//! | RX         | consumer | producer  | `xdp_desc` of received frames    |
//! | TX         | producer | consumer  | `xdp_desc` of frames to send     |
//! | completion | consumer | producer  | addresses of frames sent         |
//!
//! Publishing is a `Release` store of our index after the slot writes (or
//! reads); observing the other side is an `Acquire` load of its index before
//! touching the slots it handed over. Both sides keep a cached copy of the
//! other's index and reload it only when the cache cannot satisfy a request,
//! so a batch costs one shared-cache-line load, not one per descriptor
//! (the design of libbpf's `xsk.h` and Firedancer's `fd_xsk`).
//!
//! Batches are two-phase: [`ProducerRing::reserve`] then `write` slots then
//! [`ProducerRing::submit`]; [`ConsumerRing::peek`] then `read` then
//! [`ConsumerRing::release`]. Nothing is visible to the kernel before
//! `submit`/`release`, so a reservation that is not used costs nothing.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Memory a ring lives in; released on drop.
enum Backing {
    Mapped {
        base: NonNull<u8>,
        len: usize,
    },
    /// Test rings: plain memory, the test plays the kernel.
    #[cfg(test)]
    Heap(#[allow(dead_code)] Box<[u64]>),
}

impl Drop for Backing {
    // Irrefutable outside tests, where `Heap` does not exist.
    #[allow(irrefutable_let_patterns)]
    fn drop(&mut self) {
        if let Backing::Mapped { base, len } = *self {
            // SAFETY: exactly the mapping made in `Shared::map`, unmapped once.
            unsafe { libc::munmap(base.as_ptr().cast(), len) };
        }
    }
}

/// Pointers into a ring's shared memory.
struct Shared<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<T>,
    size: u32,
    _backing: Backing,
}

impl<T: Copy> Shared<T> {
    /// Maps one ring of socket `fd` at page offset `pgoff`.
    fn map(fd: BorrowedFd<'_>, pgoff: u64, offsets: &libc::xdp_ring_offset, size: u32) -> io::Result<Shared<T>> {
        if !size.is_power_of_two() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("ring size {size} is not a power of two")));
        }
        let len = offsets.desc as usize + size as usize * std::mem::size_of::<T>();
        // SAFETY: a fresh shared mapping of the socket's ring, no address hint;
        // the result is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                pgoff as libc::off_t,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned a null ring"))?;
        let backing = Backing::Mapped { base, len };
        // SAFETY: the kernel guarantees its offsets lie inside the `len` bytes
        // just mapped and are suitably aligned for the index words and descriptors.
        unsafe {
            Ok(Shared {
                producer: base.add(offsets.producer as usize).cast(),
                consumer: base.add(offsets.consumer as usize).cast(),
                flags: base.add(offsets.flags as usize).cast(),
                descs: base.add(offsets.desc as usize).cast(),
                size,
                _backing: backing,
            })
        }
    }

    /// A ring in ordinary memory, laid out as `[producer, consumer, flags, pad, descs…]`
    /// in `u64` words, for tests that play the kernel's side.
    #[cfg(test)]
    fn heap(size: u32) -> Shared<T> {
        assert!(size.is_power_of_two());
        let words = 4 + (size as usize * std::mem::size_of::<T>()).div_ceil(8);
        let mut memory = vec![0u64; words].into_boxed_slice();
        let base = NonNull::new(memory.as_mut_ptr()).unwrap();
        // SAFETY: all offsets are inside `memory`, which the struct keeps alive.
        unsafe {
            Shared {
                producer: base.cast(),
                consumer: base.add(1).cast(),
                flags: base.add(2).cast(),
                descs: base.add(4).cast(),
                size,
                _backing: Backing::Heap(memory),
            }
        }
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into memory `_backing` keeps alive; the index word is
        // only ever accessed atomically, by us and by the kernel.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.flags.as_ref() }
    }

    fn write(&mut self, index: u32, value: T) {
        let slot = (index & (self.size - 1)) as usize;
        // SAFETY: `slot < size`, inside the descriptor array; the caller owns
        // the slot (producer side, reserved and not yet submitted).
        unsafe { self.descs.as_ptr().add(slot).write(value) }
    }

    fn read(&self, index: u32) -> T {
        let slot = (index & (self.size - 1)) as usize;
        // SAFETY: `slot < size`; the caller owns the slot (consumer side,
        // peeked and not yet released) so the kernel is not writing it.
        unsafe { self.descs.as_ptr().add(slot).read() }
    }
}

/// Rings in ordinary memory, and the kernel's side of them, for tests of
/// the code that drives the rings (the frame pool).
#[cfg(test)]
impl<T: Copy> ProducerRing<T> {
    pub(super) fn heap(size: u32) -> Self {
        Self::over(Shared::heap(size))
    }

    /// Entries submitted and not consumed yet, oldest first.
    pub(super) fn pending(&self) -> Vec<T> {
        let cons = self.shared.consumer().load(Ordering::Acquire);
        let prod = self.shared.producer().load(Ordering::Acquire);
        (0..prod.wrapping_sub(cons)).map(|i| self.shared.read(cons.wrapping_add(i))).collect()
    }

    /// The kernel consumes up to `n` submitted entries.
    pub(super) fn kernel_take(&self, n: u32) -> Vec<T> {
        let shared = &self.shared;
        let cons = shared.consumer().load(Ordering::Acquire);
        let prod = shared.producer().load(Ordering::Acquire);
        let n = n.min(prod.wrapping_sub(cons));
        let out = (0..n).map(|i| shared.read(cons.wrapping_add(i))).collect();
        shared.consumer().store(cons.wrapping_add(n), Ordering::Release);
        out
    }
}

#[cfg(test)]
impl<T: Copy> ConsumerRing<T> {
    pub(super) fn heap(size: u32) -> Self {
        Self::over(Shared::heap(size))
    }

    /// Entries produced and not released yet, oldest first.
    pub(super) fn pending(&self) -> Vec<T> {
        let cons = self.shared.consumer().load(Ordering::Acquire);
        let prod = self.shared.producer().load(Ordering::Acquire);
        (0..prod.wrapping_sub(cons)).map(|i| self.shared.read(cons.wrapping_add(i))).collect()
    }

    /// The kernel produces as many of `values` as there is room for and
    /// returns how many.
    pub(super) fn kernel_put(&mut self, values: &[T]) -> usize {
        let prod = self.shared.producer().load(Ordering::Relaxed);
        let cons = self.shared.consumer().load(Ordering::Acquire);
        let room = (self.shared.size - prod.wrapping_sub(cons)) as usize;
        let n = values.len().min(room);
        for (i, v) in values[..n].iter().enumerate() {
            self.shared.write(prod.wrapping_add(i as u32), *v);
        }
        self.shared.producer().store(prod.wrapping_add(n as u32), Ordering::Release);
        n
    }
}

/// A ring we fill and the kernel drains: the fill and TX rings.
pub struct ProducerRing<T> {
    shared: Shared<T>,
    /// Our producer index, published on `submit`.
    cached_prod: u32,
    /// The kernel's consumer index plus `size`: the first slot we may not write.
    cached_cons: u32,
    /// Slots reserved by the last `reserve`, from `cached_prod`.
    reserved: u32,
    _not_sync: PhantomData<*mut T>,
}

// SAFETY: the ring is a single-producer endpoint; moving it to another thread
// moves that role with it. It is deliberately not `Sync`.
unsafe impl<T: Send> Send for ProducerRing<T> {}

impl<T: Copy> ProducerRing<T> {
    /// Maps a producer ring of socket `fd`.
    pub fn map(fd: BorrowedFd<'_>, pgoff: u64, offsets: &libc::xdp_ring_offset, size: u32) -> io::Result<Self> {
        Ok(Self::over(Shared::map(fd, pgoff, offsets, size)?))
    }

    fn over(shared: Shared<T>) -> Self {
        let cached_prod = shared.producer().load(Ordering::Relaxed);
        let cached_cons = shared.consumer().load(Ordering::Acquire).wrapping_add(shared.size);
        ProducerRing { shared, cached_prod, cached_cons, reserved: 0, _not_sync: PhantomData }
    }

    pub fn size(&self) -> u32 {
        self.shared.size
    }

    /// Free slots, reloading the kernel's consumer index only when the cached
    /// view shows fewer than `want`.
    pub fn free(&mut self, want: u32) -> u32 {
        let free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free >= want {
            return free;
        }
        self.cached_cons = self.shared.consumer().load(Ordering::Acquire).wrapping_add(self.shared.size);
        self.cached_cons.wrapping_sub(self.cached_prod)
    }

    /// Reserves up to `want` slots and returns how many; write them with
    /// `write(0..n)`. A new reservation replaces an unsubmitted one.
    pub fn reserve(&mut self, want: u32) -> u32 {
        self.reserved = self.free(want).min(want);
        self.reserved
    }

    /// Writes slot `i` of the current reservation. Writing outside the
    /// reservation would hand the kernel a slot it owns, so it is ignored.
    pub fn write(&mut self, i: u32, value: T) {
        debug_assert!(i < self.reserved, "write {i} outside a reservation of {}", self.reserved);
        if i < self.reserved {
            self.shared.write(self.cached_prod.wrapping_add(i), value);
        }
    }

    /// Publishes the first `n` reserved slots to the kernel.
    pub fn submit(&mut self, n: u32) {
        debug_assert!(n <= self.reserved, "submit {n} of a reservation of {}", self.reserved);
        let n = n.min(self.reserved);
        self.cached_prod = self.cached_prod.wrapping_add(n);
        self.reserved = 0;
        self.shared.producer().store(self.cached_prod, Ordering::Release);
    }

    /// Entries submitted that the kernel has not consumed yet.
    pub fn outstanding(&self) -> u32 {
        self.cached_prod.wrapping_sub(self.shared.consumer().load(Ordering::Acquire))
    }

    /// The kernel asks to be woken (`sendto`/`poll`) before it looks at this
    /// ring again; only meaningful with `XDP_USE_NEED_WAKEUP`.
    pub fn needs_wakeup(&self) -> bool {
        self.shared.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }
}

/// A ring the kernel fills and we drain: the RX and completion rings.
pub struct ConsumerRing<T> {
    shared: Shared<T>,
    /// Our consumer index, published on `release`.
    cached_cons: u32,
    /// The kernel's producer index as last seen.
    cached_prod: u32,
    /// Entries made available by the last `peek`, from `cached_cons`.
    peeked: u32,
    _not_sync: PhantomData<*mut T>,
}

// SAFETY: as for `ProducerRing`: a single-consumer endpoint, `Send` but not `Sync`.
unsafe impl<T: Send> Send for ConsumerRing<T> {}

impl<T: Copy> ConsumerRing<T> {
    /// Maps a consumer ring of socket `fd`.
    pub fn map(fd: BorrowedFd<'_>, pgoff: u64, offsets: &libc::xdp_ring_offset, size: u32) -> io::Result<Self> {
        Ok(Self::over(Shared::map(fd, pgoff, offsets, size)?))
    }

    fn over(shared: Shared<T>) -> Self {
        let cached_cons = shared.consumer().load(Ordering::Relaxed);
        let cached_prod = shared.producer().load(Ordering::Acquire);
        ConsumerRing { shared, cached_cons, cached_prod, peeked: 0, _not_sync: PhantomData }
    }

    pub fn size(&self) -> u32 {
        self.shared.size
    }

    /// Makes up to `want` entries readable with `read(0..n)` and returns `n`;
    /// reloads the kernel's producer index only when the cache holds fewer.
    pub fn peek(&mut self, want: u32) -> u32 {
        let mut available = self.cached_prod.wrapping_sub(self.cached_cons);
        if available < want {
            self.cached_prod = self.shared.producer().load(Ordering::Acquire);
            available = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        self.peeked = available.min(want);
        self.peeked
    }

    /// Entry `i` of the last peek. Reading outside it would read a slot the
    /// kernel may be writing, so it is refused with `None`.
    pub fn read(&self, i: u32) -> Option<T> {
        debug_assert!(i < self.peeked, "read {i} outside a peek of {}", self.peeked);
        (i < self.peeked).then(|| self.shared.read(self.cached_cons.wrapping_add(i)))
    }

    /// Hands the first `n` peeked slots back to the kernel.
    pub fn release(&mut self, n: u32) {
        debug_assert!(n <= self.peeked, "release {n} of a peek of {}", self.peeked);
        let n = n.min(self.peeked);
        self.cached_cons = self.cached_cons.wrapping_add(n);
        self.peeked = 0;
        self.shared.consumer().store(self.cached_cons, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's side of a heap ring.
    fn kernel_consume<T: Copy>(ring: &ProducerRing<T>, n: u32) -> Vec<T> {
        let shared = &ring.shared;
        let cons = shared.consumer().load(Ordering::Acquire);
        let prod = shared.producer().load(Ordering::Acquire);
        let n = n.min(prod.wrapping_sub(cons));
        let out = (0..n).map(|i| shared.read(cons.wrapping_add(i))).collect();
        shared.consumer().store(cons.wrapping_add(n), Ordering::Release);
        out
    }

    fn kernel_produce<T: Copy>(ring: &mut ConsumerRing<T>, values: &[T]) {
        let prod = ring.shared.producer().load(Ordering::Relaxed);
        for (i, v) in values.iter().enumerate() {
            ring.shared.write(prod.wrapping_add(i as u32), *v);
        }
        ring.shared.producer().store(prod.wrapping_add(values.len() as u32), Ordering::Release);
    }

    /// Starts both indices at `start` so tests cross the u32 wrap.
    fn producer_at(size: u32, start: u32) -> ProducerRing<u64> {
        let shared = Shared::<u64>::heap(size);
        shared.producer().store(start, Ordering::Relaxed);
        shared.consumer().store(start, Ordering::Relaxed);
        ProducerRing::over(shared)
    }

    fn consumer_at(size: u32, start: u32) -> ConsumerRing<u64> {
        let shared = Shared::<u64>::heap(size);
        shared.producer().store(start, Ordering::Relaxed);
        shared.consumer().store(start, Ordering::Relaxed);
        ConsumerRing::over(shared)
    }

    #[test]
    fn producer_never_overruns_the_consumer() {
        let mut ring = producer_at(8, 0);
        assert_eq!(ring.reserve(5), 5);
        (0..5).for_each(|i| ring.write(i, u64::from(i)));
        ring.submit(5);
        assert_eq!(ring.reserve(5), 3, "only 3 slots left until the kernel consumes");
        ring.submit(0);
        assert_eq!(ring.outstanding(), 5);
        assert_eq!(kernel_consume(&ring, 2), vec![0, 1]);
        assert_eq!(ring.reserve(8), 5, "consumer progress is picked up when the cache runs short");
    }

    #[test]
    fn indices_wrap_around_u32() {
        let start = u32::MAX - 2;
        let mut ring = producer_at(4, start);
        for round in 0..5u64 {
            assert_eq!(ring.reserve(4), 4, "round {round}");
            (0..4).for_each(|i| ring.write(i, round * 10 + u64::from(i)));
            ring.submit(4);
            assert_eq!(kernel_consume(&ring, 4), (0..4).map(|i| round * 10 + i).collect::<Vec<_>>());
        }
        assert_eq!(ring.shared.producer().load(Ordering::Relaxed), start.wrapping_add(20));
    }

    #[test]
    fn consumer_sees_only_published_entries() {
        let mut ring = consumer_at(8, u32::MAX - 1);
        assert_eq!(ring.peek(4), 0);
        kernel_produce(&mut ring, &[7, 8, 9]);
        assert_eq!(ring.peek(2), 2);
        assert_eq!((ring.read(0), ring.read(1)), (Some(7), Some(8)));
        ring.release(2);
        assert_eq!(ring.shared.consumer().load(Ordering::Relaxed), (u32::MAX - 1).wrapping_add(2), "wrapped to 0");
        assert_eq!(ring.peek(4), 1);
        assert_eq!(ring.read(0), Some(9));
        ring.release(1);
        assert_eq!(ring.peek(4), 0);
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn out_of_window_access_is_refused() {
        let mut ring = consumer_at(8, 0);
        kernel_produce(&mut ring, &[1]);
        assert_eq!(ring.peek(4), 1);
        assert_eq!(ring.read(1), None);
    }

    #[test]
    fn need_wakeup_follows_the_flag() {
        let ring = producer_at(4, 0);
        assert!(!ring.needs_wakeup());
        ring.shared.flags().store(libc::XDP_RING_NEED_WAKEUP, Ordering::Relaxed);
        assert!(ring.needs_wakeup());
    }
}
