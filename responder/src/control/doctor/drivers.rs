//! What is known about the drivers responder is likely to meet, as data.
//! Sources: the driver table in isovalent/ebpf-docs (`BPF_PROG_TYPE_XDP`),
//! Knot DNS's operation guide, and the driver issues collected in
//! `/work/shared/research/xdp-dns-prior-art.md` §5–6. The probes have the last
//! word on what works; this table explains *why* and what to expect.

/// How many queues a driver lets XDP use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRule {
    /// Any channel count up to the maximum.
    AnyCount,
    /// XDP is refused unless channels ≤ half the maximum (the other half
    /// become XDP TX queues).
    AtMostHalfOfMax,
    /// XDP needs one spare TX queue per CPU beyond those in use.
    SpareTxPerCpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverFacts {
    pub name: &'static str,
    /// Native XDP expected (may still need a recent enough kernel).
    pub native_xdp: bool,
    /// AF_XDP zero-copy upstream.
    pub zero_copy: bool,
    /// Largest MTU for single-buffer XDP on x86 (page size 4 KiB).
    pub xdp_max_mtu: Option<u32>,
    pub queues: QueueRule,
    /// Worth knowing before deploying; empty when there is nothing special.
    pub note: &'static str,
}

const fn driver(name: &'static str, native_xdp: bool, zero_copy: bool, xdp_max_mtu: Option<u32>) -> DriverFacts {
    DriverFacts { name, native_xdp, zero_copy, xdp_max_mtu, queues: QueueRule::AnyCount, note: "" }
}

const DRIVERS: &[DriverFacts] = &[
    DriverFacts {
        note: "mlx5 PF and SR-IOV VF share one driver: native XDP and zero-copy on both",
        ..driver("mlx5_core", true, true, Some(3498))
    },
    DriverFacts {
        note: "tested by Knot DNS up to 127 channels (E810); kernel 6.10.4+ advised",
        ..driver("ice", true, true, Some(3046))
    },
    driver("i40e", true, true, Some(3046)),
    DriverFacts {
        note: "Knot DNS reports known instability with XDP on ixgbe",
        ..driver("ixgbe", true, true, Some(3050))
    },
    DriverFacts {
        note: "ixgbe VF: native XDP but copy-mode AF_XDP only (no zero-copy)",
        ..driver("ixgbevf", true, false, Some(3050))
    },
    DriverFacts {
        note: "Intel VF (E810/X710): no native XDP upstream, so generic mode only; for XDP speed pass \
               the PF through or use an mlx5 VF",
        ..driver("iavf", false, false, None)
    },
    DriverFacts {
        queues: QueueRule::AtMostHalfOfMax,
        note: "AWS ENA: XDP refused unless channels ≤ half the maximum; zero-copy only in \
               amzn-drivers out-of-tree releases",
        ..driver("ena", true, false, Some(3498))
    },
    DriverFacts {
        queues: QueueRule::SpareTxPerCpu,
        note: "virtio-net: XDP needs one extra TX queue per CPU (\"Too few free TX rings\"): give \
               the VM more queues than it uses (e.g. libvirt <driver queues='2N'/>); zero-copy since 6.11",
        ..driver("virtio_net", true, true, Some(3506))
    },
    DriverFacts {
        note: "Azure synthetic NIC: XDP is passed on to the accelerated-networking VF and \
               XDP_REDIRECT is not supported here; run doctor on the VF (mlx5) interface instead",
        ..driver("hv_netvsc", true, false, None)
    },
    DriverFacts { note: "Azure MANA: native XDP, no zero-copy", ..driver("mana", true, false, None) },
    driver("gve", true, true, None),
    driver("idpf", true, true, None),
    DriverFacts {
        note: "veth: copy-mode AF_XDP only; native XDP works but the kernel built the skb anyway: \
               for tests, not for speed",
        ..driver("veth", true, false, Some(3520))
    },
];

/// The table's entry for a driver name as `ethtool -i` reports it.
pub fn lookup(driver: &str) -> Option<&'static DriverFacts> {
    DRIVERS.iter().find(|d| d.name == driver)
}

impl DriverFacts {
    /// The combined-channel count to suggest for `cpus` worker CPUs on a
    /// device allowing `max` channels.
    pub fn suggested_channels(&self, cpus: u32, max: u32) -> u32 {
        let limit = match self.queues {
            QueueRule::AnyCount => max,
            QueueRule::AtMostHalfOfMax => max / 2,
            QueueRule::SpareTxPerCpu => max.saturating_sub(cpus),
        };
        cpus.min(limit).max(1)
    }
}

/// For drivers not in the table: queue rule of the common case.
pub fn suggested_channels_unknown(cpus: u32, max: u32) -> u32 {
    cpus.min(max).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_consistent() {
        for d in DRIVERS {
            assert!(!d.zero_copy || d.native_xdp, "{}: zero-copy needs native XDP", d.name);
            assert_eq!(DRIVERS.iter().filter(|o| o.name == d.name).count(), 1, "{} listed twice", d.name);
        }
        assert!(lookup("iavf").is_some_and(|d| !d.native_xdp && d.xdp_max_mtu.is_none()));
        assert!(lookup("mlx5_core").is_some_and(|d| d.zero_copy && d.xdp_max_mtu == Some(3498)));
        assert!(lookup("e1000").is_none());
    }

    #[test]
    fn channel_suggestions_respect_driver_rules() {
        let ena = lookup("ena").unwrap();
        assert_eq!(ena.suggested_channels(8, 8), 4, "ENA: at most half the maximum");
        let virtio = lookup("virtio_net").unwrap();
        assert_eq!(virtio.suggested_channels(4, 8), 4, "4 in use + 4 spare TX");
        assert_eq!(virtio.suggested_channels(4, 4), 1, "never zero");
        assert_eq!(lookup("i40e").unwrap().suggested_channels(16, 64), 16);
        assert_eq!(suggested_channels_unknown(16, 8), 8);
    }
}
