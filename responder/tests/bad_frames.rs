//! Every class of malformed or unwelcome frame a worker can meet, layer by
//! layer, and the exact verdict `answer_in_place` gives it. The property
//! tests (engine/proptests.rs) prove the general promises over random bytes
//! (no panic, no write past capacity, a passed frame untouched); this file
//! pins down what happens to each class, as docs/BAD-INPUT.md lists them.
//!
//! Pass hands the frame to the kernel unchanged (a worker counts it and
//! recycles it: see xdp/worker.rs); Drop recycles it silently.

use responder::engine::{answer_in_place, Engine, Options, Verdict};
use responder::table::Table;
use responder::zone;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
                    @ NS ns1\nns1 A 198.18.0.53\nwww A 198.18.0.80\n";

/// One UMEM frame.
const CAPACITY: usize = 2048;
const ETH: usize = 14;
const IPV4: usize = 20;
const IPV6: usize = 40;
const UDP: usize = 8;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const PROTO_UDP: u8 = 17;
const PROTO_TCP: u8 = 6;

const CLIENT_V4: [u8; 4] = [198, 18, 0, 2];
const SERVER_V4: [u8; 4] = [198, 18, 0, 1];
const CLIENT_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const SERVER_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

fn engine() -> Engine {
    let z = zone::parse_str(ZONE, "bad-frames.zone", None).expect("zone");
    Engine::new(Table::compile(&[z]).expect("table"), Options::default())
}

/// `www.example.com. A`, no EDNS.
fn query() -> Vec<u8> {
    let mut q = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    q
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A query frame; fields are public so each case can break one thing.
#[derive(Clone)]
struct Frame {
    src_mac: [u8; 6],
    tags: Vec<u16>,
    v6: bool,
    ip_options: Vec<u8>,
    protocol: u8,
    frag: u16,
    src4: [u8; 4],
    dst4: [u8; 4],
    src6: [u8; 16],
    dst6: [u8; 16],
    src_port: u16,
    payload: Vec<u8>,
}

impl Frame {
    fn v4() -> Frame {
        Frame {
            src_mac: CLIENT_MAC,
            tags: Vec::new(),
            v6: false,
            ip_options: Vec::new(),
            protocol: PROTO_UDP,
            frag: 0x4000, // DF
            src4: CLIENT_V4,
            dst4: SERVER_V4,
            src6: CLIENT_V6,
            dst6: SERVER_V6,
            src_port: 40000,
            payload: query(),
        }
    }

    fn v6() -> Frame {
        Frame { v6: true, ..Frame::v4() }
    }

    /// Offset of the IP header.
    fn l3(&self) -> usize {
        ETH + 4 * self.tags.len()
    }

    fn udp_at(&self) -> usize {
        self.l3() + if self.v6 { IPV6 } else { IPV4 + self.ip_options.len() }
    }

    fn build(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(128);
        f.extend_from_slice(&SERVER_MAC);
        f.extend_from_slice(&self.src_mac);
        let outer =
            |tag_index: usize| if tag_index == 0 && self.tags.len() > 1 { ETHERTYPE_QINQ } else { ETHERTYPE_VLAN };
        for (i, vid) in self.tags.iter().enumerate() {
            f.extend_from_slice(&outer(i).to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&(if self.v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 }).to_be_bytes());
        let udp_len = (UDP + self.payload.len()) as u16;
        if self.v6 {
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&udp_len.to_be_bytes());
            f.extend_from_slice(&[self.protocol, 64]);
            f.extend_from_slice(&self.src6);
            f.extend_from_slice(&self.dst6);
        } else {
            let ihl = (IPV4 + self.ip_options.len()) / 4;
            let total = (ihl * 4) as u16 + udp_len;
            let at = f.len();
            f.extend_from_slice(&[0x40 | ihl as u8, 0]);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&[0x12, 0x34]);
            f.extend_from_slice(&self.frag.to_be_bytes());
            f.extend_from_slice(&[64, self.protocol, 0, 0]);
            f.extend_from_slice(&self.src4);
            f.extend_from_slice(&self.dst4);
            f.extend_from_slice(&self.ip_options);
            let csum = fold(sum16(&f[at..]));
            f[at + 10..at + 12].copy_from_slice(&csum.to_be_bytes());
        }
        f.extend_from_slice(&self.src_port.to_be_bytes());
        f.extend_from_slice(&53u16.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]); // no checksum: allowed over IPv4 only
        f.extend_from_slice(&self.payload);
        if self.v6 {
            // Zero is illegal over IPv6 (RFC 8200 8.1): the real sum.
            let udp = self.udp_at();
            let pseudo = sum16(&self.src6) + sum16(&self.dst6) + u32::from(udp_len) + u32::from(self.protocol);
            let csum = match fold(pseudo + sum16(&f[udp..])) {
                0 => 0xffff,
                c => c,
            };
            f[udp + 6..udp + 8].copy_from_slice(&csum.to_be_bytes());
        }
        f
    }
}

/// The verdict for `frame`; a passed frame must come back byte for byte.
fn verdict(e: &Engine, frame: &[u8]) -> Verdict {
    let mut buf = vec![0u8; CAPACITY];
    buf[..frame.len()].copy_from_slice(frame);
    let v = answer_in_place(e, &mut buf, frame.len(), CAPACITY);
    if v == Verdict::Pass {
        assert_eq!(&buf[..frame.len()], frame, "a passed frame must be untouched");
    }
    v
}

/// The answer frame, asserting the verdict is Transmit.
fn answer(e: &Engine, frame: &[u8], what: &str) -> Vec<u8> {
    let mut buf = vec![0u8; CAPACITY];
    buf[..frame.len()].copy_from_slice(frame);
    match answer_in_place(e, &mut buf, frame.len(), CAPACITY) {
        Verdict::Transmit(n) => buf[..n].to_vec(),
        other => panic!("{what}: expected an answer, got {other:?}"),
    }
}

fn check(e: &Engine, cases: Vec<(&str, Vec<u8>, Verdict)>) {
    for (what, frame, want) in cases {
        assert_eq!(verdict(e, &frame), want, "{what}");
    }
}

fn set_u16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Recomputes the IPv4 header checksum after a test edits the header.
fn reseal_v4(f: &mut [u8], l3: usize) {
    let ihl = (f[l3] & 0xf) as usize * 4;
    set_u16(f, l3 + 10, 0);
    let csum = fold(sum16(&f[l3..l3 + ihl]));
    set_u16(f, l3 + 10, csum);
}

#[test]
fn ethernet_and_vlan() {
    let e = engine();
    let good = Frame::v4().build();
    let mut arp = good.clone();
    set_u16(&mut arp, 12, 0x0806);
    let three_tags = Frame { tags: vec![1, 2, 3], ..Frame::v4() }.build();
    let mut cut_in_tag = good[..12].to_vec();
    cut_in_tag.extend_from_slice(&[0x81, 0x00, 0x00]);
    let multicast_source = Frame { src_mac: [0x01, 0x00, 0x5e, 0, 0, 1], ..Frame::v4() }.build();
    let broadcast_source = Frame { src_mac: [0xff; 6], ..Frame::v4() }.build();
    check(
        &e,
        vec![
            ("shorter than an Ethernet header", good[..13].to_vec(), Verdict::Pass),
            ("ARP", arp, Verdict::Pass),
            ("three VLAN tags", three_tags, Verdict::Pass),
            ("cut inside a VLAN tag", cut_in_tag, Verdict::Pass),
            ("multicast source MAC", multicast_source, Verdict::Drop),
            ("broadcast source MAC", broadcast_source, Verdict::Drop),
        ],
    );
    // One 802.1Q tag and QinQ are answered on the same tags.
    for tags in [vec![10], vec![100, 10]] {
        for base in [Frame::v4(), Frame::v6()] {
            let f = Frame { tags: tags.clone(), ..base }.build();
            let a = answer(&e, &f, &format!("tags {tags:?}"));
            let l3 = ETH + 4 * tags.len();
            assert_eq!(&a[12..l3], &f[12..l3], "tags {tags:?} kept");
            assert_eq!((&a[..6], &a[6..12]), (&f[6..12], &f[..6]), "MACs swapped");
        }
    }
}

#[test]
fn ipv4_headers() {
    let e = engine();
    let base = Frame::v4();
    let l3 = base.l3();
    let good = base.build();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    check(
        &e,
        vec![
            ("version 6 behind the IPv4 EtherType", edit(&|b| b[l3] = 0x65), Verdict::Pass),
            ("IHL 4", edit(&|b| b[l3] = 0x44), Verdict::Pass),
            (
                "IHL 15, frame ends inside the options",
                edit(&|b| {
                    b[l3] = 0x4f;
                    b.truncate(l3 + 59)
                }),
                Verdict::Pass,
            ),
            ("TCP", Frame { protocol: PROTO_TCP, ..Frame::v4() }.build(), Verdict::Pass),
            ("ICMP", Frame { protocol: 1, ..Frame::v4() }.build(), Verdict::Pass),
            ("first fragment (MF)", Frame { frag: 0x2000, ..Frame::v4() }.build(), Verdict::Pass),
            ("later fragment (offset)", Frame { frag: 0x0001, ..Frame::v4() }.build(), Verdict::Pass),
            (
                "total length below IP + UDP headers",
                edit(&|b| {
                    set_u16(b, l3 + 2, 27);
                    reseal_v4(b, l3)
                }),
                Verdict::Drop,
            ),
            (
                "total length beyond the frame",
                edit(&|b| {
                    let n = b.len() - l3 + 1;
                    set_u16(b, l3 + 2, n as u16);
                    reseal_v4(b, l3)
                }),
                Verdict::Drop,
            ),
            ("bad header checksum", edit(&|b| b[l3 + 10] ^= 0xff), Verdict::Drop),
            ("source 0.0.0.0", Frame { src4: [0; 4], ..Frame::v4() }.build(), Verdict::Drop),
            ("source broadcast", Frame { src4: [255; 4], ..Frame::v4() }.build(), Verdict::Drop),
            ("source multicast", Frame { src4: [224, 0, 0, 251], ..Frame::v4() }.build(), Verdict::Drop),
            ("source class E", Frame { src4: [240, 0, 0, 1], ..Frame::v4() }.build(), Verdict::Drop),
            ("source loopback (spoofed)", Frame { src4: [127, 0, 0, 1], ..Frame::v4() }.build(), Verdict::Drop),
            ("destination multicast", Frame { dst4: [224, 0, 0, 251], ..Frame::v4() }.build(), Verdict::Drop),
            ("destination broadcast", Frame { dst4: [255; 4], ..Frame::v4() }.build(), Verdict::Drop),
        ],
    );
    // DF alone is not a fragment.
    answer(&e, &good, "DF set");
    // Options are accepted and not echoed: the answer has a 20-byte header.
    let with_options = Frame { ip_options: vec![0x94, 4, 0, 0], ..Frame::v4() }.build();
    let a = answer(&e, &with_options, "router alert option");
    assert_eq!(a[l3], 0x45, "options removed from the answer");
    let mut longest = vec![1u8; 39];
    longest.push(0);
    let a = answer(&e, &Frame { ip_options: longest, ..Frame::v4() }.build(), "40 bytes of options");
    assert_eq!(a[l3], 0x45);
    // Ethernet padding after the IP datagram is ignored.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xee; 16]);
    assert_eq!(answer(&e, &padded, "padded"), answer(&e, &good, "unpadded"));
}

#[test]
fn udp_headers() {
    let e = engine();
    let good = Frame::v4().build();
    let udp = Frame::v4().udp_at();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let udp_len = good.len() - udp;
    check(
        &e,
        vec![
            ("UDP length below 8", edit(&|b| set_u16(b, udp + 4, 7)), Verdict::Drop),
            ("UDP length beyond the IP payload", edit(&|b| set_u16(b, udp + 4, udp_len as u16 + 1)), Verdict::Drop),
            ("source port 0", Frame { src_port: 0, ..Frame::v4() }.build(), Verdict::Drop),
            ("empty DNS payload", Frame { payload: Vec::new(), ..Frame::v4() }.build(), Verdict::Drop),
        ],
    );
    // A wrong checksum is not verified (see engine/frame.rs for why): answered.
    let a = answer(&e, &edit(&|b| set_u16(b, udp + 6, 0x1234)), "wrong UDP checksum");
    assert_eq!(&a[a.len() - 4..], &[198, 18, 0, 80], "the real answer");
    // A UDP length shorter than the IP payload: the datagram ends where UDP says.
    let mut trailing = Frame::v4();
    trailing.payload.extend_from_slice(&[0xde, 0xad]);
    let mut f = trailing.build();
    set_u16(&mut f, udp + 4, udp_len as u16);
    assert_eq!(
        &answer(&e, &f, "trailing bytes in the IP payload")[udp + UDP..],
        &answer(&e, &good, "good")[udp + UDP..]
    );
}

#[test]
fn ipv6_headers() {
    let e = engine();
    let base = Frame::v6();
    let l3 = base.l3();
    let udp = base.udp_at();
    let good = base.build();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let payload_len = good.len() - udp;
    let mut all_nodes = [0u8; 16];
    all_nodes[0] = 0xff;
    all_nodes[1] = 0x02;
    all_nodes[15] = 1;
    let mut v4_mapped_loopback = [0u8; 16];
    v4_mapped_loopback[10..].copy_from_slice(&[0xff, 0xff, 127, 0, 0, 1]);
    check(
        &e,
        vec![
            ("version 4 behind the IPv6 EtherType", edit(&|b| b[l3] = 0x45), Verdict::Pass),
            ("shorter than the fixed header", good[..l3 + 39].to_vec(), Verdict::Pass),
            ("hop-by-hop options header", Frame { protocol: 0, ..Frame::v6() }.build(), Verdict::Pass),
            ("fragment header", Frame { protocol: 44, ..Frame::v6() }.build(), Verdict::Pass),
            ("routing header", Frame { protocol: 43, ..Frame::v6() }.build(), Verdict::Pass),
            ("TCP", Frame { protocol: PROTO_TCP, ..Frame::v6() }.build(), Verdict::Pass),
            ("payload length beyond the frame", edit(&|b| set_u16(b, l3 + 4, payload_len as u16 + 1)), Verdict::Drop),
            ("payload length below 8", edit(&|b| set_u16(b, l3 + 4, 7)), Verdict::Drop),
            ("UDP length beyond the payload", edit(&|b| set_u16(b, udp + 4, payload_len as u16 + 1)), Verdict::Drop),
            ("UDP length below 8", edit(&|b| set_u16(b, udp + 4, 7)), Verdict::Drop),
            ("source port 0", Frame { src_port: 0, ..Frame::v6() }.build(), Verdict::Drop),
            ("source multicast", Frame { src6: all_nodes, ..Frame::v6() }.build(), Verdict::Drop),
            ("source unspecified", Frame { src6: [0; 16], ..Frame::v6() }.build(), Verdict::Drop),
            ("destination multicast", Frame { dst6: all_nodes, ..Frame::v6() }.build(), Verdict::Drop),
            ("UDP checksum 0 (RFC 8200)", edit(&|b| set_u16(b, udp + 6, 0)), Verdict::Drop),
            ("source v4-mapped loopback", Frame { src6: v4_mapped_loopback, ..Frame::v6() }.build(), Verdict::Drop),
        ],
    );
    answer(&e, &good, "a good IPv6 query");
}

#[test]
fn dns_payloads_the_frame_path_will_not_answer() {
    let e = engine();
    let mut response = query();
    response[2] |= 0x80;
    check(
        &e,
        vec![
            ("a response (QR set)", Frame { payload: response, ..Frame::v4() }.build(), Verdict::Drop),
            (
                "shorter than a DNS header",
                Frame { payload: query()[..11].to_vec(), ..Frame::v6() }.build(),
                Verdict::Drop,
            ),
        ],
    );
    // A malformed question is answered (FORMERR), not dropped.
    let mut bad = query();
    bad[12] = 64;
    let a = answer(&e, &Frame { payload: bad, ..Frame::v4() }.build(), "label length 64");
    let dns = &a[Frame::v4().udp_at() + UDP..];
    assert_eq!((dns.len(), dns[3] & 0xf), (12, 1), "FORMERR, header only");
}

#[test]
fn a_frame_longer_than_its_buffer_is_dropped() {
    let e = engine();
    let good = Frame::v4().build();
    let mut buf = good.clone();
    assert_eq!(answer_in_place(&e, &mut buf, good.len(), good.len() - 1), Verdict::Drop);
    assert_eq!(buf, good, "untouched");
}
