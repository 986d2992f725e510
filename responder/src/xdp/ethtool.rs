//! The `SIOCETHTOOL` requests responder makes (queue counts for the data plane,
//! everything `doctor` reports): driver information, channel
//! (queue) counts with their maxima, and the feature flags by name. The same
//! ioctls `ethtool -i`, `-l` and `-k` use, so the findings match what an
//! operator sees there.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const ETHTOOL_GDRVINFO: u32 = 0x03;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GFEATURES: u32 = 0x3a;
const ETHTOOL_GCHANNELS: u32 = 0x3c;
const ETHTOOL_GRXFH: u32 = 0x29;
const UDP_V4_FLOW: u32 = 0x02;
const UDP_V6_FLOW: u32 = 0x06;
const ETH_SS_FEATURES: u32 = 4;
const ETH_GSTRING_LEN: usize = 32;
/// No kernel has anywhere near this many features (about 70 in 6.x); a
/// bound keeps a confused reply from sizing a huge buffer.
const MAX_FEATURES: u32 = 1024;

/// `ethtool -i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    pub driver: String,
    pub version: String,
    pub firmware: String,
    /// PCI address and the like; empty for virtual devices.
    pub bus_info: String,
}

/// `ethtool -l`: current and maximum queue counts per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels {
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_combined: u32,
    pub rx: u32,
    pub tx: u32,
    pub combined: u32,
}

impl Channels {
    /// RX queues an AF_XDP socket can bind to.
    pub fn rx_queues(&self) -> u32 {
        self.combined + self.rx
    }
}

/// One `ethtool -k` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub active: bool,
    /// `[fixed]`: the driver does not let it be changed.
    pub fixed: bool,
}

/// Which header fields RSS hashes for a flow type (`RXH_*` bits, as
/// `ethtool -n IF rx-flow-hash udp4` shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxHashFields(pub u64);

impl RxHashFields {
    const IP_SRC: u64 = 1 << 4;
    const IP_DST: u64 = 1 << 5;
    const L4_BYTES_0_1: u64 = 1 << 6;
    const L4_BYTES_2_3: u64 = 1 << 7;

    /// Source and destination address and port (`sdfn`): queries from one
    /// resolver address spread over all queues by source port.
    pub fn includes_ports(self) -> bool {
        let sdfn = Self::IP_SRC | Self::IP_DST | Self::L4_BYTES_0_1 | Self::L4_BYTES_2_3;
        self.0 & sdfn == sdfn
    }
}

/// `struct ethtool_drvinfo` from <linux/ethtool.h>.
#[repr(C)]
struct EthtoolDrvinfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// `struct ethtool_channels`.
#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

/// `struct ethtool_rxnfc`: the fields GRXFH uses, then room for the rest
/// of the struct (about 190 bytes in all), which the kernel may copy back.
#[repr(C)]
struct EthtoolRxnfc {
    cmd: u32,
    flow_type: u32,
    data: u64,
    rest: [u8; 248],
}

/// An ethtool socket bound to one interface name.
pub struct Ethtool {
    sock: OwnedFd,
    name: [libc::c_char; libc::IFNAMSIZ],
}

impl Ethtool {
    pub fn new(iface: &str) -> io::Result<Ethtool> {
        let bytes = iface.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {iface:?}")));
        }
        let mut name = [0 as libc::c_char; libc::IFNAMSIZ];
        for (dst, src) in name.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        // SAFETY: plain socket creation; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Ethtool { sock, name })
    }

    pub fn driver_info(&self) -> io::Result<DriverInfo> {
        // SAFETY: the struct is plain integers and byte arrays; all-zero is valid.
        let mut info: EthtoolDrvinfo = unsafe { std::mem::zeroed() };
        info.cmd = ETHTOOL_GDRVINFO;
        // SAFETY: `info` is a live ethtool_drvinfo, the layout GDRVINFO writes.
        unsafe { self.ioctl((&mut info as *mut EthtoolDrvinfo).cast()) }?;
        Ok(DriverInfo {
            driver: c_string(&info.driver),
            version: c_string(&info.version),
            firmware: c_string(&info.fw_version),
            bus_info: c_string(&info.bus_info),
        })
    }

    pub fn channels(&self) -> io::Result<Channels> {
        let mut ch = EthtoolChannels { cmd: ETHTOOL_GCHANNELS, ..EthtoolChannels::default() };
        // SAFETY: `ch` is a live ethtool_channels, the layout GCHANNELS writes.
        unsafe { self.ioctl((&mut ch as *mut EthtoolChannels).cast()) }?;
        Ok(Channels {
            max_rx: ch.max_rx,
            max_tx: ch.max_tx,
            max_combined: ch.max_combined,
            rx: ch.rx_count,
            tx: ch.tx_count,
            combined: ch.combined_count,
        })
    }

    /// The RSS hash fields for UDP over IPv4 and over IPv6.
    pub fn udp_hash_fields(&self) -> io::Result<(RxHashFields, RxHashFields)> {
        Ok((self.rx_hash_fields(UDP_V4_FLOW)?, self.rx_hash_fields(UDP_V6_FLOW)?))
    }

    fn rx_hash_fields(&self, flow_type: u32) -> io::Result<RxHashFields> {
        let mut rxnfc = EthtoolRxnfc { cmd: ETHTOOL_GRXFH, flow_type, data: 0, rest: [0; 248] };
        // SAFETY: `rxnfc` is a live ethtool_rxnfc (with room to spare) with
        // cmd and flow_type set, as GRXFH expects.
        unsafe { self.ioctl((&mut rxnfc as *mut EthtoolRxnfc).cast()) }?;
        Ok(RxHashFields(rxnfc.data))
    }

    /// Every feature by its kernel name (`rx-lro`, `rx-gro-hw`,
    /// `rx-vlan-hw-parse`, …; `ethtool -k` shows some under longer aliases).
    pub fn features(&self) -> io::Result<Vec<(String, Feature)>> {
        let names = self.feature_names()?;
        let blocks = names.len().div_ceil(32);
        // struct ethtool_gfeatures: cmd, size, then `size` blocks of
        // {available, requested, active, never_changed}.
        let mut buf = vec![0u32; 2 + 4 * blocks];
        buf[0] = ETHTOOL_GFEATURES;
        buf[1] = blocks as u32;
        // SAFETY: `buf` holds the header and `blocks` feature blocks, as
        // announced in its `size` field, so the kernel writes within it.
        unsafe { self.ioctl(buf.as_mut_ptr().cast()) }?;
        let features = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let block = &buf[2 + 4 * (i / 32)..][..4];
                let bit = 1u32 << (i % 32);
                let (available, active, never_changed) = (block[0] & bit, block[2] & bit, block[3] & bit);
                // The rule `ethtool -k` uses for `[fixed]`.
                (name, Feature { active: active != 0, fixed: available == 0 || never_changed != 0 })
            })
            .collect();
        Ok(features)
    }

    fn feature_names(&self) -> io::Result<Vec<String>> {
        // struct ethtool_sset_info: cmd, reserved, u64 mask, then one u32 per set in the mask.
        let mut info = [0u32; 5];
        info[0] = ETHTOOL_GSSET_INFO;
        let mask = 1u64 << ETH_SS_FEATURES;
        info[2] = mask as u32;
        info[3] = (mask >> 32) as u32;
        // SAFETY: `info` has room for the header and the one count we ask for.
        unsafe { self.ioctl(info.as_mut_ptr().cast()) }?;
        let returned = u64::from(info[2]) | u64::from(info[3]) << 32;
        if returned & mask == 0 {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no feature names from the kernel"));
        }
        let count = info[4].min(MAX_FEATURES) as usize;
        // struct ethtool_gstrings: cmd, string_set, len, then len × 32 bytes;
        // held in u32s for the header's alignment.
        let mut buf = vec![0u32; 3 + count * ETH_GSTRING_LEN / 4];
        buf[0] = ETHTOOL_GSTRINGS;
        buf[1] = ETH_SS_FEATURES;
        buf[2] = count as u32;
        // SAFETY: `buf` has room for `count` strings after the header, as `len` says.
        unsafe { self.ioctl(buf.as_mut_ptr().cast()) }?;
        let bytes: Vec<u8> = buf[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
        Ok(bytes.chunks(ETH_GSTRING_LEN).map(c_string).collect())
    }

    /// # Safety
    /// `data` must point to a live ethtool command structure whose `cmd`
    /// field is set and which is as large as that command reads and writes.
    unsafe fn ioctl(&self, data: *mut libc::c_void) -> io::Result<()> {
        // SAFETY: ifreq is plain data; all-zero is valid.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        ifr.ifr_name = self.name;
        ifr.ifr_ifru.ifru_data = data.cast();
        // SAFETY: `ifr` names the interface and points at the caller's command
        // structure, which outlives the call (the caller's contract).
        let rc = unsafe { libc::ioctl(self.sock.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A NUL-padded C string from a fixed-size field (not necessarily terminated).
fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    CStr::from_bytes_with_nul(&[&field[..end], &[0]].concat())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_stop_at_nul_or_field_end() {
        assert_eq!(c_string(b"veth\0\0\0\0"), "veth");
        assert_eq!(c_string(b"full"), "full");
        assert_eq!(c_string(b"\0abc"), "");
    }

    #[test]
    fn loopback_features() {
        // Every interface has the kernel's full feature list, lo included.
        let features = Ethtool::new("lo").unwrap().features().expect("features of lo");
        let lro = features.iter().find(|(n, _)| n == "rx-lro").expect("rx-lro is a feature name");
        assert!(!lro.1.active, "lo does no LRO");
        assert!(features.iter().any(|(n, _)| n == "rx-vlan-hw-parse"));
        assert!(features.len() > 30, "only {} features", features.len());
    }

    #[test]
    fn port_hashing_needs_all_four_fields() {
        assert!(RxHashFields(0xf0).includes_ports(), "sdfn");
        assert!(!RxHashFields(0x30).includes_ports(), "sd only");
        assert!(!RxHashFields(0).includes_ports());
    }

    #[test]
    fn bad_names_and_missing_interfaces() {
        assert!(Ethtool::new("").is_err());
        assert!(Ethtool::new("much-too-long-name0").is_err());
        let e = Ethtool::new("nosuchif0").unwrap().driver_info().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }
}
