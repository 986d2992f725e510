//! The pcap files `--pcap` writes (link type raw IP, nanosecond
//! timestamps), read back by the capture tests, and by tcpdump as a reader
//! that is not ours.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::daemon::run_bounded;

const TCPDUMP_TIMEOUT: Duration = Duration::from_secs(3);

/// The UDP and TCP payloads (TCP without its length prefix) of a pcap file
/// with link type raw IP, as (protocol, source, destination, payload).
pub fn read_pcap(file: &Path) -> Vec<(u8, SocketAddr, SocketAddr, Vec<u8>)> {
    let bytes = std::fs::read(file).expect("pcap file");
    assert_eq!(&bytes[..4], &0xa1b2_3c4du32.to_le_bytes(), "pcap magic (nanosecond)");
    assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()), 101, "link type raw IP");
    let mut packets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let p = &bytes[at + 16..at + 16 + len];
        at += 16 + len;
        let (protocol, src, dst, l4): (u8, std::net::IpAddr, std::net::IpAddr, &[u8]) = match p[0] >> 4 {
            4 => {
                let ihl = usize::from(p[0] & 15) * 4;
                let a = <[u8; 4]>::try_from(&p[12..16]).unwrap();
                let b = <[u8; 4]>::try_from(&p[16..20]).unwrap();
                (p[9], a.into(), b.into(), &p[ihl..])
            }
            6 => {
                let a = <[u8; 16]>::try_from(&p[8..24]).unwrap();
                let b = <[u8; 16]>::try_from(&p[24..40]).unwrap();
                (p[6], a.into(), b.into(), &p[40..])
            }
            v => panic!("IP version {v} in the pcap"),
        };
        let ports = |l4: &[u8]| (u16::from_be_bytes([l4[0], l4[1]]), u16::from_be_bytes([l4[2], l4[3]]));
        let (sp, dp) = ports(l4);
        let payload = match protocol {
            17 => l4[8..].to_vec(),
            6 => l4[usize::from(l4[12] >> 4) * 4 + 2..].to_vec(),
            other => panic!("protocol {other} in the pcap"),
        };
        packets.push((protocol, SocketAddr::new(src, sp), SocketAddr::new(dst, dp), payload));
    }
    assert_eq!(at, bytes.len(), "the pcap file ends on a record boundary");
    // And a reader that is not ours agrees: one line per packet.
    let out =
        run_bounded(Command::new("tcpdump").args(["-nn", "-r"]).arg(file), TCPDUMP_TIMEOUT).expect("tcpdump runs");
    assert!(out.status.success(), "tcpdump -r: {}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, packets.len(), "tcpdump reads every packet: {}", String::from_utf8_lossy(&out.stdout));
    packets
}
