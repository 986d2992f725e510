//! The UMEM: one contiguous area of equal-sized frames shared with the kernel,
//! and the ledger that knows who owns each frame at every moment.
//!
//! # Who owns a frame when
//!
//! A frame always has exactly one owner, and only the owner may touch it:
//!
//! | [`Owner`]  | where the frame is                                   | who may write it |
//! |------------|------------------------------------------------------|------------------|
//! | `Free`     | on the worker's free stack                           | the worker       |
//! | `Fill`     | lent for receiving: in the fill ring, held by the driver, or written into the RX ring and not yet read | the kernel |
//! | `App`      | read from the RX ring, being answered                | the worker       |
//! | `Tx`       | lent for sending: in the TX ring, on the wire, or in the completion ring and not yet read | the kernel |
//!
//! The only legal moves are `Free → Fill` (fill ring produce), `Fill → App`
//! (RX consume), `App → Tx` (TX produce), `App → Free` (dropped query),
//! `Tx → Free` (completion consume). The ledger refuses any other move, so a
//! descriptor the kernel should not have handed back, or a frame submitted
//! twice, is caught instead of silently corrupting a packet in flight.
//! Only the worker's [`super::pool::FramePool`] holds a ledger and makes
//! these moves, and the frame bytes are reachable only through its
//! `RxFrame`: [`Umem::frame_from`] and [`Umem::frame_bytes_mut`] are
//! `unsafe fn`s whose contract is exactly this table.
//!
//! Frames are aligned chunks (`XDP_UMEM_REG` without the unaligned flag): the
//! kernel may add an offset (its headroom) to a frame's base address in RX
//! descriptors, so every address is reduced to its frame with
//! [`Umem::frame_index`] before it reaches the ledger.

use std::fmt;
use std::io;
use std::ptr::NonNull;

/// Size and number of the frames in a UMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UmemConfig {
    /// Bytes per frame: 2048 or 4096 (the kernel needs a power of two between
    /// 2048 and the page size for aligned chunks).
    pub frame_size: u32,
    /// Number of frames; enough to keep the fill ring full while the TX ring
    /// is full too, so usually `2 × ring size`.
    pub frame_count: u32,
    /// Back the area with 2 MiB huge pages when the system has them reserved
    /// (fewer TLB misses); falls back to normal pages otherwise.
    pub huge_pages: bool,
}

impl Default for UmemConfig {
    fn default() -> UmemConfig {
        UmemConfig { frame_size: 2048, frame_count: 4096, huge_pages: false }
    }
}

impl UmemConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.frame_size, 2048 | 4096) {
            return Err(format!("frame size {} is not supported: use 2048 or 4096", self.frame_size));
        }
        if self.frame_count == 0 || self.frame_count > 1 << 20 {
            return Err(format!("frame count {} is out of range 1..=1048576", self.frame_count));
        }
        Ok(())
    }

    /// Area length in bytes.
    pub fn area_len(&self) -> usize {
        self.frame_size as usize * self.frame_count as usize
    }
}

/// The frame memory: an anonymous private mapping, unmapped on drop.
pub struct Umem {
    area: NonNull<u8>,
    len: usize,
    frame_size: u32,
    frame_count: u32,
    huge_pages: bool,
}

// SAFETY: the mapping is owned by this value alone; moving it to another
// thread moves that ownership (the worker thread is its only user).
unsafe impl Send for Umem {}

impl Umem {
    pub fn new(config: &UmemConfig) -> io::Result<Umem> {
        config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let len = config.area_len();
        let mut huge_pages = false;
        let mut area = None;
        if config.huge_pages && len.is_multiple_of(2 << 20) {
            area = map_anonymous(len, libc::MAP_HUGETLB).ok();
            huge_pages = area.is_some();
            if !huge_pages {
                tracing::warn!("no huge pages available for a {len}-byte UMEM; using normal pages");
            }
        }
        let area = match area {
            Some(area) => area,
            None => map_anonymous(len, 0)?,
        };
        Ok(Umem { area, len, frame_size: config.frame_size, frame_count: config.frame_count, huge_pages })
    }

    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    pub fn huge_pages(&self) -> bool {
        self.huge_pages
    }

    /// Start address and length, for `XDP_UMEM_REG`.
    pub fn area(&self) -> (*mut u8, usize) {
        (self.area.as_ptr(), self.len)
    }

    /// Address (UMEM offset) of frame `index`'s first byte.
    pub fn frame_addr(&self, index: u32) -> u64 {
        u64::from(index) * u64::from(self.frame_size)
    }

    /// The frame an address (possibly with headroom offset) falls in, or `None`
    /// when it lies outside the area.
    pub fn frame_index(&self, addr: u64) -> Option<u32> {
        let index = addr / u64::from(self.frame_size);
        (index < u64::from(self.frame_count)).then_some(index as u32)
    }

    /// The bytes from `addr` to the end of its frame, or `None` when `addr`
    /// lies outside the area.
    ///
    /// # Safety
    ///
    /// The frame must not be written by anyone while the slice lives: it is
    /// ours ([`Owner::App`], or [`Owner::Fill`] and handed back through an RX
    /// descriptor not yet released), never one lent to the kernel, which
    /// writes frames it owns concurrently. Only [`super::pool`] calls it, under
    /// the ledger's discipline.
    pub(super) unsafe fn frame_from(&self, addr: u64) -> Option<&[u8]> {
        let (start, len) = self.frame_range(addr)?;
        // SAFETY: the range is inside the mapping (`frame_range`); the caller
        // guarantees nobody writes the frame meanwhile.
        Some(unsafe { std::slice::from_raw_parts(self.area.as_ptr().add(start), len) })
    }

    /// The `len` bytes from `addr`, writable: [`Umem::frame_from`]'s range,
    /// found once by the caller rather than again here (the hot path).
    ///
    /// # Safety
    ///
    /// `addr..addr + len` must lie inside one frame of this UMEM, that frame
    /// must be ours ([`Owner::App`]), and nothing else may refer to its bytes
    /// while the slice lives: not the kernel (a frame lent to it is read or
    /// written by the NIC at any moment) and not another slice made by this
    /// function or [`Umem::frame_from`].
    #[inline]
    pub(super) unsafe fn frame_bytes_mut(&mut self, addr: u64, len: usize) -> &mut [u8] {
        debug_assert!(addr as usize + len <= self.len);
        // SAFETY: inside the mapping and unaliased, by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.area.as_ptr().add(addr as usize), len) }
    }

    /// Offset and length of the bytes from `addr` to the end of its frame.
    fn frame_range(&self, addr: u64) -> Option<(usize, usize)> {
        let index = self.frame_index(addr)?;
        let end = self.frame_addr(index) + u64::from(self.frame_size);
        Some((addr as usize, (end - addr) as usize))
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: `area`/`len` are exactly the mapping made in `new`. The kernel
        // keeps its own page references for a registered UMEM, so unmapping
        // before the socket is fully torn down is harmless.
        unsafe { libc::munmap(self.area.as_ptr().cast(), self.len) };
    }
}

fn map_anonymous(len: usize, extra_flags: libc::c_int) -> io::Result<NonNull<u8>> {
    // SAFETY: anonymous mapping with no address hint; the result is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra_flags,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned a null UMEM"))
}

/// Who holds a frame; see the module documentation for the legal moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Owner {
    Free = 0,
    Fill = 1,
    App = 2,
    Tx = 3,
}

const OWNERS: usize = 4;

/// A move the ledger refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerError {
    pub frame: u32,
    pub expected: Owner,
    /// The frame's actual owner; `None` when there is no such frame.
    pub found: Option<Owner>,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(found) => write!(f, "frame {} expected to be {:?} but is {:?}", self.frame, self.expected, found),
            None => write!(f, "frame {} does not exist", self.frame),
        }
    }
}

/// The owner of every frame, plus a count per owner.
///
/// One byte per frame, allocated once: checking and recording a move costs a
/// load and two stores, cheap enough to stay on in release builds.
pub struct FrameLedger {
    owners: Box<[Owner]>,
    counts: [u32; OWNERS],
}

impl FrameLedger {
    /// Every frame starts `Free`.
    pub fn new(frame_count: u32) -> FrameLedger {
        let mut counts = [0; OWNERS];
        counts[Owner::Free as usize] = frame_count;
        FrameLedger { owners: vec![Owner::Free; frame_count as usize].into_boxed_slice(), counts }
    }

    /// Moves `frame` from `from` to `to`, refusing if `from` is not its owner.
    pub fn transfer(&mut self, frame: u32, from: Owner, to: Owner) -> Result<(), LedgerError> {
        let Some(owner) = self.owners.get_mut(frame as usize) else {
            return Err(LedgerError { frame, expected: from, found: None });
        };
        if *owner != from {
            return Err(LedgerError { frame, expected: from, found: Some(*owner) });
        }
        *owner = to;
        self.counts[from as usize] -= 1;
        self.counts[to as usize] += 1;
        Ok(())
    }

    pub fn owner(&self, frame: u32) -> Option<Owner> {
        self.owners.get(frame as usize).copied()
    }

    pub fn count(&self, owner: Owner) -> u32 {
        self.counts[owner as usize]
    }

    pub fn total(&self) -> u32 {
        self.owners.len() as u32
    }

    /// Recounts the per-frame owners and compares with the running counts:
    /// the two disagree only if the ledger itself is broken.
    pub fn is_consistent(&self) -> bool {
        let mut counts = [0u32; OWNERS];
        for owner in self.owners.iter() {
            counts[*owner as usize] += 1;
        }
        counts == self.counts && counts.iter().sum::<u32>() == self.total()
    }
}

/// How many entries each ring held at shutdown, read from the rings' indices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingLevels {
    pub fill: u32,
    pub rx: u32,
    pub tx: u32,
    pub completion: u32,
}

/// Where every frame was when a socket was shut down: the ledger's counts
/// reconciled with the rings' own indices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameAccounting {
    pub total: u32,
    /// On the free stack.
    pub free: u32,
    /// Lent for receiving, still in the fill ring.
    pub in_fill_ring: u32,
    /// Received, still in the RX ring (not read).
    pub in_rx_ring: u32,
    /// Lent for receiving but in no ring: held by a zero-copy driver.
    /// Always 0 in copy mode.
    pub held_by_driver: u32,
    /// Lent for sending, still in the TX ring.
    pub in_tx_ring: u32,
    /// Sent, in the completion ring (not read).
    pub in_completion_ring: u32,
    /// Lent for sending but in no ring: on its way out.
    pub tx_in_flight: u32,
    /// Held by the application: must be 0 once the worker has stopped.
    pub app: u32,
    /// The ledger agrees with itself, and no ring holds more frames than
    /// the ledger says were lent to the kernel.
    pub consistent: bool,
}

impl FrameAccounting {
    pub fn reconcile(ledger: &FrameLedger, rings: RingLevels) -> FrameAccounting {
        let lent_rx = ledger.count(Owner::Fill);
        let lent_tx = ledger.count(Owner::Tx);
        let held_by_driver = lent_rx.checked_sub(rings.fill + rings.rx);
        let tx_in_flight = lent_tx.checked_sub(rings.tx + rings.completion);
        FrameAccounting {
            total: ledger.total(),
            free: ledger.count(Owner::Free),
            in_fill_ring: rings.fill,
            in_rx_ring: rings.rx,
            held_by_driver: held_by_driver.unwrap_or(0),
            in_tx_ring: rings.tx,
            in_completion_ring: rings.completion,
            tx_in_flight: tx_in_flight.unwrap_or(0),
            app: ledger.count(Owner::App),
            consistent: ledger.is_consistent() && held_by_driver.is_some() && tx_in_flight.is_some(),
        }
    }

    /// Sum of every place a frame can be.
    pub fn accounted(&self) -> u32 {
        self.free
            + self.in_fill_ring
            + self.in_rx_ring
            + self.held_by_driver
            + self.in_tx_ring
            + self.in_completion_ring
            + self.tx_in_flight
            + self.app
    }

    /// Every frame is accounted for and none is stuck in the application.
    /// In copy mode the kernel holds no frame outside the rings, so a frame
    /// "held by the driver" or still in flight after the drain is a leak.
    pub fn balanced(&self, copy_mode: bool) -> bool {
        self.consistent
            && self.accounted() == self.total
            && self.app == 0
            && (!copy_mode || (self.held_by_driver == 0 && self.tx_in_flight == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_allows_only_the_documented_moves() {
        let mut ledger = FrameLedger::new(4);
        ledger.transfer(0, Owner::Free, Owner::Fill).unwrap();
        ledger.transfer(0, Owner::Fill, Owner::App).unwrap();
        ledger.transfer(0, Owner::App, Owner::Tx).unwrap();
        // Completing a frame that is not in TX (a duplicate completion) is refused.
        let err = ledger.transfer(1, Owner::Tx, Owner::Free).unwrap_err();
        assert_eq!(err, LedgerError { frame: 1, expected: Owner::Tx, found: Some(Owner::Free) });
        ledger.transfer(0, Owner::Tx, Owner::Free).unwrap();
        assert!(ledger.transfer(9, Owner::Free, Owner::Fill).is_err(), "out-of-range frame accepted");
        assert_eq!(ledger.count(Owner::Free), 4);
        assert!(ledger.is_consistent());
    }

    #[test]
    fn ledger_counts_follow_moves() {
        let mut ledger = FrameLedger::new(8);
        for frame in 0..6 {
            ledger.transfer(frame, Owner::Free, Owner::Fill).unwrap();
        }
        for frame in 0..3 {
            ledger.transfer(frame, Owner::Fill, Owner::App).unwrap();
        }
        ledger.transfer(0, Owner::App, Owner::Tx).unwrap();
        ledger.transfer(1, Owner::App, Owner::Free).unwrap();
        assert_eq!([Owner::Free, Owner::Fill, Owner::App, Owner::Tx].map(|o| ledger.count(o)), [3, 3, 1, 1]);
        assert_eq!(ledger.owner(2), Some(Owner::App));
        assert!(ledger.is_consistent());
    }

    #[test]
    fn accounting_reconciles_ledger_with_rings() {
        let mut ledger = FrameLedger::new(10);
        for frame in 0..6 {
            ledger.transfer(frame, Owner::Free, Owner::Fill).unwrap();
        }
        for frame in 0..2 {
            ledger.transfer(frame, Owner::Fill, Owner::App).unwrap();
            ledger.transfer(frame, Owner::App, Owner::Tx).unwrap();
        }
        // 4 lent for RX, 2 lent for TX, 4 free.
        let rings = RingLevels { fill: 3, rx: 1, tx: 1, completion: 1 };
        let copy = FrameAccounting::reconcile(&ledger, rings);
        assert_eq!(copy.accounted(), 10);
        assert!(copy.balanced(true), "{copy:?}");

        let driver = FrameAccounting::reconcile(&ledger, RingLevels { fill: 2, ..rings });
        assert_eq!(driver.held_by_driver, 1);
        assert!(driver.balanced(false), "zero-copy drivers hold frames");
        assert!(!driver.balanced(true), "copy mode holds none outside the rings");

        let overfull = FrameAccounting::reconcile(&ledger, RingLevels { fill: 5, ..rings });
        assert!(!overfull.consistent, "rings hold more than was lent");

        ledger.transfer(6, Owner::Free, Owner::Fill).unwrap();
        ledger.transfer(6, Owner::Fill, Owner::App).unwrap();
        let stuck = FrameAccounting::reconcile(&ledger, rings);
        assert_eq!(stuck.app, 1);
        assert!(!stuck.balanced(true), "a frame left in the application is a leak");
    }

    #[test]
    fn umem_maps_frames_and_resolves_addresses() {
        let config = UmemConfig { frame_size: 2048, frame_count: 16, huge_pages: false };
        let mut umem = Umem::new(&config).unwrap();
        assert_eq!(umem.frame_addr(3), 3 * 2048);
        assert_eq!(umem.frame_index(3 * 2048 + 256), Some(3));
        assert_eq!(umem.frame_index(16 * 2048), None);
        // SAFETY: this UMEM belongs to no socket, so no kernel touches it, and
        // each slice is gone before the next is made.
        unsafe {
            assert_eq!(umem.frame_from(3 * 2048 + 256).unwrap().len(), 2048 - 256, "runs to the end of the frame");
            umem.frame_bytes_mut(3 * 2048 + 256, 2048 - 256)[0] = 0xab;
            assert_eq!(umem.frame_from(3 * 2048 + 256).unwrap()[0], 0xab);
            assert!(umem.frame_from(16 * 2048).is_none());
        }
    }

    #[test]
    fn umem_config_rejects_bad_sizes() {
        assert!(UmemConfig { frame_size: 3000, ..UmemConfig::default() }.validate().is_err());
        assert!(UmemConfig { frame_count: 0, ..UmemConfig::default() }.validate().is_err());
        assert!(UmemConfig::default().validate().is_ok());
    }
}
