//! `cargo bench --bench zones -- --hoster [ZONES]`: the hosting provider's
//! shape of issue 14, many small zones rather than one big one. Writes
//! ZONES (default 100,000) zone files of 10 to 50 records each and a config
//! listing them, starts `serve --config` on loopback and measures: the time
//! from the spawn to the last zone's first answer, the server's peak and
//! current resident memory, the table's size and both per zone (`ctl
//! stats`), then the time `ctl zone-reload` of one zone takes and that the
//! new serial is served.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{status_kib, stop, MB};

/// Longest the server is given to answer, and a control request to reply.
const DEADLINE: Duration = Duration::from_secs(900);

fn zone_name(i: usize) -> String {
    format!("c{i}.hoster.test.")
}

/// A small customer zone: SOA, two NS, apex A, MX and TXT, www, mail and
/// hosts up to 10–50 records (spread evenly by `i`).
fn zone_text(i: usize, serial: u32) -> String {
    let records = 10 + (i * 37) % 41;
    let (a, b) = ((i >> 8) & 0xff, i & 0xff);
    let mut z = format!(
        "$ORIGIN {}\n$TTL 3600\n@ SOA ns1.hoster.test. hostmaster.hoster.test. {serial} 7200 3600 1209600 300\n\
         @ NS ns1.hoster.test.\n@ NS ns2.hoster.test.\n@ A 198.18.{a}.{b}\n@ MX 10 mail\n\
         @ TXT \"v=spf1 mx -all\"\nwww CNAME @\nmail A 198.19.{a}.{b}\n",
        zone_name(i)
    );
    for h in 8..records {
        z.push_str(&format!("h{h} A 198.18.{}.{h}\n", i & 0xff));
    }
    z
}

/// A query for `name` (dotted, absolute) and `qtype`, ID 0x4242.
fn query(name: &str, qtype: u16) -> Vec<u8> {
    let mut q = vec![0x42, 0x42, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, (qtype >> 8) as u8, qtype as u8, 0, 1]);
    q
}

/// The SOA serial in an answer to [`query`]`(name, SOA)`: the last four
/// bytes before the SOA's four timers.
fn soa_serial(answer: &[u8]) -> Option<u32> {
    let ancount = u16::from_be_bytes([*answer.get(6)?, *answer.get(7)?]);
    let at = answer.len().checked_sub(20)?;
    (ancount == 1).then(|| u32::from_be_bytes(answer[at..at + 4].try_into().unwrap()))
}

/// Asks until an answer comes (the port is not bound during the load), or
/// the deadline passes.
fn ask(socket: &UdpSocket, addr: SocketAddr, q: &[u8], child: &mut std::process::Child) -> Option<Vec<u8>> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    while started.elapsed() < DEADLINE {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("serve exited with {status} before answering");
        }
        let _ = socket.send_to(q, addr);
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            if from == addr && n >= 12 && buf[..2] == q[..2] {
                return Some(buf[..n].to_vec());
            }
        }
    }
    None
}

fn ctl(socket: &Path, request: &str) -> serde_json::Value {
    // The control socket may open a moment after the first answer.
    let started = Instant::now();
    let mut stream = loop {
        match UnixStream::connect(socket) {
            Ok(stream) => break stream,
            Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("{}: {e}", socket.display()),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    writeln!(stream, "{request}").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).expect("a reply");
    serde_json::from_str(line.trim_end()).expect("JSON")
}

pub fn run(bin: &Path, zones: usize) {
    let dir = std::env::temp_dir().join(format!("responder-hoster-{}-{zones}", std::process::id()));
    let zdir = dir.join("zones");
    std::fs::create_dir_all(&zdir).unwrap();
    let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sock = dir.join("ctl.sock");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut config = format!(
        "[server]\nlisten = [\"{addr}\"]\nudp-workers = 1\n{}\n[control]\nlisten = \"{}\"\n",
        if root { "user = \"root\"\n" } else { "" },
        sock.display()
    );
    let (mut file_bytes, mut records) = (0u64, 0usize);
    for i in 0..zones {
        let text = zone_text(i, 1);
        file_bytes += text.len() as u64;
        records += text.lines().count() - 2;
        let path = zdir.join(format!("c{i}.zone"));
        std::fs::write(&path, text).unwrap();
        config.push_str(&format!("\n[[zone]]\nname = \"{}\"\nfile = \"{}\"\n", zone_name(i), path.display()));
    }
    let config_path = dir.join("responder.toml");
    std::fs::write(&config_path, config).unwrap();
    println!(
        "{zones} zones, {records} records ({:.1} per zone), zone files {:.1} MB",
        records as f64 / zones as f64,
        file_bytes as f64 / MB
    );

    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("serve.log")).unwrap()))
        .spawn()
        .expect("starts serve");
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let last = zone_name(zones - 1);
    let answered = ask(&socket, addr, &query(&format!("www.{last}"), 1), &mut child);
    let serving = started.elapsed();
    assert!(answered.is_some(), "no answer within {DEADLINE:?}");
    let (peak, rss) = (status_kib(child.id(), "VmHWM:"), status_kib(child.id(), "VmRSS:"));
    let stats = ctl(&sock, "stats");
    let memory = &stats["memory"];
    let served = stats["zones"].as_array().map_or(0, Vec::len);
    println!(
        "start: serving (last zone answering) after {:.2} s; RSS {:.0} MB (peak {:.0} MB) = {:.0} bytes per zone",
        serving.as_secs_f64(),
        rss as f64 * 1024.0 / MB,
        peak as f64 * 1024.0 / MB,
        rss as f64 * 1024.0 / zones as f64,
    );
    println!(
        "ctl stats: {served} zones, table {:.1} MB, table_bytes_per_zone {}, resident_bytes_per_zone {}",
        memory["table_bytes"].as_f64().unwrap_or(0.0) / MB,
        memory["table_bytes_per_zone"],
        memory["resident_bytes_per_zone"],
    );

    // One zone changes; only it is read again.
    let changed = zones / 2;
    std::fs::write(zdir.join(format!("c{changed}.zone")), zone_text(changed, 2)).unwrap();
    let asked = Instant::now();
    let reply = ctl(&sock, &format!("zone-reload {}", zone_name(changed)));
    let took = asked.elapsed();
    assert_eq!(reply["ok"], true, "{reply}");
    let soa = ask(&socket, addr, &query(&zone_name(changed), 6), &mut child).expect("an answer");
    assert_eq!(soa_serial(&soa), Some(2), "the reloaded zone's new serial is served");
    println!(
        "zone-reload of one zone: {:.2} s (server's took_ms {}); RSS then {:.0} MB, peak {:.0} MB",
        took.as_secs_f64(),
        reply["took_ms"],
        status_kib(child.id(), "VmRSS:") as f64 * 1024.0 / MB,
        status_kib(child.id(), "VmHWM:") as f64 * 1024.0 / MB,
    );
    stop(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
}
