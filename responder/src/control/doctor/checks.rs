//! Turning what was read into findings: each function takes facts already
//! gathered and returns one [`Check`], so every judgement here is a pure
//! function with its own tests. Thresholds carry their reasons.

use std::io;

use serde_json::{json, Value};

use super::drivers::{self, DriverFacts, QueueRule};
use super::host::{Irq, Privileges, SriovRole};
use super::netlink::{AttachedXdp, LinkInfo};
use super::probe::{Outcome, ZeroCopyOutcome};
use super::report::Check;
use crate::xdp::ethtool::{Channels, DriverInfo, Feature, RxHashFields};

/// `XDP_PACKET_HEADROOM`: the kernel reserves it at the start of every
/// UMEM frame, copy mode and zero-copy alike.
const XDP_HEADROOM: u32 = 256;
/// Ethernet header plus the two VLAN tags the steering program accepts.
const L2_OVERHEAD: u32 = 14 + 2 * 4;
/// The UMEM frame sizes `serve --frame-size` accepts, default first.
const FRAME_SIZES: [u32; 2] = [2048, 4096];
/// Most drivers refuse single-buffer XDP above an MTU of 3000–3500 (i40e
/// and ice 3046, ixgbe 3050, mlx5 3498, virtio 3506: ebpf-docs driver table).
const TYPICAL_XDP_MAX_MTU: u32 = 3000;
/// `serve`'s default UMEM: 4096 frames of 2048 bytes per queue.
const DEFAULT_UMEM_BYTES: u64 = 4096 * 2048;

/// The largest MTU whose frames fit a UMEM frame of `frame_size` bytes.
pub fn max_mtu_for_frame(frame_size: u32) -> u32 {
    frame_size - XDP_HEADROOM - L2_OVERHEAD
}

pub fn driver(
    iface: &str,
    info: &io::Result<DriverInfo>,
    sysfs_driver: Option<String>,
    sysfs_bus: Option<String>,
) -> Check {
    let (name, version, firmware, bus) = match info {
        Ok(i) => (i.driver.clone(), i.version.clone(), i.firmware.clone(), i.bus_info.clone()),
        Err(_) => match sysfs_driver {
            Some(d) => (d, String::new(), String::new(), sysfs_bus.unwrap_or_default()),
            None => {
                let why = info.as_ref().err().map(ToString::to_string).unwrap_or_default();
                return Check::ok("driver", format!("none reported ({why}): a virtual interface without a driver"))
                    .fact("name", Value::Null);
            }
        },
    };
    let mut finding = name.clone();
    if !version.is_empty() {
        finding += &format!(" {version}");
    }
    let details: Vec<String> = [("firmware", &firmware), ("bus", &bus)]
        .iter()
        .filter(|(_, v)| !v.is_empty() && v.as_str() != "N/A")
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !details.is_empty() {
        finding += &format!(" ({})", details.join(", "));
    }
    let facts = drivers::lookup(&name);
    let check = match facts {
        Some(f) if !f.native_xdp => Check::warn(
            "driver",
            format!("{finding}: {}", f.note),
            format!("see docs/DEPLOY.md for drivers with native XDP; `ethtool -i {iface}`"),
        ),
        Some(f) if !f.note.is_empty() => Check::ok("driver", format!("{finding}; {}", f.note)),
        Some(_) => Check::ok("driver", finding),
        None => Check::ok("driver", format!("{finding}; not in responder's driver table: the probes below decide")),
    };
    check
        .fact("name", name)
        .fact("version", version)
        .fact("firmware", firmware)
        .fact("bus_info", bus)
        .fact("native_xdp_expected", facts.map(|f| f.native_xdp))
        .fact("zero_copy_expected", facts.map(|f| f.zero_copy))
}

pub fn sriov(iface: &str, role: &SriovRole) -> Check {
    match role {
        SriovRole::None => Check::ok("sriov", "not an SR-IOV virtual function").fact("role", "none"),
        SriovRole::VirtualFunction { pf_bus, pf_iface } => {
            let pf = match (pf_iface, pf_bus) {
                (Some(i), _) => format!("PF {i}"),
                (None, Some(b)) => format!("PF at {b}"),
                (None, None) => "PF not visible here".into(),
            };
            let pf_name = pf_iface.as_deref().unwrap_or("PF");
            Check::ok("sriov", format!("SR-IOV VF ({pf}): the VF's MAC must be the source of every answer (spoofchk), and VLANs come from the PF (port VLAN) or the guest"))
                .with_fix(format!("on the host: `ip link set dev {pf_name} vf N trust on spoofchk on` and a fixed `mac`; see docs/DEPLOY.md (SR-IOV)"))
                .fact("role", "vf")
                .fact("pf_interface", pf_iface.clone())
                .fact("pf_bus", pf_bus.clone())
                .fact("interface", iface)
        }
        SriovRole::PhysicalFunction { vfs } => Check::ok(
            "sriov",
            format!("SR-IOV PF with {vfs} VF(s): on some NICs enabling VFs restricts the PF to generic XDP (the probes below tell)"),
        )
        .fact("role", "pf")
        .fact("vfs", *vfs),
    }
}

pub fn link(iface: &str, info: &LinkInfo) -> Check {
    let state = info.operstate_name();
    let check = if !info.is_up() {
        Check::fail("link", "administratively down: nothing is received", format!("ip link set dev {iface} up"))
    } else if info.carrier == Some(false) {
        Check::warn(
            "link",
            format!("up but no carrier (operstate {state})"),
            format!("check the cable/peer; `ip link show dev {iface}`"),
        )
    } else {
        Check::ok("link", format!("up (operstate {state})"))
    };
    check.fact("up", info.is_up()).fact("carrier", info.carrier).fact("operstate", state)
}

pub fn mtu(iface: &str, mtu: Option<u32>, max_mtu: Option<u32>, facts: Option<&DriverFacts>) -> Check {
    let Some(mtu) = mtu else {
        return Check::warn("mtu", "unknown", format!("ip link show dev {iface}"));
    };
    let [small, large] = FRAME_SIZES.map(max_mtu_for_frame);
    let xdp_limit = facts.and_then(|f| f.xdp_max_mtu);
    let check = if let Some(limit) = xdp_limit.filter(|&l| mtu > l) {
        Check::warn(
            "mtu",
            format!("{mtu} is above this driver's single-buffer XDP limit of {limit}: native attach will be refused"),
            format!("ip link set dev {iface} mtu 1500"),
        )
    } else if xdp_limit.is_none() && mtu > TYPICAL_XDP_MAX_MTU {
        Check::warn(
            "mtu",
            format!("{mtu} is above the ~{TYPICAL_XDP_MAX_MTU} most drivers allow for XDP, and frames above {large} bytes fit no UMEM frame"),
            format!("ip link set dev {iface} mtu 1500"),
        )
    } else if mtu > small {
        Check::warn(
            "mtu",
            format!("{mtu}: full-size frames do not fit the default 2048-byte UMEM frames (MTU ≤ {small}); larger queries would be dropped"),
            format!("serve with --frame-size 4096 (MTU ≤ {large}), or `ip link set dev {iface} mtu {small}`"),
        )
    } else {
        Check::ok("mtu", format!("{mtu}: fits 2048-byte UMEM frames (--frame-size default; MTU ≤ {small})"))
    };
    check
        .fact("mtu", mtu)
        .fact("max_mtu", max_mtu)
        .fact("driver_xdp_max_mtu", xdp_limit)
        .fact("max_mtu_frame_2048", small)
        .fact("max_mtu_frame_4096", large)
}

/// `cpus`: how many workers the host could run near the NIC.
pub fn queues(
    iface: &str,
    channels: &io::Result<Channels>,
    link: &LinkInfo,
    cpus: u32,
    facts: Option<&DriverFacts>,
) -> Check {
    let ch = match channels {
        Ok(ch) if ch.rx_queues() > 0 => *ch,
        _ => {
            // No ethtool channels (lo, some virtual drivers): the kernel's queue count.
            let rx = link.rx_queues.unwrap_or(1);
            return Check::ok(
                "queues",
                format!("{rx} RX / {} TX queues (the driver reports no channels; fixed)", link.tx_queues.unwrap_or(1)),
            )
            .fact("rx_queues", rx)
            .fact("tx_queues", link.tx_queues)
            .fact("source", "netlink");
        }
    };
    let combined_kind = ch.max_combined > 0;
    let (current, max) = if combined_kind { (ch.combined, ch.max_combined) } else { (ch.rx, ch.max_rx) };
    let target = match facts {
        Some(f) => f.suggested_channels(cpus, max),
        None => drivers::suggested_channels_unknown(cpus, max),
    };
    let set = |n: u32| {
        if combined_kind {
            format!("ethtool -L {iface} combined {n}")
        } else {
            format!("ethtool -L {iface} rx {n} tx {n}")
        }
    };
    let described = format!(
        "{} RX queue(s) for AF_XDP: {} of at most {} {} (TX {} of {})",
        ch.rx_queues(),
        current,
        max,
        if combined_kind { "combined" } else { "RX" },
        ch.tx + if combined_kind { ch.combined } else { 0 },
        ch.max_tx + if combined_kind { ch.max_combined } else { 0 },
    );
    let rule = facts.map(|f| f.queues).unwrap_or(QueueRule::AnyCount);
    let check = match rule {
        QueueRule::AtMostHalfOfMax if current > max / 2 => Check::fail(
            "queues",
            format!("{described}: this driver refuses XDP with more than half its channels in use"),
            set(target),
        ),
        QueueRule::SpareTxPerCpu if current + cpus > max => Check::warn(
            "queues",
            format!(
                "{described}: virtio-net wants {cpus} spare TX queue(s) beyond those in use for XDP; \
                 without them older kernels refuse XDP and newer ones share TX queues under a lock"
            ),
            if target < current {
                set(target)
            } else {
                format!("give the VM {} queues (libvirt: <driver queues='{}'/>)", current + cpus, current + cpus)
            },
        ),
        _ if current < target => Check::warn(
            "queues",
            format!("{described}: fewer queues than the {cpus} CPU(s) that could serve them"),
            set(target),
        ),
        _ => Check::ok(
            "queues",
            format!("{described}; RSS must spread UDP by port too: `ethtool -N {iface} rx-flow-hash udp4 sdfn`"),
        ),
    };
    check
        .fact("rx_queues", ch.rx_queues())
        .fact("combined", ch.combined)
        .fact("max_combined", ch.max_combined)
        .fact("rx", ch.rx)
        .fact("max_rx", ch.max_rx)
        .fact("tx", ch.tx)
        .fact("max_tx", ch.max_tx)
        .fact("suggested", target)
        .fact("source", "ethtool")
}

/// RSS decides which queue, and so which worker, a query lands on. Hashing
/// addresses only puts every query from one busy resolver on one queue;
/// with ports (`sdfn`) they spread.
pub fn rss(iface: &str, fields: &io::Result<(RxHashFields, RxHashFields)>, rx_queues: u32) -> Check {
    let fix = format!("ethtool -N {iface} rx-flow-hash udp4 sdfn; ethtool -N {iface} rx-flow-hash udp6 sdfn");
    match fields {
        _ if rx_queues <= 1 => Check::ok("rss", "one RX queue: nothing to spread"),
        Err(e) => Check::ok("rss", format!("hash fields not reported ({e}): a virtual device, or the driver decides")),
        Ok((v4, v6)) if v4.includes_ports() && v6.includes_ports() => {
            Check::ok("rss", "UDP hashed on addresses and ports (sdfn): queries spread over the queues")
        }
        Ok((v4, v6)) => Check::warn(
            "rss",
            format!(
                "UDP hashed without ports (udp4 {:#x}, udp6 {:#x}): all queries from one resolver address land on one queue",
                v4.0, v6.0
            ),
            fix,
        ),
    }
    .fact("udp4", fields.as_ref().ok().map(|f| f.0 .0))
    .fact("udp6", fields.as_ref().ok().map(|f| f.1 .0))
}

/// The offloads that change what XDP sees: LRO and hardware GRO merge
/// frames (several drivers refuse XDP while they are on), VLAN stripping
/// moves the tag out of the frame, so answers would leave untagged.
pub fn offloads(iface: &str, features: &io::Result<Vec<(String, Feature)>>, vlan_uppers: &[String]) -> Vec<Check> {
    let features = match features {
        Ok(f) => f,
        Err(e) => {
            return vec![Check::warn(
                "offloads",
                format!("cannot read the feature flags: {e}"),
                format!("ethtool -k {iface}"),
            )];
        }
    };
    let find = |name: &str| features.iter().find(|(n, _)| n == name).map(|(_, f)| *f);
    let merging = |check: &'static str, kernel: &str, alias: &str, off: &str| match find(kernel) {
        None => Check::ok(check, format!("{alias}: not offered by the driver")).fact("active", false),
        Some(f) if !f.active => Check::ok(check, format!("{alias}: off")).fact("active", false),
        // virtio-net reports its host's guest offloads this way, and clears
        // them itself when XDP attaches (or refuses XDP, as the probe shows).
        Some(f) if f.fixed => Check::warn(
            check,
            format!("{alias}: on [fixed]: the driver must turn it off itself when XDP attaches, or it refuses XDP"),
            "nothing to set with ethtool; the xdp-native line shows whether the driver copes",
        )
        .fact("active", true),
        Some(_) => Check::warn(
            check,
            format!("{alias}: on; drivers refuse XDP or hand it merged frames"),
            format!("ethtool -K {iface} {off} off"),
        )
        .fact("active", true),
    };
    let vlan = match find("rx-vlan-hw-parse") {
        None => Check::ok("vlan-offload", "rx-vlan-offload: not offered by the driver").fact("active", false),
        Some(f) if !f.active => Check::ok("vlan-offload", "rx-vlan-offload: off (the program sees and keeps VLAN tags)").fact("active", false),
        Some(_) if !vlan_uppers.is_empty() => Check::warn(
            "vlan-offload",
            format!("rx-vlan-offload: on, and VLANs {} ride on {iface}: tags are stripped before XDP, so answers would leave untagged", vlan_uppers.join(", ")),
            format!("ethtool -K {iface} rxvlan off txvlan off"),
        )
        .fact("active", true),
        Some(_) => Check::ok(
            "vlan-offload",
            format!("rx-vlan-offload: on; no VLAN interfaces on {iface}. If queries arrive tagged: `ethtool -K {iface} rxvlan off txvlan off`"),
        )
        .fact("active", true),
    };
    vec![
        merging("lro", "rx-lro", "large-receive-offload", "lro"),
        merging("hw-gro", "rx-gro-hw", "rx-gro-hw", "rx-gro-hw"),
        vlan.fact("vlan_interfaces", vlan_uppers.to_vec()),
    ]
}

/// `local`: the NIC's NUMA-local online CPUs, `None` when the node is unknown.
pub fn numa(node: Option<u32>, local: Option<&[usize]>, online: &[usize], queues: u32) -> Check {
    let pool: Vec<usize> = local.filter(|l| !l.is_empty()).unwrap_or(online).to_vec();
    let suggested: Vec<String> = pool.iter().take(queues.max(1) as usize).map(ToString::to_string).collect();
    let finding = match node {
        Some(n) => format!("NIC on NUMA node {n}, CPUs {}", list(&pool)),
        None => format!("no NUMA node reported (virtual device or one node); online CPUs {}", list(online)),
    };
    Check::ok("numa", format!("{finding}; workers: `--cpus {}` (what --cpus auto picks)", suggested.join(",")))
        .fact("node", node)
        .fact("local_cpus", pool.clone())
        .fact("suggested_cpus", suggested.join(","))
}

pub fn irqs(irqs: &[Irq], irqbalance: bool) -> Check {
    if irqs.is_empty() {
        return Check::ok("irq-affinity", "no device interrupts (a virtual device): nothing to pin")
            .fact("irqs", Vec::<Value>::new());
    }
    let shown: Vec<String> = irqs
        .iter()
        .take(8)
        .map(|i| {
            format!(
                "{}→{}{}",
                i.number,
                i.affinity,
                i.hint.as_ref().map(|h| format!(" (hint {h})")).unwrap_or_default()
            )
        })
        .collect();
    let more = if irqs.len() > shown.len() { format!(" and {} more", irqs.len() - shown.len()) } else { String::new() };
    let finding = format!("{} interrupts: {}{more}", irqs.len(), shown.join(", "));
    let facts: Vec<Value> =
        irqs.iter().map(|i| json!({"irq": i.number, "affinity": i.affinity, "hint": i.hint})).collect();
    let check = if irqbalance {
        Check::warn(
            "irq-affinity",
            format!("{finding}; irqbalance is running and will move them under the pinned workers"),
            "ban the worker CPUs from irqbalance (IRQBALANCE_BANNED_CPULIST in /etc/default/irqbalance) or stop it, then pin each queue's IRQ to its worker's NUMA node",
        )
    } else {
        Check::ok("irq-affinity", format!("{finding}; keep them on the NIC's NUMA node"))
    };
    check.fact("irqs", facts).fact("irqbalance", irqbalance)
}

pub fn privileges(iface: &str, p: &Privileges) -> Check {
    let missing = p.missing();
    let check = if missing.is_empty() {
        Check::ok(
            "privileges",
            if p.euid == 0 {
                "root with all needed capabilities".into()
            } else {
                format!("uid {} with all needed capabilities", p.euid)
            },
        )
    } else {
        Check::fail(
            "privileges",
            format!("uid {} lacks {}: the XDP probes and `serve --iface` need them", p.euid, missing.join(", ")),
            format!("run as root (`sudo responder doctor --iface {iface}`), or grant the capabilities (systemd AmbientCapabilities=)"),
        )
    };
    check.fact("euid", p.euid).fact("missing_capabilities", missing)
}

/// Each queue's UMEM is locked memory, charged to RLIMIT_MEMLOCK unless the
/// process has CAP_IPC_LOCK.
pub fn memlock(p: &Privileges, queues: u32) -> Check {
    let needed = DEFAULT_UMEM_BYTES * u64::from(queues.max(1));
    let mib = |b: u64| b >> 20;
    let check = match p.memlock {
        _ if p.has(super::host::CAP_IPC_LOCK) => {
            Check::ok("memlock", "CAP_IPC_LOCK: UMEM is not charged to RLIMIT_MEMLOCK")
        }
        None => Check::ok("memlock", "RLIMIT_MEMLOCK unlimited"),
        Some(limit) if limit < needed => Check::warn(
            "memlock",
            format!(
                "RLIMIT_MEMLOCK {} MiB < {} MiB of UMEM for {queues} queue(s) at the defaults",
                mib(limit),
                mib(needed)
            ),
            "`ulimit -l unlimited`, or LimitMEMLOCK=infinity in the systemd unit",
        ),
        Some(limit) => {
            Check::ok("memlock", format!("RLIMIT_MEMLOCK {} MiB ≥ {} MiB of UMEM needed", mib(limit), mib(needed)))
        }
    };
    check.fact("limit_bytes", p.memlock).fact("needed_bytes", needed)
}

pub fn kernel(release: Option<&str>, parsed: Option<(u32, u32)>) -> Check {
    let release = release.unwrap_or("unknown");
    let check = match parsed {
        Some(v) if v < (5, 9) => Check::fail(
            "kernel",
            format!("{release}: XDP bpf_link (5.9+) is missing, so a crashed server would leave its program attached"),
            "upgrade to Linux 5.9 or later (6.x advised), or serve with kernel sockets only",
        ),
        Some(v) if v < (5, 11) => Check::warn(
            "kernel",
            format!("{release}: BPF maps are charged to RLIMIT_MEMLOCK before 5.11"),
            "`ulimit -l unlimited` or upgrade",
        ),
        Some(_) => Check::ok("kernel", release.to_owned()),
        None => Check::warn("kernel", format!("cannot tell the version of {release}"), "uname -r"),
    };
    check.fact("release", release)
}

/// `name`: the attached program's name, when it could be looked up.
pub fn attached(iface: &str, xdp: Option<AttachedXdp>, name: Option<&str>) -> Check {
    let Some(x) = xdp else {
        return Check::ok("xdp-attached", "no XDP program attached").fact("attached", false);
    };
    let who = match name {
        Some("xdp_dns_steer") => {
            format!("responder's `xdp_dns_steer` (id {}): a responder is probably serving here", x.program_id)
        }
        Some(n) => format!("`{n}` (id {})", x.program_id),
        None => format!("id {}", x.program_id),
    };
    let off = if x.mode == super::netlink::XdpAttachMode::Generic { "xdpgeneric" } else { "xdp" };
    Check::warn(
        "xdp-attached",
        format!(
            "another XDP program is attached in {} mode: {who}; left alone, so the XDP probes are skipped",
            x.mode.name()
        ),
        format!("stop its owner (see `bpftool net show dev {iface}`); if stale: `ip link set dev {iface} {off} off`"),
    )
    .fact("attached", true)
    .fact("mode", x.mode.name())
    .fact("program_id", x.program_id)
    .fact("program_name", name)
}

pub fn native(iface: &str, outcome: &Outcome) -> Check {
    match outcome {
        Ok(()) => Check::ok("xdp-native", "native (driver) XDP attaches"),
        Err(e) => Check::warn(
            "xdp-native",
            format!("native XDP refused: {e}"),
            format!("use a driver with native XDP (docs/DEPLOY.md), or `responder serve --listen ADDR:53` without --iface; `--xdp-mode generic` works but slowly on {iface}"),
        ),
    }
    .fact("works", outcome.is_ok())
}

pub fn generic(outcome: &Outcome) -> Check {
    match outcome {
        Ok(()) => Check::ok("xdp-generic", "generic (skb) XDP attaches"),
        Err(e) => Check::fail(
            "xdp-generic",
            format!("generic XDP refused: {e}"),
            "serve with kernel sockets: `responder serve --listen ADDR:53` without --iface",
        ),
    }
    .fact("works", outcome.is_ok())
}

pub fn zero_copy(outcome: Option<&ZeroCopyOutcome>) -> Check {
    let (check, available) = match outcome {
        None => (Check::skip("zero-copy", "needs native XDP, which is not available"), Value::Null),
        Some(ZeroCopyOutcome::Available) => (Check::ok("zero-copy", "AF_XDP zero-copy binds on queue 0"), true.into()),
        Some(ZeroCopyOutcome::CopyOnly) => (
            Check::warn(
                "zero-copy",
                "copy mode only: the driver refuses AF_XDP zero-copy, so each frame is copied once each way",
                "acceptable for moderate rates; for zero-copy use mlx5, ice, i40e or ixgbe (PF)",
            ),
            false.into(),
        ),
        Some(ZeroCopyOutcome::Failed(e)) => (
            Check::fail(
                "zero-copy",
                format!("no AF_XDP socket binds on queue 0: {e}"),
                "see the message; `responder serve --iface` would fail the same way",
            ),
            Value::Null,
        ),
    };
    check.fact("available", available)
}

/// Busy polling (`serve --busy-poll`) works best when the NIC defers its
/// interrupts while the worker polls; Knot DNS advises 2 and 200000 ns.
pub fn busy_poll(iface: &str, defer_hard_irqs: Option<u64>, gro_flush_timeout: Option<u64>) -> Check {
    let show = |v: Option<u64>| v.map_or("unknown".to_string(), |v| v.to_string());
    let finding =
        format!("napi_defer_hard_irqs {}, gro_flush_timeout {}", show(defer_hard_irqs), show(gro_flush_timeout));
    let check = if defer_hard_irqs.unwrap_or(0) > 0 && gro_flush_timeout.unwrap_or(0) > 0 {
        Check::ok("busy-poll", format!("{finding}: set up for --busy-poll"))
    } else {
        Check::ok(
            "busy-poll",
            format!(
                "{finding}: interrupt-driven (fine); for --busy-poll also \
                 `echo 2 > /sys/class/net/{iface}/napi_defer_hard_irqs` and \
                 `echo 200000 > /sys/class/net/{iface}/gro_flush_timeout`"
            ),
        )
    };
    check.fact("napi_defer_hard_irqs", defer_hard_irqs).fact("gro_flush_timeout", gro_flush_timeout)
}

fn list(cpus: &[usize]) -> String {
    if cpus.is_empty() {
        return "none".into();
    }
    cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests;
