//! The XDP steering program (`ebpf/xdp_dns.c`) from user space: load it with
//! the port and listen address sets, attach it to an interface through a
//! bpf_link (reading the interface's MAC and addresses first), register each
//! queue's AF_XDP socket, and read its counters.
//!
//! The attachment is a bpf_link owned by this process: when the process
//! exits, however it exits, the kernel detaches the program, so a crashed
//! server never leaves port 53 steered into sockets nobody reads.

use std::ffi::CString;
use std::net::IpAddr;
use std::os::fd::{AsFd as _, AsRawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aya::maps::{Array, MapData, PerCpuArray, XskMap};
use aya::programs::xdp::XdpLink;
use aya::programs::{Link as _, TestRun as _, TestRunOptions, Xdp};
use aya::util::KernelVersion;
use aya::{Ebpf, EbpfLoader};

mod addresses;
mod counters;
mod error;

use super::liveness::Liveness;
use super::tier0::capture::{CaptureSettings, Tier0CaptureMaps};
use super::tier0::rrl::RrlGlobals;
use super::tier0::stats::{Cells as Tier0Cells, Tier0Stats};
use super::tier0::Tier0Maps;
use crate::rrl::RrlConfig;
pub use addresses::{AddressChanges, AddressFilter};
pub use counters::{Outcome, SteeringCounters, MAX_ADDRS, MAX_QUEUES};
use error::errno_in_chain;
pub(crate) use error::privilege_error;
pub use error::XdpProgramError;

#[cfg(test)]
mod tests;

pub type Result<T, E = XdpProgramError> = std::result::Result<T, E>;

/// Built from `ebpf/xdp_dns.c` by `build.rs`.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xdp_dns.o"));

const PROGRAM_NAME: &str = "xdp_dns_steer";

/// bpf_link attachment for XDP arrived in Linux 5.9; without it the program
/// would outlive a crashed process.
const MIN_KERNEL_FOR_BPF_LINK: KernelVersion = KernelVersion::new(5, 9, 0);

/// Frames the kernel's BPF_PROG_TEST_RUN accepts for XDP: at least an
/// Ethernet header, at most a page minus XDP headroom and shared-info tailroom.
pub(crate) const TEST_FRAME_MIN: usize = 14;
pub(crate) const TEST_FRAME_MAX: usize = 4096 - 256 - 320;

/// Which frames the program steers to AF_XDP sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SteeringConfig {
    /// Destination UDP ports; must not be empty.
    pub ports: Vec<u16>,
    /// Listen addresses: a query is steered only to one of them. The
    /// unspecified address of a family (0.0.0.0, ::) stands for every address
    /// the interface has of that family, as netlink reports it and follows
    /// it; a family with no listen address is not steered. Empty means both
    /// wildcards.
    pub addrs: Vec<IpAddr>,
    /// A queue whose worker has not shown progress for this long goes to
    /// the kernel until it does (see [`Liveness`]). Zero turns the check
    /// off: a stopped worker then black-holes its queue, as before.
    pub stall_threshold: Duration,
    /// Load the tier-0 code (`xdp::tier0`): the program then answers what
    /// its tier-0 maps hold. Where the verifier refuses it, the program
    /// loads without, and says why ([`XdpProgram::tier0_refused`]).
    pub tier0: bool,
    /// Rate limiting for the tier-0 answers, the workers' settings
    /// (`xdp::tier0::rrl`); unused without `tier0`. Where the kernel
    /// refuses it, tier 0 is off, as it is without rate limiting.
    pub rrl: Option<RrlConfig>,
    /// Capture of the tier-0 answers (`xdp::tier0::capture`); unused
    /// without `tier0`. Where the kernel refuses it (no ring buffers, a
    /// verifier that rejects the code), tier 0 loads without capture and
    /// says why ([`XdpProgram::tier0_capture_refused`]).
    pub capture: Option<CaptureSettings>,
}

/// The stall threshold's default and bounds. Above the workers' 10 ms poll
/// timeout with a wide margin, so only a worker that truly stops goes stale.
pub const STALL_THRESHOLD_DEFAULT: Duration = Duration::from_millis(200);
pub const STALL_THRESHOLD_MIN: Duration = Duration::from_millis(50);
pub const STALL_THRESHOLD_MAX: Duration = Duration::from_secs(60);

impl Default for SteeringConfig {
    fn default() -> Self {
        SteeringConfig {
            ports: vec![53],
            addrs: Vec::new(),
            stall_threshold: STALL_THRESHOLD_DEFAULT,
            tier0: false,
            rrl: None,
            capture: None,
        }
    }
}

/// Every address of both families.
const WILDCARDS: [IpAddr; 2] =
    [IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)];

impl SteeringConfig {
    fn validate(&self) -> Result<()> {
        if self.ports.is_empty() {
            return Err(XdpProgramError::InvalidConfig { reason: "no UDP port to steer".into() });
        }
        let v4 = self.addrs.iter().filter(|a| a.is_ipv4()).count();
        let v6 = self.addrs.len() - v4;
        if v4.max(v6) > MAX_ADDRS as usize {
            return Err(XdpProgramError::InvalidConfig {
                reason: format!("{v4} IPv4 and {v6} IPv6 addresses: at most {MAX_ADDRS} per family"),
            });
        }
        let threshold = self.stall_threshold;
        if !threshold.is_zero() && !(STALL_THRESHOLD_MIN..=STALL_THRESHOLD_MAX).contains(&threshold) {
            return Err(XdpProgramError::InvalidConfig {
                reason: format!(
                    "stall threshold {threshold:?} outside {STALL_THRESHOLD_MIN:?}..={STALL_THRESHOLD_MAX:?} \
                     (0 turns the check off)"
                ),
            });
        }
        if let Err(e) = RrlGlobals::new(self.rrl.as_ref()) {
            return Err(XdpProgramError::InvalidConfig { reason: e.to_string() });
        }
        Ok(())
    }

    /// The listen addresses with empty spelled out as both wildcards.
    pub fn listen(&self) -> &[IpAddr] {
        if self.addrs.is_empty() {
            &WILDCARDS
        } else {
            &self.addrs
        }
    }
}

/// How to attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// Native if the driver supports it, else generic with a warning.
    #[default]
    Auto,
    /// In the driver: required for zero-copy AF_XDP and full speed.
    Native,
    /// In the kernel stack after skb allocation: works everywhere, slowly.
    Generic,
}

impl std::str::FromStr for XdpMode {
    type Err = String;
    fn from_str(s: &str) -> Result<XdpMode, String> {
        match s {
            "auto" => Ok(XdpMode::Auto),
            "native" => Ok(XdpMode::Native),
            "generic" => Ok(XdpMode::Generic),
            _ => Err(format!("XDP mode must be auto, native or generic, not {s:?}")),
        }
    }
}

/// How the program ended up attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachedMode {
    Native,
    Generic,
}

impl AttachedMode {
    pub(crate) fn aya_mode(self) -> aya::programs::XdpMode {
        match self {
            AttachedMode::Native => aya::programs::XdpMode::Driver,
            AttachedMode::Generic => aya::programs::XdpMode::Skb,
        }
    }
}

/// An XDP program's verdict (`enum xdp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAction {
    Aborted,
    Drop,
    Pass,
    Tx,
    Redirect,
}

impl XdpAction {
    pub(crate) fn from_raw(action: u32) -> Result<XdpAction> {
        Ok(match action {
            0 => XdpAction::Aborted,
            1 => XdpAction::Drop,
            2 => XdpAction::Pass,
            3 => XdpAction::Tx,
            4 => XdpAction::Redirect,
            other => return Err(XdpProgramError::UnknownAction(other)),
        })
    }
}

struct Attachment {
    /// Dropping the link detaches the program.
    link: XdpLink,
    interface: String,
    mode: AttachedMode,
}

/// The loaded steering program, its maps, and its attachment if any.
pub struct XdpProgram {
    // Declared first so it drops first: detach before the program goes away.
    attachment: Option<Attachment>,
    sockets: XskMap<MapData>,
    counters: PerCpuArray<MapData, u64>,
    liveness: Arc<Liveness>,
    addresses: AddressFilter,
    /// The tier-0 maps when the tier-0 code is loaded.
    tier0: Option<Arc<Mutex<Tier0Maps>>>,
    /// Why the tier-0 code was asked for but not loaded.
    tier0_refused: Option<String>,
    /// The program's counts of its tier-0 answers, when tier 0 is loaded.
    tier0_stats: Option<Tier0Stats>,
    /// The capture ring and losses, when tier 0 is loaded with capture.
    tier0_capture: Option<Mutex<Tier0CaptureMaps>>,
    /// Why capture of the tier-0 answers was asked for but is off.
    tier0_capture_refused: Option<String>,
    ebpf: Ebpf,
}

impl XdpProgram {
    /// Loads and verifies the program with `config` baked in. Needs the
    /// privileges of [`XdpProgramError::PermissionDenied`].
    pub fn load(config: &SteeringConfig) -> Result<XdpProgram> {
        XdpProgram::load_object_bytes(config, OBJECT)
    }

    /// [`XdpProgram::load`] with another build of `ebpf/xdp_dns.c` (the
    /// same maps and globals): for `benches/tier0.rs`, which times builds
    /// of the program cut short at each step of a tier-0 answer.
    #[doc(hidden)]
    pub fn load_object_bytes(config: &SteeringConfig, object: &[u8]) -> Result<XdpProgram> {
        config.validate()?;
        raise_memlock_limit();

        let with_rrl = if config.rrl.is_some() { " with rate limiting" } else { "" };
        let mut capture = config.capture.filter(|_| config.tier0);
        let mut tier0_capture_refused = None;
        if capture.is_some() {
            if let Some(why) = ring_buffers_missing() {
                tracing::warn!("{why}; the answers tier 0 gives are not captured");
                tier0_capture_refused = Some(why);
                capture = None;
            }
        }
        let first = match load_object(config, config.tier0, capture, object) {
            // The capture code refused: tier 0 without it is still worth having.
            Err(XdpProgramError::ProgramLoad { source }) if capture.is_some() => {
                let why = format!("the kernel refused the tier-0 capture code: {}", verifier_summary(&source));
                tracing::warn!("{why}; the answers tier 0 gives are not captured");
                tier0_capture_refused = Some(why);
                capture = None;
                load_object(config, config.tier0, None, object)
            }
            other => other,
        };
        let (mut ebpf, tier0_refused) = match first {
            // A verifier that refuses the tier-0 code (an older kernel)
            // costs tier 0, not the data plane. Rate limiting is part of
            // that code: tier 0 never runs without the limits asked for.
            Err(XdpProgramError::ProgramLoad { source }) if config.tier0 => {
                let reason = format!("the kernel refused the tier-0 code{with_rrl}: {}", verifier_summary(&source));
                tracing::warn!("{reason}; XDP answers (tier 0) are off");
                (load_object(config, false, None, object)?, Some(reason))
            }
            // The rate limiter's table (per CPU) could not be allocated.
            Err(XdpProgramError::Load { source }) if config.tier0 && config.rrl.is_some() => {
                let reason = format!("cannot create the tier-0 rate-limiting map: {source}");
                tracing::warn!("{reason}; XDP answers (tier 0) are off");
                (load_object(config, false, None, object)?, Some(reason))
            }
            other => (other?, None),
        };

        configure_ports(&mut ebpf, &config.ports)?;
        // Empty until the interface is known: nothing is steered before.
        let addresses = AddressFilter::take(&mut ebpf, config.listen())?;

        let sockets: XskMap<MapData> = take_map(&mut ebpf, "xsks")?;
        let counters: PerCpuArray<MapData, u64> = take_map(&mut ebpf, "counters")?;
        expect_len("xsks", sockets.len(), MAX_QUEUES)?;
        expect_len("counters", counters.len(), Outcome::COUNT)?;
        let liveness = Arc::new(map_liveness(&ebpf)?);
        let tier0 = if config.tier0 && tier0_refused.is_none() {
            Some(Arc::new(Mutex::new(Tier0Maps::take(&mut ebpf)?)))
        } else {
            None
        };
        let tier0_stats = if tier0.is_some() { Some(Tier0Stats::take(&mut ebpf)?) } else { None };
        if tier0.is_none() && config.capture.is_some() && tier0_capture_refused.is_none() {
            tier0_capture_refused = Some("tier 0 is not loaded".into());
        }
        let tier0_capture = match capture.filter(|_| tier0.is_some()) {
            Some(_) => Some(Mutex::new(Tier0CaptureMaps::take(&mut ebpf)?)),
            None => None,
        };

        Ok(XdpProgram {
            attachment: None,
            sockets,
            counters,
            liveness,
            addresses,
            tier0,
            tier0_refused,
            tier0_stats,
            tier0_capture,
            tier0_capture_refused,
            ebpf,
        })
    }

    /// The tier-0 maps, when the tier-0 code is loaded: shared, so that a
    /// reload can publish a new generation while the program serves.
    pub fn tier0(&self) -> Option<Arc<Mutex<Tier0Maps>>> {
        self.tier0.clone()
    }

    /// Why tier 0 was asked for and is not loaded (the verifier's reason).
    pub fn tier0_refused(&self) -> Option<&str> {
        self.tier0_refused.as_deref()
    }

    /// The ring of the sampled tier-0 answers, for the one reader that
    /// takes it (`xdp::tier0::capture::Tier0CaptureReader`); `None` without
    /// capture, or once taken.
    pub fn take_tier0_capture_ring(&self) -> Option<aya::maps::RingBuf<MapData>> {
        self.tier0_capture.as_ref()?.lock().unwrap_or_else(|e| e.into_inner()).ring.take()
    }

    /// Gives back a ring [`XdpProgram::take_tier0_capture_ring`] took (the
    /// bench drains it between runs).
    #[doc(hidden)]
    pub fn put_back_tier0_capture_ring(&self, ring: aya::maps::RingBuf<MapData>) {
        if let Some(c) = &self.tier0_capture {
            c.lock().unwrap_or_else(|e| e.into_inner()).ring = Some(ring);
        }
    }

    /// Sampled tier-0 answers lost because the ring was full, summed over
    /// CPUs; `None` without capture.
    pub fn tier0_capture_lost(&self) -> Option<Result<u64>> {
        self.tier0_capture.as_ref().map(|c| c.lock().unwrap_or_else(|e| e.into_inner()).lost())
    }

    /// Why capture of the tier-0 answers was asked for and is off.
    pub fn tier0_capture_refused(&self) -> Option<&str> {
        self.tier0_capture_refused.as_deref()
    }

    /// The program's counts of its own answers, summed over CPUs; `None`
    /// when tier 0 is not loaded.
    pub fn tier0_counters(&self) -> Option<Result<Tier0Cells>> {
        self.tier0_stats.as_ref().map(Tier0Stats::read)
    }

    /// Attaches to the interface named `interface` in the calling thread's
    /// network namespace. See [`XdpMode`] for the choice of mode.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<AttachedMode> {
        let ifindex = interface_index(interface)?;
        self.attach_index(ifindex, interface, mode)
    }

    /// Like [`XdpProgram::attach`], by interface index.
    pub fn attach_to_index(&mut self, ifindex: u32, mode: XdpMode) -> Result<AttachedMode> {
        self.attach_index(ifindex, &format!("ifindex {ifindex}"), mode)
    }

    fn attach_index(&mut self, ifindex: u32, interface: &str, mode: XdpMode) -> Result<AttachedMode> {
        if let Some(existing) = &self.attachment {
            return Err(XdpProgramError::AlreadyAttachedHere { interface: existing.interface.clone() });
        }
        require_bpf_link_kernel()?;
        self.learn_interface(ifindex, interface)?;
        let attached = match mode {
            XdpMode::Native => self.attach_in(ifindex, interface, AttachedMode::Native)?,
            XdpMode::Generic => self.attach_in(ifindex, interface, AttachedMode::Generic)?,
            XdpMode::Auto => match self.attach_in(ifindex, interface, AttachedMode::Native) {
                Err(XdpProgramError::NativeUnsupported { .. }) => {
                    tracing::warn!(
                        interface,
                        "driver has no native XDP: attaching in generic mode, which is much slower \
                         and rules out zero-copy AF_XDP"
                    );
                    self.attach_in(ifindex, interface, AttachedMode::Generic)?
                }
                other => other?,
            },
        };
        tracing::info!(interface, mode = ?attached, "XDP steering program attached");
        Ok(attached)
    }

    fn attach_in(&mut self, ifindex: u32, interface: &str, mode: AttachedMode) -> Result<AttachedMode> {
        let program = xdp_mut(&mut self.ebpf)?;
        let link = program
            .attach_to_if_index(ifindex, mode.aya_mode())
            .and_then(|id| program.take_link(id))
            .map_err(|source| attach_error(source, interface, mode))?;
        self.attachment = Some(Attachment { link, interface: interface.to_owned(), mode });
        Ok(mode)
    }

    /// Reads the interface's MAC and addresses into the maps, so that the
    /// first frame after attaching is already judged against them.
    fn learn_interface(&self, ifindex: u32, interface: &str) -> Result<()> {
        let state = super::netlink::interface_state(ifindex).map_err(|source| match source.raw_os_error() {
            Some(libc::ENODEV) => XdpProgramError::NoSuchInterface { name: interface.to_owned() },
            _ => XdpProgramError::InterfaceState { interface: interface.to_owned(), source },
        })?;
        let changes = self.addresses.apply(&state)?;
        let not_here = super::own_addresses::listen_not_on_interface(&self.addresses.listen(), &state);
        if !not_here.is_empty() {
            tracing::warn!(interface, addresses = ?not_here, "listen addresses not on the interface: steered all the same");
        }
        if state.mac.is_none() {
            tracing::warn!(interface, "the interface has no MAC address: no query will be steered");
        }
        if changes.left_out > 0 {
            tracing::warn!(interface, left_out = changes.left_out, max = MAX_ADDRS, "too many addresses for the map");
        }
        Ok(())
    }

    /// The program's address maps, for keeping them in step with the
    /// interface (and for tests that run the program without attaching).
    pub fn addresses(&self) -> AddressFilter {
        self.addresses.clone()
    }

    /// Detaches from the interface; a no-op when not attached.
    pub fn detach(&mut self) -> Result<()> {
        let Some(attachment) = self.attachment.take() else {
            return Ok(());
        };
        attachment
            .link
            .detach()
            .map_err(|source| XdpProgramError::Attach { interface: attachment.interface.clone(), source })?;
        tracing::info!(interface = attachment.interface, "XDP steering program detached");
        Ok(())
    }

    /// The interface and mode the program is attached with, if attached.
    pub fn attachment(&self) -> Option<(&str, AttachedMode)> {
        self.attachment.as_ref().map(|a| (a.interface.as_str(), a.mode))
    }

    /// The kernel's id for the loaded program (as `bpftool prog` and
    /// `ip link` show it).
    pub fn kernel_id(&self) -> Result<u32> {
        let program: &Xdp = xdp(&self.ebpf)?;
        let info = program.info().map_err(|source| XdpProgramError::Query { source })?;
        Ok(info.id())
    }

    /// The per-queue liveness words the program checks before steering.
    pub fn liveness(&self) -> &Arc<Liveness> {
        &self.liveness
    }

    /// Steers queue `queue`'s queries to the AF_XDP socket `xsk`, which must
    /// be bound to that queue and have an RX ring.
    pub fn register_socket(&mut self, queue: u32, xsk: impl AsRawFd) -> Result<()> {
        check_queue(queue)?;
        self.sockets.set(queue, xsk.as_raw_fd(), 0).map_err(|source| match errno_in_chain(&source) {
            Some(libc::EOPNOTSUPP | libc::ENOTSOCK | libc::EBADF) => XdpProgramError::NotAnXdpSocket { queue },
            _ => privilege_error("registering an AF_XDP socket", &source)
                .unwrap_or(XdpProgramError::Map { action: "registering an AF_XDP socket", source }),
        })
    }

    /// Stops steering queue `queue`: its queries go to the kernel again.
    /// Unregistering a queue without a socket is not an error.
    pub fn unregister_socket(&mut self, queue: u32) -> Result<()> {
        check_queue(queue)?;
        match self.sockets.unset(queue) {
            Ok(()) => Ok(()),
            Err(source) if errno_in_chain(&source) == Some(libc::ENOENT) => Ok(()),
            Err(source) => Err(XdpProgramError::Map { action: "unregistering an AF_XDP socket", source }),
        }
    }

    /// Per-outcome frame counts, summed over CPUs. Not for the hot path: one
    /// syscall per outcome.
    pub fn counters(&self) -> Result<SteeringCounters> {
        let mut totals = [0u64; Outcome::ALL.len()];
        for (total, outcome) in totals.iter_mut().zip(Outcome::ALL) {
            let per_cpu = self
                .counters
                .get(&outcome.index(), 0)
                .map_err(|source| XdpProgramError::Map { action: "reading the steering counters", source })?;
            *total = per_cpu.iter().fold(0u64, |sum, n| sum.wrapping_add(*n));
        }
        Ok(SteeringCounters::from_totals(totals))
    }

    /// Runs the program once over `frame` with BPF_PROG_TEST_RUN (as if
    /// received on queue 0) and returns its verdict. Counters count the run.
    pub fn test_run(&self, frame: &[u8]) -> Result<XdpAction> {
        if !(TEST_FRAME_MIN..=TEST_FRAME_MAX).contains(&frame.len()) {
            return Err(XdpProgramError::TestFrameSize { len: frame.len(), min: TEST_FRAME_MIN, max: TEST_FRAME_MAX });
        }
        let program = xdp(&self.ebpf)?;
        let options = TestRunOptions { data_in: Some(frame), ..TestRunOptions::new() };
        let result = program.test_run(options).map_err(|source| {
            privilege_error("running the XDP program", &source).unwrap_or(XdpProgramError::TestRun { source })
        })?;
        XdpAction::from_raw(result.return_value)
    }

    /// [`XdpProgram::test_run`], also returning the frame as the program
    /// left it (an answer, for tier 0).
    pub fn test_run_frame(&self, frame: &[u8]) -> Result<(XdpAction, Vec<u8>)> {
        self.test_run_timed(frame).map(|(action, out, _)| (action, out))
    }

    /// [`XdpProgram::test_run_frame`], also returning the kernel's measure
    /// of the run (the program alone, in nanoseconds' resolution).
    pub fn test_run_timed(&self, frame: &[u8]) -> Result<(XdpAction, Vec<u8>, Duration)> {
        test_run_with_output(xdp(&self.ebpf)?, frame)
    }

    /// Runs the program `repeat` times over `frame` in one BPF_PROG_TEST_RUN
    /// and returns the last verdict and the kernel's mean time per run. The
    /// runs share one buffer: from the second on they see what the first
    /// left, so only a frame the program leaves as it was is timed this way
    /// (see `benches/tier0.rs`).
    pub fn test_run_repeated(&self, frame: &[u8], repeat: u32) -> Result<(XdpAction, Duration)> {
        if !(TEST_FRAME_MIN..=TEST_FRAME_MAX).contains(&frame.len()) {
            return Err(XdpProgramError::TestFrameSize { len: frame.len(), min: TEST_FRAME_MIN, max: TEST_FRAME_MAX });
        }
        let program = xdp(&self.ebpf)?;
        let options = TestRunOptions { data_in: Some(frame), repeat: repeat.max(1), ..TestRunOptions::new() };
        let result = program.test_run(options).map_err(|source| {
            privilege_error("running the XDP program", &source).unwrap_or(XdpProgramError::TestRun { source })
        })?;
        Ok((XdpAction::from_raw(result.return_value)?, result.duration))
    }

    /// How many instructions the verifier processed to accept the program
    /// (`processed N insns` of its log; the limit is 1,000,000), when the
    /// kernel reports it (Linux 5.16 and later).
    pub fn verified_instructions(&self) -> Result<Option<u32>> {
        let info = xdp(&self.ebpf)?.info().map_err(|source| XdpProgramError::Query { source })?;
        Ok(info.verified_instruction_count())
    }
}

/// Creates the maps and loads (verifies) the program, with or without the
/// tier-0 code (pruned by the verifier when `tier0_enabled` is 0).
fn load_object(config: &SteeringConfig, tier0: bool, capture: Option<CaptureSettings>, object: &[u8]) -> Result<Ebpf> {
    let stall_threshold_ns = u64::try_from(config.stall_threshold.as_nanos()).unwrap_or(u64::MAX);
    let tier0_enabled = u32::from(tier0);
    // Off (and its map one entry) unless tier 0 is loaded with it.
    let rrl = match config.rrl.as_ref().filter(|_| tier0) {
        Some(rrl) => {
            RrlGlobals::new(Some(rrl)).map_err(|e| XdpProgramError::InvalidConfig { reason: e.to_string() })?
        }
        None => RrlGlobals::OFF,
    };
    // Off: the calls are pruned, and the ring is the smallest the kernel
    // makes. Off, an object without capture (the bench's builds of older
    // sources) loads too.
    let (capture_every, ring_bytes) = match capture.filter(|_| tier0) {
        Some(c) => (c.every.max(1), c.ring_bytes),
        None => (0, super::tier0::capture::ring_size(0)),
    };
    let capture_on = capture_every != 0;
    let mut ebpf = EbpfLoader::new()
        .override_global("stall_threshold_ns", &stall_threshold_ns, true)
        .override_global("tier0_enabled", &tier0_enabled, true)
        .override_global("t0_rrl_rate", &rrl.rate, true)
        .override_global("t0_rrl_slip", &rrl.slip, true)
        .override_global("t0_rrl_mask4", &rrl.mask4, true)
        .override_global("t0_rrl_mask6_hi", &rrl.mask6[0], true)
        .override_global("t0_rrl_mask6_lo", &rrl.mask6[1], true)
        .map_max_entries("t0_rrl", rrl.buckets)
        .override_global("t0_capture_every", &capture_every, capture_on)
        .map_max_entries("t0_capture", ring_bytes)
        .load(object)
        .map_err(|source| {
            privilege_error("creating the XDP maps", &source).unwrap_or(XdpProgramError::Load { source })
        })?;
    let program = xdp_mut(&mut ebpf)?;
    program.load().map_err(|source| {
        // The verifier refuses with EACCES too: a log says it was the verifier.
        let verifier = matches!(&source, aya::programs::ProgramError::LoadError { verifier_log, .. }
            if !verifier_log.to_string().trim().is_empty());
        let privilege = if verifier { None } else { privilege_error("loading the XDP program", &source) };
        privilege.unwrap_or(XdpProgramError::ProgramLoad { source })
    })?;
    Ok(ebpf)
}

/// Why this kernel has no BPF ring buffers (before Linux 5.8), if it has none.
fn ring_buffers_missing() -> Option<String> {
    match aya::sys::is_map_supported(aya::maps::MapType::RingBuf) {
        Ok(true) => None,
        Ok(false) => Some("this kernel has no BPF ring buffers (Linux 5.8 and later)".into()),
        Err(e) => Some(format!("cannot tell whether this kernel has BPF ring buffers: {e}")),
    }
}

/// The verifier's last lines (its verdict), not its whole log.
fn verifier_summary(error: &aya::programs::ProgramError) -> String {
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// One BPF_PROG_TEST_RUN of `program` over `frame` (as if received on
/// queue 0): the verdict, the frame as the program left it, and the
/// kernel's time for the run. Shared with the bench's reflector
/// ([`super::reflect`]).
pub(crate) fn test_run_with_output(program: &Xdp, frame: &[u8]) -> Result<(XdpAction, Vec<u8>, Duration)> {
    if !(TEST_FRAME_MIN..=TEST_FRAME_MAX).contains(&frame.len()) {
        return Err(XdpProgramError::TestFrameSize { len: frame.len(), min: TEST_FRAME_MIN, max: TEST_FRAME_MAX });
    }
    let mut out = vec![0u8; 4096];
    let options = TestRunOptions { data_in: Some(frame), data_out: Some(&mut out), ..TestRunOptions::new() };
    let result = program.test_run(options).map_err(|source| {
        privilege_error("running the XDP program", &source).unwrap_or(XdpProgramError::TestRun { source })
    })?;
    out.truncate(usize::try_from(result.data_size_out).unwrap_or(0));
    Ok((XdpAction::from_raw(result.return_value)?, out, result.duration))
}

fn xdp(ebpf: &Ebpf) -> Result<&Xdp> {
    ebpf.program(PROGRAM_NAME)
        .ok_or_else(|| mismatch(format!("no program `{PROGRAM_NAME}`")))?
        .try_into()
        .map_err(|_| mismatch(format!("`{PROGRAM_NAME}` is not an XDP program")))
}

fn xdp_mut(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    ebpf.program_mut(PROGRAM_NAME)
        .ok_or_else(|| mismatch(format!("no program `{PROGRAM_NAME}`")))?
        .try_into()
        .map_err(|_| mismatch(format!("`{PROGRAM_NAME}` is not an XDP program")))
}

fn mismatch(detail: String) -> XdpProgramError {
    XdpProgramError::ObjectMismatch { detail }
}

fn take_map<M>(ebpf: &mut Ebpf, name: &str) -> Result<M>
where
    M: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or_else(|| mismatch(format!("no map `{name}`")))?;
    M::try_from(map).map_err(|err| mismatch(format!("map `{name}`: {err}")))
}

fn expect_len(name: &str, found: u32, expected: u32) -> Result<()> {
    if found != expected {
        return Err(mismatch(format!("map `{name}` has {found} entries, the loader expects {expected}")));
    }
    Ok(())
}

fn map_liveness(ebpf: &Ebpf) -> Result<Liveness> {
    let map = ebpf.map("liveness").ok_or_else(|| mismatch("no map `liveness`".into()))?;
    let array: Array<&MapData, u64> = Array::try_from(map).map_err(|err| mismatch(format!("map `liveness`: {err}")))?;
    expect_len("liveness", array.len(), MAX_QUEUES)?;
    let aya::maps::Map::Array(data) = map else {
        return Err(mismatch("map `liveness` is not an array".into()));
    };
    Liveness::map(data.fd().as_fd(), MAX_QUEUES).map_err(|source| XdpProgramError::Mmap { map: "liveness", source })
}

fn configure_ports(ebpf: &mut Ebpf, ports: &[u16]) -> Result<()> {
    let map = ebpf.map_mut("ports").ok_or_else(|| mismatch("no map `ports`".into()))?;
    let mut ports_map: Array<&mut MapData, u8> =
        Array::try_from(map).map_err(|err| mismatch(format!("map `ports`: {err}")))?;
    for &port in ports {
        ports_map
            .set(u32::from(port), 1, 0)
            .map_err(|source| XdpProgramError::Map { action: "configuring the steered ports", source })?;
    }
    Ok(())
}

fn check_queue(queue: u32) -> Result<()> {
    if queue >= MAX_QUEUES {
        return Err(XdpProgramError::QueueOutOfRange { queue, max: MAX_QUEUES });
    }
    Ok(())
}

pub(crate) fn interface_index(interface: &str) -> Result<u32> {
    let no_such = || XdpProgramError::NoSuchInterface { name: interface.to_owned() };
    let name = CString::new(interface).map_err(|_| no_such())?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call;
    // if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(no_such());
    }
    Ok(index)
}

pub(crate) fn require_bpf_link_kernel() -> Result<()> {
    // An unreadable version is not proof of an old kernel: let the attach
    // itself decide.
    match KernelVersion::current() {
        Ok(found) if found < MIN_KERNEL_FOR_BPF_LINK => {
            Err(XdpProgramError::KernelTooOld { found: format!("{found:?}") })
        }
        _ => Ok(()),
    }
}

pub(crate) fn attach_error(
    source: aya::programs::ProgramError,
    interface: &str,
    mode: AttachedMode,
) -> XdpProgramError {
    let interface = interface.to_owned();
    match errno_in_chain(&source) {
        Some(libc::EOPNOTSUPP) if mode == AttachedMode::Native => XdpProgramError::NativeUnsupported { interface },
        Some(libc::EOPNOTSUPP) => XdpProgramError::XdpUnsupported { interface },
        Some(libc::EBUSY | libc::EEXIST) => XdpProgramError::AlreadyAttached { interface },
        Some(libc::ENODEV) => XdpProgramError::NoSuchInterface { name: interface },
        _ => privilege_error("attaching the XDP program", &source)
            .unwrap_or(XdpProgramError::Attach { interface, source }),
    }
}

/// Kernels before 5.11 charge BPF maps and programs to RLIMIT_MEMLOCK, whose
/// default (64 KiB or 8 MiB) is too small for the port map. Newer kernels use
/// memory cgroups instead, so a failure here is only worth a debug line.
pub(crate) fn raise_memlock_limit() {
    let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: setrlimit reads a valid, initialised rlimit for the duration of the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "could not raise RLIMIT_MEMLOCK");
    }
}
