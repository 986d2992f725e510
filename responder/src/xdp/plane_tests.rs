//! The whole data plane on a veth pair between two network namespaces: the
//! steering program on the server end, AF_XDP workers answering UDP/53 with a
//! reflector, ordinary kernel sockets and `ping` on the client end.
//!
//! Needs root (namespaces, XDP, AF_XDP): skipped otherwise, unless `CI=true`,
//! where it must run. Traffic stays inside the namespaces, addresses come
//! from 198.18.0.0/15 and fd00::/8, and every exchange is bounded.

use std::fs::File;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::engine::Verdict;

use testkit::testbed::{privileged, Testbed, SERVER_V4, SERVER_V6};

const PORT: u16 = 53;
const DNS_HEADER: usize = 12;
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Answers every steered datagram with its payload bit-inverted, from the
/// address and port it was sent to: a reply the kernel could never have
/// produced, so receiving it proves the AF_XDP path. Checksums are computed
/// from scratch because frames from a veth peer carry only the partial
/// (pseudo-header) UDP checksum of TX offload.
struct Reflector;

impl FrameHandler for Reflector {
    fn handle(&mut self, frame: &mut [u8], len: usize, _capacity: usize) -> Verdict {
        let frame = &mut frame[..len];
        if contains(frame, DROP_ME) {
            return Verdict::Drop;
        }
        if contains(frame, PASS_ME) {
            return Verdict::Pass;
        }
        reflect(frame).map_or(Verdict::Drop, Verdict::Transmit)
    }
}

/// Payload markers that make the reflector return `Drop` / `Pass`.
const DROP_ME: &[u8] = b"please drop me";
const PASS_ME: &[u8] = b"please pass me";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn reflect(frame: &mut [u8]) -> Option<usize> {
    const ETH: usize = 14;
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let (udp, addr_range, addr_len) = match ethertype {
        0x0800 => {
            let ihl = usize::from(frame.get(ETH)? & 0x0f) * 4;
            (*frame.get(ETH + 9)? == 17).then_some(())?;
            (ETH + ihl, ETH + 12..ETH + 20, 4)
        }
        0x86dd => {
            (*frame.get(ETH + 6)? == 17).then_some(())?;
            (ETH + 40, ETH + 8..ETH + 40, 16)
        }
        _ => return None,
    };
    let udp_len = usize::from(u16::from_be_bytes([*frame.get(udp + 4)?, *frame.get(udp + 5)?]));
    let end = udp + udp_len;
    if udp_len < 8 || end > frame.len() {
        return None;
    }
    let (dst_mac, src_mac) = frame[..12].split_at_mut(6);
    dst_mac.swap_with_slice(src_mac);
    let (src, dst) = frame[addr_range.clone()].split_at_mut(addr_len);
    src.swap_with_slice(dst);
    let (sport, dport) = frame[udp..udp + 4].split_at_mut(2);
    sport.swap_with_slice(dport);
    frame[udp + 8..end].iter_mut().for_each(|b| *b = !*b);

    if ethertype == 0x0800 {
        frame[ETH + 10..ETH + 12].fill(0);
        let ihl = usize::from(frame[ETH] & 0x0f) * 4;
        let sum = !fold(sum_bytes(0, &frame[ETH..ETH + ihl]));
        frame[ETH + 10..ETH + 12].copy_from_slice(&sum.to_be_bytes());
    }
    frame[udp + 6..udp + 8].fill(0);
    let mut sum = sum_bytes(0, &frame[addr_range]);
    sum += 17 + udp_len as u32;
    sum = sum_bytes(sum, &frame[udp..end]);
    let checksum = match !fold(sum) {
        0 => 0xffff,
        c => c,
    };
    frame[udp + 6..udp + 8].copy_from_slice(&checksum.to_be_bytes());
    Some(end)
}

fn sum_bytes(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Runs `f` on a fresh thread inside namespace `ns`; the calling thread
/// never changes namespace. Threads and sockets created by `f` stay there.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(format!("/var/run/netns/{ns}")).expect("open the namespace");
                // SAFETY: `file` is an open network namespace; setns affects only this thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Sends one datagram per socket, `sockets` sockets (so flows hash onto
/// different queues), and checks each reply. Returns datagrams exchanged.
fn exchange_many(bed: &Testbed, server: IpAddr, sockets: usize) -> u64 {
    in_netns(&bed.client_ns, || {
        let target = SocketAddr::new(server, PORT);
        for i in 0..sockets {
            let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
            let socket = UdpSocket::bind(bind).unwrap();
            socket.connect(target).unwrap();
            socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
            expect_reflection(&socket, format!("query {i} to {server}").as_bytes());
        }
        sockets as u64
    })
}

/// Many datagrams over one socket, one at a time: wraps every ring several
/// times over.
fn exchange_sequence(bed: &Testbed, server: IpAddr, count: usize) -> u64 {
    in_netns(&bed.client_ns, || {
        let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().unwrap();
        let socket = UdpSocket::bind(bind).unwrap();
        socket.connect(SocketAddr::new(server, PORT)).unwrap();
        socket.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        for i in 0..count {
            // Varying sizes from a bare DNS header (the program passes
            // anything shorter to the kernel) to well past a minimum frame.
            let mut payload: Vec<u8> = (0..(i % 300) + DNS_HEADER).map(|b| (b * 7 + i) as u8).collect();
            // Opcode 4 (NOTIFY) is passed to the kernel for the secondary
            // zones: keep the opcode bits of the flags byte clear of it.
            payload[2] &= 0x87;
            expect_reflection(&socket, &payload);
        }
        count as u64
    })
}

/// Datagrams the handler refuses get no reply; returns how many were sent.
fn send_unanswered(bed: &Testbed, server: IpAddr, marker: &[u8], count: usize) -> u64 {
    in_netns(&bed.client_ns, || {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.connect(SocketAddr::new(server, PORT)).unwrap();
        for _ in 0..count {
            socket.send(marker).unwrap();
        }
        socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; 1500];
        match socket.recv(&mut buf) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            other => panic!("expected no reply to {:?}, got {other:?}", String::from_utf8_lossy(marker)),
        }
        count as u64
    })
}

fn expect_reflection(socket: &UdpSocket, payload: &[u8]) {
    socket.send(payload).unwrap();
    let mut buf = [0u8; 1500];
    let n = socket
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no reply to {} bytes from {:?}: {e}", payload.len(), socket.peer_addr()));
    let inverted: Vec<u8> = payload.iter().map(|b| !b).collect();
    assert_eq!(&buf[..n], &inverted[..], "reply is not the reflection");
}

fn ping(bed: &Testbed, target: IpAddr) {
    let out =
        bed.client_command("ping").args(["-c", "2", "-i", "0.2", "-W", "2", &target.to_string()]).output().unwrap();
    assert!(out.status.success(), "ping {target} while serving: {}", String::from_utf8_lossy(&out.stdout));
}

fn serve_on_veth(test: &str, queues: u32, zero_copy: ZeroCopy) {
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create(test, queues).expect("testbed");
    let config = DataPlaneConfig {
        zero_copy,
        xdp_mode: program::XdpMode::Native,
        ring_size: 256,
        frame_count: 512,
        batch: 32,
        steering: program::SteeringConfig { ports: vec![PORT], addrs: Vec::new(), ..Default::default() },
        ..DataPlaneConfig::new(bed.server_if.clone())
    };

    // The data plane lives on a thread in the server namespace (interface
    // names and sockets resolve there) until the client side is done.
    let server_ns = bed.server_ns.clone();
    let config = &config;
    let stats = std::thread::scope(|scope| {
        // Created in the scope so that a failing client side drops `done_tx`
        // while unwinding, which stops the server instead of hanging on it.
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let server = scope.spawn(move || {
            in_netns(&server_ns, move || {
                let plane = DataPlane::start(config, |_| Reflector);
                let plane = match plane {
                    Ok(plane) => plane,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return None;
                    }
                };
                let _ = ready_tx.send(Ok(plane.queues()));
                // Bounded: the client side either reports or drops the sender.
                let _ = done_rx.recv_timeout(Duration::from_secs(120));
                Some(plane.stop().expect("stop"))
            })
        });
        let served = ready_rx.recv().expect("server thread").expect("data plane start");
        assert_eq!(served.len(), queues as usize);
        for (_, mode) in &served {
            assert_eq!(*mode, BindMode::Copy, "veth has no zero-copy: copy mode expected");
        }

        let mut sent = 0;
        sent += exchange_many(&bed, SERVER_V4.into(), 32);
        sent += exchange_many(&bed, SERVER_V6.into(), 32);
        sent += exchange_sequence(&bed, SERVER_V4.into(), 600);
        sent += exchange_sequence(&bed, SERVER_V6.into(), 100);
        let dropped = send_unanswered(&bed, SERVER_V4.into(), DROP_ME, 10);
        let passed = send_unanswered(&bed, SERVER_V4.into(), PASS_ME, 5);
        ping(&bed, SERVER_V4.into());
        ping(&bed, SERVER_V6.into());
        done_tx.send(()).unwrap();
        let stats = server.join().unwrap().expect("data plane stopped");
        (sent, dropped, passed, stats)
    });
    let (sent, dropped, passed, stats) = stats;

    assert_eq!(stats.len(), queues as usize);
    let total_rx: u64 = stats.iter().map(|s| s.counters.rx).sum();
    let total_tx: u64 = stats.iter().map(|s| s.counters.tx).sum();
    let sum = |f: fn(&QueueStats) -> u64| stats.iter().map(f).sum::<u64>();
    assert_eq!(total_rx, sent + dropped + passed, "every steered query reached a worker, nothing else did: {stats:#?}");
    assert_eq!(total_tx, sent, "every query was answered: {stats:#?}");
    assert_eq!(sum(|s| s.counters.dropped), dropped, "{stats:#?}");
    assert_eq!(sum(|s| s.counters.passed), passed, "{stats:#?}");
    for queue in &stats {
        assert!(queue.counters.rx > 0, "queue {} saw no traffic: {stats:#?}", queue.queue);
        assert_eq!(queue.counters.invalid, 0, "{queue:#?}");
        let kernel = queue.kernel.expect("XDP_STATISTICS");
        assert_eq!(kernel.rx_dropped + kernel.rx_invalid_descs + kernel.tx_invalid_descs, 0, "{queue:#?}");
        assert!(queue.frames_balanced(), "UMEM frames do not add up: {queue:#?}");
        assert_eq!(queue.frames.total, 512);
    }
}

#[test]
fn reflects_udp_on_one_queue_with_zero_copy_fallback() {
    serve_on_veth("xdpq1", 1, ZeroCopy::Auto);
}

#[test]
fn reflects_udp_on_two_queues_in_copy_mode() {
    serve_on_veth("xdpq2", 2, ZeroCopy::Off);
}

#[test]
fn zero_copy_on_is_refused_on_veth_with_advice() {
    if !privileged("zero_copy_on_is_refused_on_veth_with_advice") {
        return;
    }
    let bed = Testbed::create("xdpzc", 1).expect("testbed");
    let config = DataPlaneConfig { zero_copy: ZeroCopy::On, ..DataPlaneConfig::new(bed.server_if.clone()) };
    let err = in_netns(&bed.server_ns, || DataPlane::start(&config, |_| Reflector).err().map(|e| e.to_string()));
    let err = err.expect("zero-copy on veth accepted");
    assert!(err.contains("--zero-copy auto|off"), "{err}");
}

#[test]
fn reflector_builds_valid_checksums() {
    // A UDP/IPv4 frame with a correct checksum, reflected, must still verify.
    let mut frame = vec![
        2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, // Ethernet
        0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1, // IPv4
        0x30, 0x39, 0, 53, 0, 11, 0, 0, // UDP 12345 → 53
        b'a', b'b', b'c',
    ];
    let len = frame.len();
    assert_eq!(reflect(&mut frame), Some(len));
    assert_eq!(&frame[26..34], &[198, 18, 0, 1, 198, 18, 0, 2], "addresses swapped");
    assert_eq!(&frame[34..38], &[0, 53, 0x30, 0x39], "ports swapped");
    assert_eq!(fold(sum_bytes(0, &frame[14..34])), 0xffff, "IPv4 header checksum verifies");
    let mut sum = sum_bytes(0, &frame[26..34]) + 17 + 11;
    sum = sum_bytes(sum, &frame[34..len]);
    assert_eq!(fold(sum), 0xffff, "UDP checksum verifies");
}
