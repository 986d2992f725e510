//! The kernel path's UDP batches (`recvmmsg`/`sendmmsg`) under bursts:
//! several clients on IPv4 and IPv6 each send more queries than one batch
//! holds without waiting (good, refused, malformed, TSIG-signed) and must
//! get exactly the right answer to each, in the order they asked, and
//! nothing for what deserves nothing.
//!
//! Loopback only, no root needed.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use responder::tsig::{self, Key, Mac, Signing};
use responder_tests::dns::rtype::{A, MX};
use responder_tests::dns::{Question, Reply, FORMERR, NOERROR, NXDOMAIN, REFUSED};
use responder_tests::responder::{workspace_root, Server};

const SECRET: &str = "YnVyc3QtdGVzdC1zZWNyZXQtb2YtdGhlLWJhdGNo";

/// Queries per client: more than two batches of the server's 32, few
/// enough that the burst of all clients fits the server's default socket
/// buffer even before its worker reads any (no loss on loopback).
const PER_CLIENT: u16 = 72;

/// Every wait is bounded by this.
const PATIENCE: Duration = Duration::from_secs(10);

fn key() -> Key {
    Key::from_text("burst.key", "hmac-sha256", SECRET).unwrap()
}

fn start(dir: &std::path::Path) -> Server {
    let zone = workspace_root().join("zones/tests/compare/example.com.zone");
    let config = format!(
        "[[zone]]\nfile = \"{}\"\n\n[[key]]\nid = \"burst.key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n",
        zone.display()
    );
    let path = dir.join("responder.toml");
    std::fs::write(&path, config).unwrap();
    Server::start(&["--config", path.to_str().unwrap()]).unwrap_or_else(|e| panic!("cannot start responder: {e}"))
}

/// What one query of the burst must get back.
#[derive(Debug)]
enum Want {
    Answer {
        rcode: u16,
        answer: Vec<&'static str>,
    },
    /// FORMERR, header only (BAD-INPUT.md: name cut short).
    Formerr,
    /// NOERROR with the A record, signed with the request's MAC chained.
    Signed(Mac),
}

fn with_id(question: &Question, id: u16) -> Vec<u8> {
    let mut wire = question.to_wire().unwrap();
    wire[..2].copy_from_slice(&id.to_be_bytes());
    wire
}

/// Query `k` of a client, and what it must get (`None`: no answer at all).
fn query(k: u16, id: u16) -> (Vec<u8>, Option<Want>) {
    let www = Question::new("www.example.com.", A);
    let www_answer = vec!["www.example.com. 3600 A 198.18.0.80"];
    match k % 8 {
        0 => (with_id(&www, id), Some(Want::Answer { rcode: NOERROR, answer: www_answer })),
        1 => (
            with_id(&Question::new("nosuch.example.com.", A), id),
            Some(Want::Answer { rcode: NXDOMAIN, answer: vec![] }),
        ),
        2 => (with_id(&Question::new("example.net.", A), id), Some(Want::Answer { rcode: REFUSED, answer: vec![] })),
        // Shorter than a header: dropped.
        3 => (with_id(&www, id)[..5].to_vec(), None),
        // The name runs past the end.
        4 => (with_id(&www, id)[..20].to_vec(), Some(Want::Formerr)),
        5 => {
            let mut signed = with_id(&www, id);
            let mac = tsig::sign_message(&key(), &mut signed, &Signing::new(None, tsig::now())).unwrap();
            (signed, Some(Want::Signed(mac)))
        }
        // A response (QR set): dropped.
        6 => {
            let mut response = with_id(&www, id);
            response[2] |= 0x80;
            (response, None)
        }
        _ => (
            with_id(&Question::new("example.com.", MX), id),
            Some(Want::Answer { rcode: NOERROR, answer: vec!["example.com. 3600 MX 10 mail.example.com."] }),
        ),
    }
}

fn check(answer: &[u8], id: u16, want: &Want) {
    assert!(answer.len() >= 12, "{id}: {answer:02x?}");
    assert_eq!(u16::from_be_bytes([answer[0], answer[1]]), id, "answers out of order");
    match want {
        Want::Answer { rcode, answer: records } => {
            let reply = Reply::decode(answer).unwrap();
            assert_eq!(reply.rcode, *rcode, "{id}: {reply}");
            assert_eq!(reply.answer_text(), *records, "{id}: {reply}");
        }
        Want::Formerr => {
            assert_eq!(answer[2] & 0x80, 0x80, "{id}: QR set");
            assert_eq!(u16::from(answer[3] & 0x0f), FORMERR, "{id}: {answer:02x?}");
            assert_eq!(answer[4..12], [0; 8], "{id}: header only");
        }
        Want::Signed(mac) => {
            tsig::verify_message(&key(), answer, Some(mac.as_slice()), tsig::now())
                .unwrap_or_else(|e| panic!("{id}: the answer's TSIG does not verify: {e:?}"));
            assert_eq!(answer[3] & 0x0f, 0, "{id}: NOERROR");
            assert_eq!(answer[6..8], [0, 1], "{id}: one answer record");
        }
    }
}

#[test]
fn bursts_of_mixed_queries_get_every_answer_in_order_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let targets = [server.v4, server.v4, server.v6, server.v6];
    let clients: Vec<UdpSocket> = targets
        .iter()
        .map(|target| {
            let local: SocketAddr = if target.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" }.parse().unwrap();
            let socket = UdpSocket::bind(local).unwrap();
            socket.connect(target).unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            socket
        })
        .collect();
    let mut wanted: Vec<Vec<(u16, Want)>> = clients.iter().map(|_| Vec::new()).collect();
    // Interleaved, so the server's batches mix clients and families.
    for k in 0..PER_CLIENT {
        for (c, client) in clients.iter().enumerate() {
            let id = c as u16 * 1000 + k;
            let (wire, want) = query(k, id);
            client.send(&wire).unwrap();
            if let Some(want) = want {
                wanted[c].push((id, want));
            }
        }
    }
    let deadline = Instant::now() + PATIENCE;
    let mut buf = vec![0u8; 65535];
    for (c, client) in clients.iter().enumerate() {
        for (id, want) in &wanted[c] {
            assert!(Instant::now() < deadline, "client {c}: out of time");
            let len = client.recv(&mut buf).unwrap_or_else(|e| panic!("client {c}: no answer to {id}: {e}"));
            check(&buf[..len], *id, want);
        }
        // Nothing more: the dropped queries got no answer.
        client.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        assert!(client.recv(&mut buf).is_err(), "client {c}: an answer too many: {:02x?}", &buf[..12]);
    }
    assert!(server.daemon.log().lines().all(|l| !l.contains("panicked")), "{}", server.daemon.log());
}
