//! The probes that change something for a moment: attach our steering
//! program natively and generically, and bind an AF_XDP socket in zero-copy
//! mode. Each leaves the interface as it found it (the program detaches, the
//! socket closes), even on error: the attachment is a bpf_link that dies with
//! the `XdpProgram`, and the socket closes when dropped.
//!
//! Attaching native XDP or binding zero-copy makes many drivers (i40e, ice,
//! ixgbe, mlx5) rebuild their rings: a short traffic gap on a live port.

use crate::xdp::program::{SteeringConfig, XdpMode, XdpProgram, XdpProgramError};
use crate::xdp::socket::{BindMode, XskConfig, XskSocket, ZeroCopy};
use crate::xdp::umem::UmemConfig;

/// A probe's result: it worked, or why not.
pub type Outcome = Result<(), String>;

#[derive(Debug)]
pub struct ProbeResults {
    pub native: Outcome,
    pub generic: Outcome,
    /// `None` when native XDP failed: zero-copy needs it.
    pub zero_copy: Option<ZeroCopyOutcome>,
}

#[derive(Debug)]
pub enum ZeroCopyOutcome {
    Available,
    /// The driver refused zero-copy, and copy mode worked.
    CopyOnly,
    /// Neither mode could bind; the message says why.
    Failed(String),
}

/// The smallest socket that proves a bind: the probe never moves frames.
fn probe_socket_config(zero_copy: ZeroCopy) -> XskConfig {
    XskConfig {
        umem: UmemConfig { frame_size: 2048, frame_count: 64, huge_pages: false },
        ring_size: 64,
        zero_copy,
        need_wakeup: true,
        busy_poll: None,
    }
}

/// Loads the program once and runs every probe with it. Fails as a whole
/// only when the program cannot be loaded (privileges, verifier).
pub fn run(iface: &str, ifindex: u32) -> Result<ProbeResults, XdpProgramError> {
    let mut program = XdpProgram::load(&SteeringConfig::default())?;

    let native = program.attach(iface, XdpMode::Native).map(drop).map_err(|e| e.to_string());
    let zero_copy = native.is_ok().then(|| probe_zero_copy(ifindex));
    // Detach before trying generic: one program per interface.
    let detached = program.detach().map_err(|e| format!("detaching after the native probe: {e}"));

    let generic = match detached {
        Ok(()) => {
            let generic = program.attach(iface, XdpMode::Generic).map(drop).map_err(|e| e.to_string());
            match program.detach() {
                Ok(()) => generic,
                Err(e) => Err(format!("detaching after the generic probe: {e}")),
            }
        }
        Err(e) => Err(e),
    };
    Ok(ProbeResults { native, generic, zero_copy })
}

/// Binds queue 0 with zero-copy required; when the driver refuses, checks
/// that copy mode binds instead. The socket closes on return.
fn probe_zero_copy(ifindex: u32) -> ZeroCopyOutcome {
    match XskSocket::new(ifindex, 0, &probe_socket_config(ZeroCopy::On)) {
        Ok(socket) if socket.mode() == BindMode::ZeroCopy => ZeroCopyOutcome::Available,
        // The kernel granted copy although zero-copy was required: report what we got.
        Ok(_) => ZeroCopyOutcome::CopyOnly,
        Err(e) if e.source.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            match XskSocket::new(ifindex, 0, &probe_socket_config(ZeroCopy::Off)) {
                Ok(_) => ZeroCopyOutcome::CopyOnly,
                Err(copy) => ZeroCopyOutcome::Failed(format!("no zero-copy, and copy mode failed too: {copy}")),
            }
        }
        Err(e) => ZeroCopyOutcome::Failed(e.to_string()),
    }
}

/// The name of loaded BPF program `id` (as `bpftool prog show id N` gives
/// it); `None` without the privilege to look, or when it is gone.
pub fn program_name(id: u32) -> Option<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|p| p.id() == id)
        .and_then(|p| p.name_as_str().map(str::to_owned))
}
