//! What the doctor reads from sysfs and procfs: no privilege needed, nothing
//! changed. Every function returns what it could read; a missing file is an
//! answer ("virtual device", "unknown"), not an error.

use std::fs;
use std::path::{Path, PathBuf};

fn net_path(iface: &str) -> PathBuf {
    Path::new("/sys/class/net").join(iface)
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn link_target_name(path: impl AsRef<Path>) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// The driver name from `device/driver`, for devices whose driver does not
/// answer `ETHTOOL_GDRVINFO`.
pub fn sysfs_driver(iface: &str) -> Option<String> {
    link_target_name(net_path(iface).join("device/driver"))
}

/// The device's bus address (`0000:3b:00.0`), from the `device` link.
pub fn sysfs_bus_info(iface: &str) -> Option<String> {
    link_target_name(net_path(iface).join("device"))
}

/// Whether the interface is an SR-IOV virtual function, and of which PF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SriovRole {
    /// No SR-IOV involvement visible.
    None,
    /// A VF: `physfn` exists. The PF's PCI address and netdev name (when the
    /// PF is visible in this namespace/host; in a VM it never is).
    VirtualFunction { pf_bus: Option<String>, pf_iface: Option<String> },
    /// A PF with VFs enabled.
    PhysicalFunction { vfs: u32 },
}

pub fn sriov_role(iface: &str) -> SriovRole {
    let device = net_path(iface).join("device");
    let physfn = device.join("physfn");
    if physfn.exists() {
        let pf_iface = fs::read_dir(physfn.join("net"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned());
        return SriovRole::VirtualFunction { pf_bus: link_target_name(&physfn), pf_iface };
    }
    match read_trimmed(device.join("sriov_numvfs")).and_then(|s| s.parse::<u32>().ok()) {
        Some(vfs) if vfs > 0 => SriovRole::PhysicalFunction { vfs },
        _ => SriovRole::None,
    }
}

/// Interrupts of the device and the CPUs each may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irq {
    pub number: u32,
    /// `smp_affinity_list`, as the kernel prints it (`0-3`).
    pub affinity: String,
    /// The driver's `affinity_hint`, when it gives one.
    pub hint: Option<String>,
}

/// The device's MSI/MSI-X interrupts (empty for virtual devices). Reading
/// `/proc/irq` needs no privilege.
pub fn device_irqs(iface: &str) -> Vec<Irq> {
    let Ok(dir) = fs::read_dir(net_path(iface).join("device/msi_irqs")) else { return Vec::new() };
    let mut numbers: Vec<u32> =
        dir.filter_map(Result::ok).filter_map(|e| e.file_name().to_string_lossy().parse().ok()).collect();
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|number| {
            let base = PathBuf::from(format!("/proc/irq/{number}"));
            let affinity = read_trimmed(base.join("smp_affinity_list")).unwrap_or_else(|| "?".into());
            let hint = read_trimmed(base.join("affinity_hint")).filter(|h| h.chars().any(|c| c != '0' && c != ','));
            Irq { number, affinity, hint }
        })
        .collect()
}

/// Whether irqbalance runs: it moves NIC interrupts around under pinned
/// workers unless told to leave them alone.
pub fn irqbalance_running() -> bool {
    let Ok(proc) = fs::read_dir("/proc") else { return false };
    proc.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .any(|e| read_trimmed(e.path().join("comm")).as_deref() == Some("irqbalance"))
}

/// VLAN interfaces stacked on this one (`upper_*` links whose device is a VLAN).
pub fn vlan_uppers(iface: &str) -> Vec<String> {
    let Ok(dir) = fs::read_dir(net_path(iface)) else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_string_lossy().strip_prefix("upper_").map(str::to_owned))
        .filter(|upper| {
            read_trimmed(net_path(upper).join("uevent")).is_some_and(|u| u.lines().any(|l| l == "DEVTYPE=vlan"))
        })
        .collect()
}

/// The privileges of this process that matter for XDP and AF_XDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privileges {
    pub euid: u32,
    /// Effective capability set (`CapEff` in /proc/self/status).
    pub capabilities: u64,
    /// RLIMIT_MEMLOCK soft limit in bytes; `None` is unlimited.
    pub memlock: Option<u64>,
}

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_BPF: u32 = 39;

/// What loading, attaching and binding need (the set `XdpProgramError`'s
/// permission hint and Knot DNS's guide name). CAP_BPF may stand in for
/// CAP_SYS_ADMIN for loading on 5.8+, but the XSKMAP still wants SYS_ADMIN on
/// some kernels, so both are asked for.
pub const NEEDED: &[(u32, &str)] = &[
    (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
    (CAP_NET_RAW, "CAP_NET_RAW"),
    (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
    (CAP_BPF, "CAP_BPF"),
    (CAP_IPC_LOCK, "CAP_IPC_LOCK"),
];

impl Privileges {
    pub fn current() -> Privileges {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        let capabilities = fs::read_to_string("/proc/self/status").ok().and_then(|s| parse_cap_eff(&s)).unwrap_or(0);
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into a live, writable struct.
        let memlock = if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0 {
            (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
        } else {
            Some(0)
        };
        Privileges { euid, capabilities, memlock }
    }

    pub fn has(&self, cap: u32) -> bool {
        self.capabilities & (1u64 << cap) != 0
    }

    /// The capabilities of [`NEEDED`] this process lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        NEEDED.iter().filter(|(cap, _)| !self.has(*cap)).map(|(_, name)| *name).collect()
    }
}

fn parse_cap_eff(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

/// `uname -r`.
pub fn kernel_release() -> Option<String> {
    read_trimmed("/proc/sys/kernel/osrelease")
}

/// Major and minor of a release string like `6.18.0-1-amd64`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `napi_defer_hard_irqs` and `gro_flush_timeout`: the busy-polling knobs.
pub fn napi_settings(iface: &str) -> (Option<u64>, Option<u64>) {
    let read = |f: &str| read_trimmed(net_path(iface).join(f)).and_then(|s| s.parse().ok());
    (read("napi_defer_hard_irqs"), read("gro_flush_timeout"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_parse() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(parse_cap_eff(status), Some(0x1ff_ffff_ffff));
        let p = Privileges { euid: 1000, capabilities: 1 << CAP_NET_ADMIN | 1 << CAP_NET_RAW, memlock: Some(8 << 20) };
        assert_eq!(p.missing(), ["CAP_SYS_ADMIN", "CAP_BPF", "CAP_IPC_LOCK"]);
        assert_eq!(parse_cap_eff("CapEff:\tzz\n"), None);
    }

    #[test]
    fn releases_parse() {
        assert_eq!(parse_release("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(parse_release("5.9"), Some((5, 9)));
        assert_eq!(parse_release("weird"), None);
    }

    #[test]
    fn loopback_is_virtual() {
        assert_eq!(sriov_role("lo"), SriovRole::None);
        assert!(device_irqs("lo").is_empty());
        assert_eq!(sysfs_driver("lo"), None);
        assert!(kernel_release().is_some_and(|r| parse_release(&r).is_some()));
    }
}
