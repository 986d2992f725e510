//! One AF_XDP socket bound to one NIC queue, with its own UMEM and its four
//! rings, set up directly with `libc` system calls.
//!
//! Set-up order is the kernel's: register the UMEM, size the four rings,
//! query their offsets, map them, then bind. Teardown is the reverse and is
//! done by `Drop`: the socket is closed first (the kernel stops using the
//! rings and the UMEM), then the ring mappings and the UMEM are unmapped.
//!
//! Ring ownership and the frame ledger are documented in [`super::ring`] and
//! [`super::umem`]; this module only creates the pieces and wraps the few
//! system calls the worker needs (`sendto` kick, `poll`, statistics). The
//! UMEM with the fill and completion rings is the socket's [`FramePool`];
//! the RX and TX rings stay here and are reached only through
//! [`XskSocket::rx_batch`], so frames move only as the pool allows.

use std::fmt;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::pool::{FramePool, RxBatch};
use super::ring::{ConsumerRing, ProducerRing};
use super::umem::{FrameAccounting, Umem, UmemConfig};

// Socket options from <asm-generic/socket.h> (x86, arm and most others); the
// libc crate does not export them for every Linux target.
const SO_BUSY_POLL: libc::c_int = 46;
const SO_PREFER_BUSY_POLL: libc::c_int = 69;
const SO_BUSY_POLL_BUDGET: libc::c_int = 70;

/// How the socket may move frames between the NIC and the UMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroCopy {
    /// Zero-copy if the driver supports it, copy mode otherwise.
    Auto,
    /// Zero-copy or fail.
    On,
    /// Copy mode (works with every driver and with generic XDP).
    Off,
}

impl std::str::FromStr for ZeroCopy {
    type Err = String;
    fn from_str(s: &str) -> Result<ZeroCopy, String> {
        match s {
            "auto" => Ok(ZeroCopy::Auto),
            "on" => Ok(ZeroCopy::On),
            "off" => Ok(ZeroCopy::Off),
            _ => Err(format!("zero-copy must be auto, on or off, not {s:?}")),
        }
    }
}

/// The mode the kernel actually granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    ZeroCopy,
    Copy,
}

impl fmt::Display for BindMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Copy => "copy",
        })
    }
}

/// Busy polling: the worker's system calls run the driver's NAPI loop
/// instead of waiting for interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPoll {
    /// `SO_BUSY_POLL`: how long a blocking call may spin, in microseconds.
    pub usecs: u32,
    /// `SO_BUSY_POLL_BUDGET`: packets per NAPI poll.
    pub budget: u32,
}

/// Everything that shapes one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    pub umem: UmemConfig,
    /// Slots in each of the four rings (a power of two).
    pub ring_size: u32,
    pub zero_copy: ZeroCopy,
    /// `XDP_USE_NEED_WAKEUP`: the kernel tells us when a kick is needed,
    /// instead of us making a system call every batch.
    pub need_wakeup: bool,
    pub busy_poll: Option<BusyPoll>,
}

impl Default for XskConfig {
    fn default() -> XskConfig {
        XskConfig {
            umem: UmemConfig::default(),
            ring_size: 2048,
            zero_copy: ZeroCopy::Auto,
            need_wakeup: true,
            busy_poll: None,
        }
    }
}

/// Kernel counters of one socket (`XDP_STATISTICS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

/// Why a socket could not be created, with the step that failed.
#[derive(Debug, thiserror::Error)]
#[error("AF_XDP socket on ifindex {ifindex} queue {queue}: {step}: {message}")]
pub struct XskError {
    pub ifindex: u32,
    pub queue: u32,
    pub step: &'static str,
    pub message: String,
    #[source]
    pub source: io::Error,
}

/// An AF_XDP socket, its frame pool and its rings. Field order is drop
/// order: the socket closes before the memory it uses is unmapped.
pub struct XskSocket {
    fd: OwnedFd,
    rx: ConsumerRing<libc::xdp_desc>,
    tx: ProducerRing<libc::xdp_desc>,
    pool: FramePool,
    mode: BindMode,
    need_wakeup: bool,
    ifindex: u32,
    queue: u32,
}

impl XskSocket {
    /// Creates, maps and binds a socket to queue `queue` of interface `ifindex`.
    pub fn new(ifindex: u32, queue: u32, config: &XskConfig) -> Result<XskSocket, XskError> {
        let fail = |step: &'static str, source: io::Error| {
            let message = explain(step, &source, config.zero_copy);
            XskError { ifindex, queue, step, message, source }
        };
        if !config.ring_size.is_power_of_two() {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a power of two");
            return Err(fail("ring size", e));
        }
        // SAFETY: plain socket creation; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(fail("socket(AF_XDP)", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let umem = Umem::new(&config.umem).map_err(|e| fail("UMEM allocation", e))?;
        let (addr, len) = umem.area();
        let reg = libc::xdp_umem_reg {
            addr: addr as u64,
            len: len as u64,
            chunk_size: umem.frame_size(),
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        set_option(fd.as_fd(), libc::SOL_XDP, libc::XDP_UMEM_REG, &reg).map_err(|e| fail("XDP_UMEM_REG", e))?;
        for (option, step) in [
            (libc::XDP_UMEM_FILL_RING, "XDP_UMEM_FILL_RING"),
            (libc::XDP_UMEM_COMPLETION_RING, "XDP_UMEM_COMPLETION_RING"),
            (libc::XDP_RX_RING, "XDP_RX_RING"),
            (libc::XDP_TX_RING, "XDP_TX_RING"),
        ] {
            set_option(fd.as_fd(), libc::SOL_XDP, option, &config.ring_size).map_err(|e| fail(step, e))?;
        }
        let offsets: libc::xdp_mmap_offsets =
            get_option(fd.as_fd(), libc::SOL_XDP, libc::XDP_MMAP_OFFSETS).map_err(|e| fail("XDP_MMAP_OFFSETS", e))?;
        let size = config.ring_size;
        let fill = ProducerRing::map(fd.as_fd(), libc::XDP_UMEM_PGOFF_FILL_RING, &offsets.fr, size)
            .map_err(|e| fail("mmap fill ring", e))?;
        let completion = ConsumerRing::map(fd.as_fd(), libc::XDP_UMEM_PGOFF_COMPLETION_RING, &offsets.cr, size)
            .map_err(|e| fail("mmap completion ring", e))?;
        let rx = ConsumerRing::map(fd.as_fd(), libc::XDP_PGOFF_RX_RING as u64, &offsets.rx, size)
            .map_err(|e| fail("mmap RX ring", e))?;
        let tx = ProducerRing::map(fd.as_fd(), libc::XDP_PGOFF_TX_RING as u64, &offsets.tx, size)
            .map_err(|e| fail("mmap TX ring", e))?;

        if let Some(busy) = config.busy_poll {
            set_option(fd.as_fd(), libc::SOL_SOCKET, SO_PREFER_BUSY_POLL, &1i32)
                .map_err(|e| fail("SO_PREFER_BUSY_POLL", e))?;
            set_option(fd.as_fd(), libc::SOL_SOCKET, SO_BUSY_POLL, &(busy.usecs as i32))
                .map_err(|e| fail("SO_BUSY_POLL", e))?;
            set_option(fd.as_fd(), libc::SOL_SOCKET, SO_BUSY_POLL_BUDGET, &(busy.budget as i32))
                .map_err(|e| fail("SO_BUSY_POLL_BUDGET", e))?;
        }

        let wakeup = if config.need_wakeup { libc::XDP_USE_NEED_WAKEUP } else { 0 };
        let attempts: &[u16] = match config.zero_copy {
            ZeroCopy::On => &[libc::XDP_ZEROCOPY],
            ZeroCopy::Off => &[libc::XDP_COPY],
            // Asking for zero-copy explicitly (rather than flags 0) makes the
            // kernel say no instead of silently choosing, so we know.
            ZeroCopy::Auto => &[libc::XDP_ZEROCOPY, libc::XDP_COPY],
        };
        let mut result = Ok(());
        for &mode in attempts {
            result = bind_with_retry(fd.as_fd(), ifindex, queue, mode | wakeup);
            match &result {
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) && mode == libc::XDP_ZEROCOPY => continue,
                _ => break,
            }
        }
        result.map_err(|e| fail("bind", e))?;

        let options: libc::xdp_options =
            get_option(fd.as_fd(), libc::SOL_XDP, libc::XDP_OPTIONS).map_err(|e| fail("XDP_OPTIONS", e))?;
        let mode = if options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0 { BindMode::ZeroCopy } else { BindMode::Copy };
        let pool = FramePool::new(umem, fill, completion);
        Ok(XskSocket { fd, rx, tx, pool, mode, need_wakeup: config.need_wakeup, ifindex, queue })
    }

    /// The UMEM, fill and completion rings and the ledger.
    pub fn pool(&self) -> &FramePool {
        &self.pool
    }

    pub fn pool_mut(&mut self) -> &mut FramePool {
        &mut self.pool
    }

    /// Up to `want` received frames; `None` while the TX ring is full (see
    /// [`FramePool::rx_batch`]).
    pub fn rx_batch(&mut self, want: u32) -> Option<RxBatch<'_>> {
        self.pool.rx_batch(&mut self.rx, &mut self.tx, want)
    }

    /// Whether the RX ring holds a frame not yet taken.
    pub fn rx_waiting(&mut self) -> bool {
        self.rx.peek(1) > 0
    }

    /// Slots in each ring.
    pub fn ring_size(&self) -> u32 {
        self.tx.size()
    }

    /// Answers on the TX ring the kernel has not taken yet.
    pub fn tx_outstanding(&self) -> u32 {
        self.tx.outstanding()
    }

    /// The kernel asks for a `sendto` before it looks at the TX ring again.
    pub fn tx_needs_wakeup(&self) -> bool {
        self.tx.needs_wakeup()
    }

    /// Where every frame is, the ledger reconciled with all four rings.
    pub fn frame_accounting(&mut self) -> FrameAccounting {
        let rx = self.rx.peek(self.rx.size());
        let tx = self.tx.outstanding();
        self.pool.accounting(rx, tx)
    }

    pub fn mode(&self) -> BindMode {
        self.mode
    }

    pub fn queue(&self) -> u32 {
        self.queue
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether the socket was bound with `XDP_USE_NEED_WAKEUP`.
    pub fn uses_need_wakeup(&self) -> bool {
        self.need_wakeup
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// A second descriptor for the same socket (for registering it in the
    /// XDP program's socket map from another thread).
    pub fn duplicate_fd(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// Asks the kernel to process the TX ring. Never blocks; a busy or full
    /// device (`EAGAIN`, `EBUSY`, `ENOBUFS`) just means "try again later",
    /// and `ENETDOWN` is reported by the link, not by us, so all are ignored.
    pub fn kick_tx(&self) {
        // SAFETY: a zero-length send on our own socket, no buffers involved.
        unsafe { libc::sendto(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
    }

    /// Waits until RX has entries (or the fill ring wants a wakeup served),
    /// at most `timeout`. Returns whether the socket is readable.
    pub fn poll_rx(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        n > 0 && pfd.revents & libc::POLLIN != 0
    }

    /// Wakes the driver to refill its RX queue from the fill ring
    /// (zero-copy drivers with need-wakeup).
    pub fn wake_fill(&self) {
        // SAFETY: zero-length non-blocking receive on our own socket.
        unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }

    /// The kernel's drop and error counters for this socket.
    pub fn kernel_stats(&self) -> io::Result<KernelStats> {
        kernel_stats_of(self.fd.as_fd())
    }
}

/// [`XskSocket::kernel_stats`] through any descriptor of the socket (a
/// duplicate held by another thread).
pub fn kernel_stats_of(fd: BorrowedFd<'_>) -> io::Result<KernelStats> {
    let s: libc::xdp_statistics = get_option(fd, libc::SOL_XDP, libc::XDP_STATISTICS)?;
    Ok(KernelStats {
        rx_dropped: s.rx_dropped,
        rx_invalid_descs: s.rx_invalid_descs,
        tx_invalid_descs: s.tx_invalid_descs,
        rx_ring_full: s.rx_ring_full,
        rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
        tx_ring_empty_descs: s.tx_ring_empty_descs,
    })
}

impl AsFd for XskSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The kernel tears an XSK down asynchronously (RCU), so a queue freed a
/// moment ago can still be busy: retry `EBUSY` a few times.
fn bind_with_retry(fd: BorrowedFd<'_>, ifindex: u32, queue: u32, flags: u16) -> io::Result<()> {
    const ATTEMPTS: u32 = 10;
    let addr = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: flags,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: 0,
    };
    let mut attempt = 0;
    loop {
        // SAFETY: `addr` is a valid sockaddr_xdp and its exact size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_xdp).cast(),
                size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        attempt += 1;
        if err.raw_os_error() != Some(libc::EBUSY) || attempt >= ATTEMPTS {
            return Err(err);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A message that tells the operator what to do about a failed step.
fn explain(step: &str, err: &io::Error, zero_copy: ZeroCopy) -> String {
    match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => {
            "permission denied: AF_XDP needs root or CAP_NET_RAW + CAP_NET_ADMIN (+ CAP_IPC_LOCK for the UMEM)".into()
        }
        Some(libc::EAFNOSUPPORT) => "this kernel has no AF_XDP support (CONFIG_XDP_SOCKETS)".into(),
        Some(libc::EOPNOTSUPP) if step == "bind" && zero_copy == ZeroCopy::On => {
            "driver has no zero-copy; use --zero-copy auto|off".into()
        }
        Some(libc::ENOMEM) if step == "XDP_UMEM_REG" => {
            format!("{err}: cannot pin the UMEM; raise RLIMIT_MEMLOCK (ulimit -l) or grant CAP_IPC_LOCK")
        }
        Some(libc::EBUSY) if step == "bind" => {
            format!("{err}: the queue already has an AF_XDP socket (another responder running?)")
        }
        Some(libc::EINVAL) if step == "bind" => {
            format!("{err}: queue does not exist on this interface, or the interface is down")
        }
        Some(libc::ENODEV) => format!("{err}: no such interface"),
        _ => err.to_string(),
    }
}

fn set_option<T>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), size_of::<T>() as libc::socklen_t)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a fixed-size option. Only for plain-data `T` (all-zero is valid).
fn get_option<T: Copy>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    // SAFETY: `T` is a plain C struct from libc for which all-zero bytes are valid.
    let mut value: T = unsafe { std::mem::zeroed() };
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes, and `len` is a valid in/out length.
    let rc = unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, (&mut value as *mut T).cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if (len as usize) < size_of::<T>() {
        return Err(io::Error::other(format!("kernel returned {len} bytes for a {}-byte option", size_of::<T>())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_copy_flag_parses() {
        assert_eq!("auto".parse::<ZeroCopy>(), Ok(ZeroCopy::Auto));
        assert_eq!("on".parse::<ZeroCopy>(), Ok(ZeroCopy::On));
        assert_eq!("off".parse::<ZeroCopy>(), Ok(ZeroCopy::Off));
        assert!("yes".parse::<ZeroCopy>().is_err());
    }

    #[test]
    fn errors_tell_the_operator_what_to_do() {
        let eperm = io::Error::from_raw_os_error(libc::EPERM);
        assert!(explain("socket(AF_XDP)", &eperm, ZeroCopy::Auto).contains("CAP_NET_RAW"));
        let eopnotsupp = io::Error::from_raw_os_error(libc::EOPNOTSUPP);
        assert!(explain("bind", &eopnotsupp, ZeroCopy::On).contains("--zero-copy auto|off"));
    }

    #[test]
    fn bad_ring_size_is_refused_before_any_syscall() {
        let config = XskConfig { ring_size: 1000, ..XskConfig::default() };
        let err = XskSocket::new(1, 0, &config).err().expect("ring size 1000 accepted");
        assert_eq!(err.step, "ring size");
    }
}
