//! Errors from loading, attaching and driving the XDP steering program. Each
//! message says what to do next: most of these end up in front of an operator.

use std::error::Error;
use std::io;

const PRIVILEGE_HINT: &str = "needs root or CAP_NET_ADMIN+CAP_BPF+CAP_SYS_ADMIN \
     (on kernels before 5.11 also a large enough RLIMIT_MEMLOCK, see `ulimit -l`)";

const KERNEL_SOCKET_HINT: &str =
    "to serve without XDP use kernel-socket mode: `responder serve --listen ADDR` without `--iface`";

#[derive(Debug, thiserror::Error)]
pub enum XdpProgramError {
    #[error("{action}: permission denied: {PRIVILEGE_HINT}")]
    PermissionDenied { action: &'static str },

    #[error("{action}: out of locked memory: raise RLIMIT_MEMLOCK (`ulimit -l unlimited`) or run on Linux 5.11+")]
    LockedMemory { action: &'static str },

    /// Usually the verifier's verdict; its log is part of the message.
    #[error("loading the XDP program into the kernel failed: {source}")]
    ProgramLoad {
        #[source]
        source: aya::programs::ProgramError,
    },

    #[error("loading the XDP object failed: {source}")]
    Load {
        #[source]
        source: aya::EbpfError,
    },

    /// The embedded object does not match this loader: a build problem.
    #[error("the embedded XDP object does not match the loader: {detail}")]
    ObjectMismatch { detail: String },

    #[error("invalid steering configuration: {reason}")]
    InvalidConfig { reason: String },

    /// The liveness words need BPF_F_MMAPABLE array maps (Linux 5.5+).
    #[error("mapping the XDP map `{map}` into memory failed (needs Linux 5.5+): {source}")]
    Mmap {
        map: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("no network interface `{name}` (see `ip link`); {KERNEL_SOCKET_HINT}")]
    NoSuchInterface { name: String },

    #[error("the driver of `{interface}` has no native XDP support: use the generic or auto XDP mode (slower), or {KERNEL_SOCKET_HINT}")]
    NativeUnsupported { interface: String },

    #[error("`{interface}` supports no XDP at all; {KERNEL_SOCKET_HINT}")]
    XdpUnsupported { interface: String },

    #[error("another XDP program is already attached to `{interface}` (see `ip link show dev {interface}` and `bpftool net`): \
             stop its owner, or remove a stale one with `ip link set dev {interface} xdp off`")]
    AlreadyAttached { interface: String },

    #[error(
        "attaching XDP needs bpf_link support (Linux 5.9 or later, found {found}), \
             so that the program detaches when this process exits; {KERNEL_SOCKET_HINT}"
    )]
    KernelTooOld { found: String },

    #[error("the steering program is already attached (to `{interface}`); detach it first")]
    AlreadyAttachedHere { interface: String },

    // aya's error names the syscall only; the kernel's reason is its source.
    #[error("attaching XDP to `{interface}` failed: {}", with_causes(source))]
    Attach {
        interface: String,
        #[source]
        source: aya::programs::ProgramError,
    },

    #[error("querying the loaded XDP program failed: {source}")]
    Query {
        #[source]
        source: aya::programs::ProgramError,
    },

    #[error("reading the MAC and addresses of `{interface}` from the kernel (netlink): {source}")]
    InterfaceState {
        interface: String,
        #[source]
        source: io::Error,
    },

    #[error("queue {queue} is out of range: the socket map holds queues 0..{max}")]
    QueueOutOfRange { queue: u32, max: u32 },

    #[error("registering the AF_XDP socket for queue {queue}: the descriptor is not an AF_XDP socket bound to that queue with an RX ring")]
    NotAnXdpSocket { queue: u32 },

    #[error("{action}: {source}")]
    Map {
        action: &'static str,
        #[source]
        source: aya::maps::MapError,
    },

    #[error("test run needs a frame of {min}..={max} bytes, got {len}")]
    TestFrameSize { len: usize, min: usize, max: usize },

    #[error("BPF_PROG_TEST_RUN failed: {source}")]
    TestRun {
        #[source]
        source: aya::programs::ProgramError,
    },

    #[error("the program returned an unknown XDP action {0}")]
    UnknownAction(u32),
}

/// An error and every error below it, `outer: inner: ...`.
fn with_causes(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}

/// The OS error number anywhere in an error's source chain (aya nests the
/// `io::Error` of the failing syscall a few levels deep).
pub(crate) fn errno_in_chain(err: &(dyn Error + 'static)) -> Option<i32> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(errno) = io.raw_os_error() {
                return Some(errno);
            }
        }
        if let Some(netlink) = err.downcast_ref::<aya::sys::NetlinkError>() {
            if let Some(errno) = netlink.raw_os_error() {
                return Some(errno);
            }
        }
        current = err.source();
    }
    None
}

/// Maps the errors any privileged step can hit to their actionable variants;
/// everything else is left to the caller.
pub(crate) fn privilege_error(action: &'static str, err: &(dyn Error + 'static)) -> Option<XdpProgramError> {
    match errno_in_chain(err)? {
        libc::EPERM | libc::EACCES => Some(XdpProgramError::PermissionDenied { action }),
        libc::ENOMEM => Some(XdpProgramError::LockedMemory { action }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_is_found_below_wrappers() {
        let syscall =
            aya::sys::SyscallError { call: "bpf_map_create", io_error: io::Error::from_raw_os_error(libc::EPERM) };
        let wrapped = aya::maps::MapError::SyscallError(syscall);
        assert_eq!(errno_in_chain(&wrapped), Some(libc::EPERM));
        let err = privilege_error("creating maps", &wrapped).expect("EPERM is a privilege error");
        let message = err.to_string();
        assert!(message.contains("creating maps") && message.contains("CAP_BPF"), "{message}");
    }

    #[test]
    fn unrelated_errors_are_left_alone() {
        let err = io::Error::from_raw_os_error(libc::EINVAL);
        assert_eq!(errno_in_chain(&err), Some(libc::EINVAL));
        assert!(privilege_error("x", &err).is_none());
        let no_errno = io::Error::other("no number");
        assert_eq!(errno_in_chain(&no_errno), None);
    }

    #[test]
    fn attach_errors_carry_the_kernels_reason() {
        // veth refuses native XDP with ENOTSUPP (524) when the peer has more
        // TX queues than it has RX queues: the number must reach the operator.
        let syscall = aya::sys::SyscallError { call: "bpf_link_create", io_error: io::Error::from_raw_os_error(524) };
        let err = XdpProgramError::Attach { interface: "veth0".into(), source: syscall.into() };
        let message = err.to_string();
        assert!(message.contains("`veth0`") && message.contains("bpf_link_create"), "{message}");
        assert!(message.contains("os error 524"), "{message}");
    }

    #[test]
    fn interface_errors_point_at_kernel_socket_mode() {
        let err = XdpProgramError::NoSuchInterface { name: "eth9".into() };
        assert!(err.to_string().contains("without `--iface`"), "{err}");
    }
}
