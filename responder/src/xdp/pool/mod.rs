//! The worker's frame pool: the UMEM, the two rings that lend frames to the
//! kernel and take them back (fill and completion), the [`FrameLedger`] and
//! the free stack, owned together so that only this module moves a frame
//! from one owner to another.
//!
//! Received frames come out of an [`RxBatch`] one [`RxFrame`] at a time. An
//! `RxFrame` is the only way to reach a frame's bytes mutably, and it ends
//! in exactly one of two ways, both taking it by value:
//! [`RxFrame::transmit`] puts the same address with the answer's length on
//! the TX ring (`App → Tx`), [`RxFrame::recycle`] puts it back on the free
//! stack (`App → Free`). Dropping it without either recycles it: a frame
//! forgotten by an early `return` or a `?` goes back to the pool instead of
//! leaking, which costs nothing on the normal paths (both consume it
//! without running `Drop`). Once a frame is transmitted the kernel owns it,
//! and the borrow checker makes sure nothing on our side still points at it:
//!
//! ```compile_fail,E0382
//! fn answer(socket: &mut responder::xdp::socket::XskSocket) {
//!     let mut batch = socket.rx_batch(64).unwrap();
//!     let mut frame = batch.next_frame().unwrap();
//!     frame.transmit(60);
//!     frame.bytes()[0] = 0; // the kernel's now: `frame` was moved
//! }
//! ```
//!
//! Frames come one at a time: a second frame cannot be taken while the
//! first is alive, so two frames' bytes are never borrowed together (and a
//! descriptor the kernel repeated cannot yield two `&mut` to one frame):
//!
//! ```compile_fail,E0499
//! fn answer(socket: &mut responder::xdp::socket::XskSocket) {
//!     let mut batch = socket.rx_batch(64).unwrap();
//!     let first = batch.next_frame().unwrap();
//!     let second = batch.next_frame().unwrap();
//!     first.recycle();
//!     second.recycle();
//! }
//! ```
//!
//! Nor can a packet shown for prefetching be held while a frame is taken:
//!
//! ```compile_fail,E0502
//! fn answer(socket: &mut responder::xdp::socket::XskSocket) {
//!     let mut batch = socket.rx_batch(64).unwrap();
//!     let packet = batch.packet(0).unwrap();
//!     let frame = batch.next_frame().unwrap();
//!     frame.recycle();
//!     let _ = packet[0];
//! }
//! ```
//!
//! The same steps in the allowed order compile:
//!
//! ```no_run
//! fn answer(socket: &mut responder::xdp::socket::XskSocket) {
//!     let mut batch = socket.rx_batch(64).unwrap();
//!     let _first_byte = batch.packet(0).map(|p| p[0]);
//!     while let Some(mut frame) = batch.next_frame() {
//!         frame.bytes()[0] = 0;
//!         if !frame.transmit(60) {
//!             // refused (an impossible length): recycled instead
//!         }
//!     }
//! }
//! ```
//!
//! An [`RxBatch`] hands its RX slots back to the kernel and publishes its TX
//! descriptors when it is dropped, after recycling any frame not taken, so
//! a batch left half-way loses no frame either.

use super::ring::{ConsumerRing, ProducerRing};
use super::umem::{FrameAccounting, FrameLedger, Owner, RingLevels, Umem};

/// The frames of one socket and the rings that lend them to the kernel.
pub struct FramePool {
    fill: ProducerRing<u64>,
    completion: ConsumerRing<u64>,
    ledger: FrameLedger,
    /// Frame base addresses owned by us and not in use; capacity for all
    /// frames, so pushing never allocates.
    free: Vec<u64>,
    /// Last, so the rings' mappings go before the frame memory.
    umem: Umem,
}

/// What [`FramePool::refill`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refill {
    /// The kernel had drained the fill ring empty (it may have dropped
    /// packets meanwhile).
    pub was_empty: bool,
    /// Frames on the free stack the ledger did not agree were free (never
    /// expected); they stay out of circulation.
    pub invalid: u32,
}

impl FramePool {
    /// Every frame starts free. `fill` and `completion` must be the rings of
    /// the socket `umem` is registered with (only [`super::socket`] makes
    /// pools, and the tests over heap rings).
    pub(super) fn new(umem: Umem, fill: ProducerRing<u64>, completion: ConsumerRing<u64>) -> FramePool {
        let frames = umem.frame_count();
        let free = (0..frames).rev().map(|i| umem.frame_addr(i)).collect();
        FramePool { fill, completion, ledger: FrameLedger::new(frames), free, umem }
    }

    pub fn umem(&self) -> &Umem {
        &self.umem
    }

    /// Frames `owner` holds now.
    pub fn count(&self, owner: Owner) -> u32 {
        self.ledger.count(owner)
    }

    /// Completion ring → free stack (`Tx → Free`). Returns the completions
    /// that named no frame we had lent for sending (never expected).
    pub fn recycle_completions(&mut self) -> u32 {
        let ring = &mut self.completion;
        let n = ring.peek(ring.size());
        let mut invalid = 0;
        for i in 0..n {
            let Some(addr) = ring.read(i) else { break };
            match self.umem.frame_index(addr) {
                Some(frame) if self.ledger.transfer(frame, Owner::Tx, Owner::Free).is_ok() => {
                    self.free.push(self.umem.frame_addr(frame));
                }
                _ => invalid += 1,
            }
        }
        ring.release(n);
        invalid
    }

    /// Free stack → fill ring (`Free → Fill`).
    pub fn refill(&mut self) -> Refill {
        let ring = &mut self.fill;
        let mut done = Refill { was_empty: ring.free(ring.size()) == ring.size(), invalid: 0 };
        let want = self.free.len().min(ring.size() as usize) as u32;
        if want == 0 {
            return done;
        }
        let n = ring.reserve(want);
        for i in 0..n {
            let Some(addr) = self.free.pop() else { break };
            // The frame came off our free stack, so this cannot fail; if the
            // ledger ever disagreed, the frame stays out of circulation.
            let frame = self.umem.frame_index(addr).unwrap_or(u32::MAX);
            if self.ledger.transfer(frame, Owner::Free, Owner::Fill).is_err() {
                done.invalid += 1;
                ring.submit(i);
                return done;
            }
            ring.write(i, addr);
        }
        ring.submit(n);
        done
    }

    /// Up to `want` received frames, no more than `tx` has room for, so
    /// that every answer has its TX slot. `None` when `tx` is full: the
    /// received frames then stay in `rx` until answers can be sent.
    ///
    /// Not public: the RX descriptors are trusted to name frames the kernel
    /// has finished writing, which holds only for the RX ring of the socket
    /// this pool's UMEM is registered with ([`XskSocket::rx_batch`]).
    ///
    /// [`XskSocket::rx_batch`]: super::socket::XskSocket::rx_batch
    pub(super) fn rx_batch<'a>(
        &'a mut self,
        rx: &'a mut ConsumerRing<libc::xdp_desc>,
        tx: &'a mut ProducerRing<libc::xdp_desc>,
        want: u32,
    ) -> Option<RxBatch<'a>> {
        let room = tx.reserve(want);
        if room == 0 {
            return None;
        }
        let len = rx.peek(room);
        Some(RxBatch { pool: self, rx, tx, len, next: 0, sent: 0, invalid: 0, oversized: 0 })
    }

    /// Where every frame is: the ledger reconciled with the rings' levels
    /// (`rx` and `tx` are the socket's, which the pool does not own).
    pub fn accounting(&mut self, rx_waiting: u32, tx_outstanding: u32) -> FrameAccounting {
        let levels = RingLevels {
            fill: self.fill.outstanding(),
            rx: rx_waiting,
            tx: tx_outstanding,
            completion: self.completion.peek(self.completion.size()),
        };
        FrameAccounting::reconcile(&self.ledger, levels)
    }
}

/// One batch read from the RX ring; see the module documentation.
pub struct RxBatch<'a> {
    pool: &'a mut FramePool,
    rx: &'a mut ConsumerRing<libc::xdp_desc>,
    tx: &'a mut ProducerRing<libc::xdp_desc>,
    /// Descriptors peeked from `rx`.
    len: u32,
    /// The next descriptor `next_frame` looks at.
    next: u32,
    /// TX slots written.
    sent: u32,
    invalid: u32,
    oversized: u32,
}

/// What a batch did, once it is finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Descriptors read from the RX ring.
    pub received: u32,
    /// Answers put on the TX ring.
    pub sent: u32,
    /// Descriptors not to be trusted: outside the UMEM, naming a frame not
    /// lent for receiving, or longer than their frame (never expected).
    pub invalid: u32,
    /// Of `invalid`, those longer than their frame: their frame was ours
    /// and went back to the free stack, so they count as dropped too.
    pub oversized: u32,
}

impl<'a> RxBatch<'a> {
    /// Descriptors in the batch.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Packet `i` of the batch, read only, for prefetching before any is
    /// answered: `None` once it was taken, or when its descriptor does not
    /// name a frame lent for receiving.
    #[inline]
    pub fn packet(&self, i: u32) -> Option<&[u8]> {
        if i < self.next || i >= self.len {
            return None;
        }
        let desc = self.rx.read(i)?;
        let frame = self.pool.umem.frame_index(desc.addr)?;
        // A frame on the RX ring was filled and released by the kernel; the
        // ledger still says Fill until it is taken, and any other owner means
        // a descriptor not to be trusted.
        if self.pool.ledger.owner(frame) != Some(Owner::Fill) {
            return None;
        }
        // SAFETY: the kernel handed the frame over through the RX ring, whose
        // slot we have not released, and the ledger shows it was lent for
        // receiving, so the kernel no longer writes it; `&self` keeps every
        // `RxFrame` (which borrows the batch mutably) away while this lives.
        let bytes = unsafe { self.pool.umem.frame_from(desc.addr) }?;
        bytes.get(..desc.len as usize)
    }

    /// The next frame to answer (`Fill → App`), skipping descriptors not to
    /// be trusted; `None` at the end of the batch.
    // Always inlined: called once per frame, and out of line its prologue
    // and the returned `RxFrame` cost a quarter of the pool's overhead
    // (callgrind, docs/BENCHMARKS.md).
    #[inline(always)]
    pub fn next_frame(&mut self) -> Option<RxFrame<'_>> {
        while self.next < self.len {
            let i = self.next;
            self.next += 1;
            let Some(desc) = self.rx.read(i) else { break };
            let Some(frame) = self.pool.umem.frame_index(desc.addr) else {
                self.invalid += 1;
                continue;
            };
            if self.pool.ledger.transfer(frame, Owner::Fill, Owner::App).is_err() {
                self.invalid += 1;
                continue;
            }
            let end = self.pool.umem.frame_addr(frame) + u64::from(self.pool.umem.frame_size());
            let capacity = (end - desc.addr) as usize;
            if desc.len as usize > capacity {
                self.invalid += 1;
                self.oversized += 1;
                let _ = self.pool.ledger.transfer(frame, Owner::App, Owner::Free);
                self.pool.free.push(self.pool.umem.frame_addr(frame));
                continue;
            }
            return Some(RxFrame {
                pool: &mut *self.pool,
                tx: &mut *self.tx,
                sent: &mut self.sent,
                addr: desc.addr,
                len: desc.len as usize,
                capacity,
                frame,
            });
        }
        None
    }

    /// Recycles what was not taken; the RX slots are released and the TX
    /// descriptors published when the batch is dropped, right after.
    pub fn finish(mut self) -> BatchSummary {
        self.recycle_rest();
        BatchSummary { received: self.len, sent: self.sent, invalid: self.invalid, oversized: self.oversized }
    }

    fn recycle_rest(&mut self) {
        while let Some(frame) = self.next_frame() {
            frame.recycle();
        }
    }
}

impl Drop for RxBatch<'_> {
    fn drop(&mut self) {
        self.recycle_rest();
        self.rx.release(self.len);
        self.tx.submit(self.sent);
    }
}

/// One received frame, ours (`App`) until it is transmitted or recycled.
pub struct RxFrame<'b> {
    pool: &'b mut FramePool,
    tx: &'b mut ProducerRing<libc::xdp_desc>,
    sent: &'b mut u32,
    /// The packet's first byte (the frame's base plus the kernel's headroom).
    addr: u64,
    len: usize,
    /// From `addr` to the end of the frame.
    capacity: usize,
    frame: u32,
}

impl RxFrame<'_> {
    /// The packet's length: it is `bytes()[..len()]`.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// From the packet's first byte to the end of its frame: the room an
    /// answer may use.
    #[inline]
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the ledger says App (moved by `next_frame`, and only
        // `transmit`/`recycle`, which consume `self`, move it on), so the
        // kernel neither reads nor writes this frame; the slice borrows
        // `self` mutably, so it is the only reference to the frame's bytes.
        // `next_frame` found `addr` inside the UMEM and `capacity` bytes
        // from it to the end of its frame.
        unsafe { self.pool.umem.frame_bytes_mut(self.addr, self.capacity) }
    }

    /// Sends `bytes()[..len]` from this very frame (`App → Tx`). An
    /// impossible length (0, or beyond the frame) would hand the kernel a
    /// descriptor it refuses and never completes, so the frame is recycled
    /// instead and `false` returned.
    #[inline]
    pub fn transmit(self, len: usize) -> bool {
        let capacity = self.capacity;
        let mut frame = std::mem::ManuallyDrop::new(self);
        let this: &mut RxFrame<'_> = &mut frame;
        if len == 0 || len > capacity {
            this.give_back();
            return false;
        }
        // Cannot fail: the frame is App, as `next_frame` left it.
        let _ = this.pool.ledger.transfer(this.frame, Owner::App, Owner::Tx);
        let desc = libc::xdp_desc { addr: this.addr, len: len as u32, options: 0 };
        // The batch peeked no more descriptors than it reserved TX slots.
        this.tx.write(*this.sent, desc);
        *this.sent += 1;
        true
    }

    /// Puts the frame back on the free stack (`App → Free`), unanswered.
    #[inline]
    pub fn recycle(self) {
        std::mem::ManuallyDrop::new(self).give_back();
    }

    #[inline]
    fn give_back(&mut self) {
        let _ = self.pool.ledger.transfer(self.frame, Owner::App, Owner::Free);
        self.pool.free.push(self.pool.umem.frame_addr(self.frame));
    }
}

impl Drop for RxFrame<'_> {
    /// A frame neither transmitted nor recycled goes back to the pool.
    fn drop(&mut self) {
        self.give_back();
    }
}

#[cfg(test)]
mod tests;
