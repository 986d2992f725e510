//! Capture of the answers the XDP program gives itself (tier 0), end to
//! end on a veth testbed: `responder serve --xdp-answers apex+delegations
//! --dnstap unix:PATH` feeding `fstrm_capture` (Debian fstrm-bin). Every
//! query tier 0 answered shows up as an AUTH_QUERY / AUTH_RESPONSE pair
//! holding exactly the bytes the client sent and received, as
//! `dnstap-read` (bind9-dnsutils) prints them, with the client's address
//! and port, and marked `extra=xdp-kernel` (the workers' are not); the
//! pcap file (`--pcap`, read here and by tcpdump) has both packets. With
//! `--dnstap-sample 3`, exactly the 3rd, 6th, ... tier-0 answers are
//! captured: the client sends from one CPU, so the program's per-CPU
//! sampler sees them all in order.
//!
//! Needs root, fstrm_capture, dnstap-read and clang (the client end's
//! XDP_PASS program, see `client_pass`): skipped with a message
//! otherwise, except under `CI=true`.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use responder::capture::proto::Dnstap;
use responder_tests::client_pass;
use responder_tests::daemon::{installed, run_bounded};
use responder_tests::fstrm::FstrmCapture;
use responder_tests::netns::in_netns;
use responder_tests::pcap::read_pcap;
use responder_tests::responder::workspace_root;
use responder_tests::testbed::{privileged, required_tools, Testbed, CLIENT_V4, CLIENT_V6};
use responder_tests::xdp_server::{server_v4, server_v6, XdpServer};

const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// Queries tier 0 answers: SOA at the apex, IDs apart.
const HITS_PER_FAMILY: u16 = 15;

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

fn can_run(test: &str) -> bool {
    if !privileged(test) {
        return false;
    }
    let present = |program: &str, arg: &str| Command::new(program).arg(arg).output().is_ok();
    let missing: Vec<&str> = [
        ("fstrm_capture", present("fstrm_capture", "--help")),
        ("dnstap-read", present("dnstap-read", "-h")),
        ("clang", installed("clang")),
        ("tcpdump", present("tcpdump", "--version")),
    ]
    .into_iter()
    .filter_map(|(tool, ok)| (!ok).then_some(tool))
    .collect();
    required_tools(test, &missing)
}

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    // A plain OPT: 1232 bytes, DO clear.
    m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    m
}

/// One exchange as the client saw it.
#[derive(Debug, Clone)]
struct Exchange {
    client: SocketAddr,
    server: SocketAddr,
    query: Vec<u8>,
    answer: Vec<u8>,
    tier0: bool,
}

/// Tier-0 hits (SOA at the apex) and misses (www A, for the workers),
/// alternating, over IPv4 then IPv6, from one client thread on one CPU.
fn ask(bed: &Testbed) -> Vec<Exchange> {
    in_netns(&bed.client_ns, || {
        let core = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()).expect("a CPU");
        assert!(core_affinity::set_for_current(core), "pinning the client to CPU {}", core.id);
        let mut done = Vec::new();
        for (family, server) in [(0u16, server_v4()), (1, server_v6())] {
            let socket = UdpSocket::bind(if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).expect("socket");
            socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            let client = socket.local_addr().unwrap();
            for i in 0..HITS_PER_FAMILY {
                let id = 0x3000 + family * 0x100 + i;
                for (q, tier0) in [(query(id, "example.com.", 6), true), (query(id, "www.example.com.", 1), false)] {
                    socket.send_to(&q, server).expect("send");
                    let mut buf = [0u8; 4096];
                    let (n, _) = socket.recv_from(&mut buf).unwrap_or_else(|e| panic!("no answer from {server}: {e}"));
                    let ip: std::net::IpAddr = if server.is_ipv4() { CLIENT_V4.into() } else { CLIENT_V6.into() };
                    let client = SocketAddr::new(ip, client.port());
                    done.push(Exchange { client, server, query: q, answer: buf[..n].to_vec(), tier0 });
                }
            }
        }
        done
    })
    .unwrap()
}

/// One message of the file, as dnstap-read prints it and as decoded here.
#[derive(Debug, Clone)]
struct Tapped {
    kind: String,
    client: String,
    server: String,
    hex: String,
    extra: Option<Vec<u8>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The Frame Streams file's data frames (the project's own decoder reads
/// the `extra` field, which dnstap-read does not print).
fn payloads(file: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(file).expect("the dnstap file");
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(u32_at(0), 0, "a control frame first");
    let mut at = 8 + u32_at(4);
    let mut out = Vec::new();
    while at + 4 <= bytes.len() {
        let len = u32_at(at);
        if len == 0 {
            break; // STOP
        }
        out.push(bytes[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    out
}

/// Both readings, message by message, in the file's order.
fn read(file: &Path) -> Vec<Tapped> {
    let out = run_bounded(Command::new("dnstap-read").arg("-x").arg(file), IO_TIMEOUT).expect("dnstap-read runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "dnstap-read: {text}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let payloads = payloads(file);
    assert_eq!(lines.len(), 2 * payloads.len(), "dnstap-read and the frames agree on the count:\n{text}");
    lines
        .chunks(2)
        .zip(payloads)
        .map(|(pair, payload)| {
            // DATE TIME AQ CLIENT -> SERVER UDP 33b name/IN/A, then the message in hex.
            let words: Vec<&str> = pair[0].split_whitespace().collect();
            assert!(words.len() >= 9, "{pair:?}");
            let decoded = Dnstap::from_payload(&payload).expect("a dnstap message");
            Tapped {
                kind: words[2].into(),
                client: words[3].into(),
                server: words[5].into(),
                hex: pair[1].trim().to_uppercase(),
                extra: decoded.extra,
            }
        })
        .collect()
}

/// `ADDR:PORT` as dnstap-read prints it: IPv6 without brackets.
fn printed(a: SocketAddr) -> String {
    format!("{}:{}", a.ip(), a.port())
}

/// Serves with tier 0 and dnstap 1-in-`sample`; the exchanges sent and
/// what the file holds.
type Packets = Vec<(SocketAddr, SocketAddr, Vec<u8>)>;

fn serve_and_capture(test: &str, sample: u32) -> (Vec<Exchange>, Vec<Tapped>, Packets, String) {
    let dir = tempfile::tempdir().unwrap();
    let (socket, file) = (dir.path().join("d.sock"), dir.path().join("out.fstrm"));
    let pcap = dir.path().join("q.pcap");
    let reader = FstrmCapture::start(&socket, &file, &dir.path().join("fstrm.log"));
    let bed = Testbed::create(&format!("t0cap{sample}"), 1).expect("testbed");
    client_pass::attach(&bed, dir.path());
    let sink = format!("unix:{}", socket.display());
    let sample = sample.to_string();
    let server = XdpServer::start(
        &bed,
        &zone(),
        &[
            "--xdp-mode",
            "native",
            "--xdp-answers",
            "apex+delegations",
            "--dnstap",
            &sink,
            "--dnstap-sample",
            &sample,
            "--pcap",
            pcap.to_str().unwrap(),
            "--pcap-sample",
            &sample,
        ],
    )
    .unwrap_or_else(|e| panic!("{test}: {e}"));
    let done = ask(&bed);
    let log = server.log();
    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    reader.stop();
    let counters = report.counters_text();
    let tier0 = report.answered_tier0();
    assert_eq!(tier0, done.iter().filter(|e| e.tier0).count() as u64, "the hits were tier 0's:\n{counters}");
    // Tier 0 answers UDP only.
    let packets = read_pcap(&pcap)
        .into_iter()
        .map(|(protocol, src, dst, payload)| {
            assert_eq!(protocol, 17, "a UDP packet");
            (src, dst, payload)
        })
        .collect();
    (done, read(&file), packets, log)
}

#[test]
fn tier0_answers_are_in_the_dnstap_output_byte_for_byte() {
    let test = "tier0_answers_are_in_the_dnstap_output_byte_for_byte";
    if !can_run(test) {
        return;
    }
    let (done, tapped, packets, log) = serve_and_capture(test, 1);
    assert!(log.contains("capturing 1-in-N of the tier-0 answers"), "{log}");
    for e in &done {
        let what = format!(
            "{} id {:02X}{:02X} from {}",
            if e.tier0 { "tier 0" } else { "worker" },
            e.query[0],
            e.query[1],
            e.client
        );
        let (q, a) = (hex(&e.query), hex(&e.answer));
        let ends = |t: &Tapped| t.client == printed(e.client) && t.server == printed(e.server);
        let aq: Vec<&Tapped> = tapped.iter().filter(|t| t.kind == "AQ" && t.hex == q && ends(t)).collect();
        let ar: Vec<&Tapped> = tapped.iter().filter(|t| t.kind == "AR" && t.hex == a && ends(t)).collect();
        assert_eq!((aq.len(), ar.len()), (1, 1), "{what}: its query and answer, once each");
        let mark = e.tier0.then(|| b"xdp-kernel".to_vec());
        assert_eq!((&aq[0].extra, &ar[0].extra), (&mark, &mark), "{what}: marked as the program's or not");
        let sent = packets.iter().filter(|p| (p.0, p.1, &p.2) == (e.client, e.server, &e.query)).count();
        let answered = packets.iter().filter(|p| (p.0, p.1, &p.2) == (e.server, e.client, &e.answer)).count();
        assert_eq!((sent, answered), (1, 1), "{what}: both packets in the pcap");
    }
}

#[test]
fn tier0_sampling_one_in_three_is_exact() {
    let test = "tier0_sampling_one_in_three_is_exact";
    if !can_run(test) {
        return;
    }
    let (done, tapped, packets, _) = serve_and_capture(test, 3);
    let hits: Vec<&Exchange> = done.iter().filter(|e| e.tier0).collect();
    let want: Vec<String> = hits.iter().skip(2).step_by(3).map(|e| hex(&e.query)).collect();
    let got: Vec<String> = tapped
        .iter()
        .filter(|t| t.kind == "AQ" && t.extra.as_deref() == Some(b"xdp-kernel"))
        .map(|t| t.hex.clone())
        .collect();
    assert_eq!(got.len(), hits.len() / 3, "exactly 1 in 3 of {} tier-0 answers", hits.len());
    assert_eq!(got, want, "the 3rd, 6th, ... tier-0 answers, in order");
    let answers = tapped.iter().filter(|t| t.kind == "AR" && t.extra.as_deref() == Some(b"xdp-kernel")).count();
    assert_eq!(answers, got.len(), "each with its answer");
    // The same answers in the pcap, sampled by the same counter.
    let hit_queries: Vec<&Vec<u8>> = hits.iter().map(|e| &e.query).collect();
    let in_pcap: Vec<String> = packets.iter().filter(|p| hit_queries.contains(&&p.2)).map(|p| hex(&p.2)).collect();
    assert_eq!(in_pcap, want, "the pcap samples the same tier-0 answers");
}
