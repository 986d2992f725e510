//! Reloads and zone reads that must not stall or leak (issue 19, finding 3),
//! end to end on loopback with kernel sockets: stats and metrics keep
//! answering while a million-name zone reloads; a FIFO or a device as a zone
//! path fails the reload at once and the old zone keeps serving; `$INCLUDE`
//! stays inside the zone's directory and never echoes a refused file; the
//! per-zone byte cap holds. A small edit with a serial bump is applied as
//! an overlay (issue 14), not compiled whole, and answers as the new file.
//!
//! Loopback only, no root needed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::responder::{self, free_port, Server};

/// The bound the issue sets on a stats or metrics answer during a reload.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// Generous: a debug build compiles a million names in tens of seconds.
const RELOAD_DEADLINE: Duration = Duration::from_secs(600);
const ZONE: &str = "big.test.";

fn head(serial: u32) -> String {
    format!(
        "$ORIGIN {ZONE}\n$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n"
    )
}

/// Writes `text` whole, then renames it over `path`: a reload never reads half a file.
fn replace(path: &Path, text: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A zone of `names` A records besides the apex, like the bench's.
fn write_zone(path: &Path, serial: u32, names: u32) {
    let mut text = head(serial).into_bytes();
    text.reserve(names as usize * 32);
    for i in 0..names {
        let [_, _, hi, lo] = i.to_be_bytes();
        writeln!(text, "host-{i:07} A 198.18.{hi}.{lo}").unwrap();
    }
    replace(path, &text);
}

fn serial(addr: SocketAddr) -> Result<u32, String> {
    let reply = dns::ask(addr, Transport::Udp, &Question::new(ZONE, SOA))?;
    let soa = reply.answer.first().ok_or_else(|| format!("no SOA in {reply}"))?;
    soa.soa_serial().ok_or_else(|| format!("no serial in {soa}"))
}

/// One `GET /metrics`, failing if the whole answer takes longer than the bound.
fn scrape(addr: SocketAddr) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, ANSWER_WITHIN).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(ANSWER_WITHIN)).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("/metrics after {:?}: {e}", started.elapsed()))?;
    if !response.starts_with("HTTP/1.1 200 OK") || !response.contains("responder_reloads_total") {
        return Err(format!("unexpected /metrics answer: {response:.200}"));
    }
    Ok(started.elapsed())
}

/// One `stats` request on the control socket (what `responder ctl stats`
/// sends), failing past the bound.
fn control(socket: &Path, request: &str, within: Duration) -> Result<(Value, Duration), String> {
    let started = Instant::now();
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("control socket: {e}"))?;
    stream.set_read_timeout(Some(within)).unwrap();
    writeln!(stream, "{request}").map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("control {request} after {:?}: {e}", started.elapsed()))?;
    let value = serde_json::from_str(&line).map_err(|e| format!("control {request}: not JSON ({e}): {line}"))?;
    Ok((value, started.elapsed()))
}

/// `responder ctl reload`, bounded by the helper's own deadline: the JSON
/// reply, or what ctl printed on failure.
fn ctl_reload(socket: &Path) -> Result<Value, String> {
    let out = responder::run(&["ctl", "--socket", &socket.display().to_string(), "reload"])
        .unwrap_or_else(|e| panic!("ctl reload did not finish: {e}"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("ctl reload: not JSON ({e})")))
}

fn sighup(daemon: &Daemon) {
    let pid = libc::pid_t::try_from(daemon.pid()).unwrap();
    // SAFETY: kill(2) on our own child, still unreaped (the Daemon holds it).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0, "SIGHUP");
}

struct Served {
    server: Server,
    socket: PathBuf,
    metrics: SocketAddr,
}

fn serve(zone: &Path, extra: &[&str], dir: &Path) -> Served {
    let socket = dir.join("ctl.sock");
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let mut args = vec!["--zone", zone.to_str().unwrap(), "--control-socket", socket.to_str().unwrap()];
    let metrics_arg = metrics.to_string();
    args.extend(["--metrics", &metrics_arg]);
    args.extend(extra);
    let server = Server::start(&args).unwrap_or_else(|e| panic!("cannot start responder: {e}"));
    Served { server, socket, metrics }
}

#[test]
fn metrics_and_stats_answer_within_a_second_while_a_million_names_reload() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.test.zone");
    write_zone(&zone, 1, 10);
    let mut s = serve(&zone, &[], dir.path());
    write_zone(&zone, 2, 1_000_000);

    sighup(&s.server.daemon);
    let started = Instant::now();
    let (mut polls_during_reload, mut slowest) = (0, Duration::ZERO);
    loop {
        if let Some(status) = s.server.daemon.exited() {
            panic!("responder exited with {status} during the reload:\n{}", s.server.daemon.log());
        }
        let scraped = scrape(s.metrics).unwrap_or_else(|e| panic!("/metrics during the reload: {e}"));
        let (stats, asked) =
            control(&s.socket, "stats", ANSWER_WITHIN).unwrap_or_else(|e| panic!("ctl stats during the reload: {e}"));
        assert_eq!(stats["ok"], true, "{stats}");
        slowest = slowest.max(scraped).max(asked);
        if serial(s.server.v4).unwrap() == 2 {
            break;
        }
        polls_during_reload += 1;
        assert!(started.elapsed() < RELOAD_DEADLINE, "the reload did not finish:\n{}", s.server.daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "reload of 1,000,000 names took about {:.1?}; {polls_during_reload} polls during it, slowest answer {slowest:?}",
        started.elapsed()
    );
    // Otherwise the reload was too quick to show anything.
    assert!(polls_during_reload >= 3, "only {polls_during_reload} polls fell inside the reload");
    let (stats, _) = control(&s.socket, "stats", ANSWER_WITHIN).unwrap();
    assert_eq!(stats["reloads"]["ok"], 1, "{stats:#}");
}

#[test]
fn a_fifo_or_device_zone_path_fails_the_reload_at_once_and_the_old_zone_serves() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.test.zone");
    write_zone(&zone, 7, 10);
    let s = serve(&zone, &[], dir.path());

    std::fs::remove_file(&zone).unwrap();
    let made = Command::new("mkfifo").arg(&zone).status().expect("mkfifo");
    assert!(made.success());
    let error = ctl_reload(&s.socket).unwrap_err();
    assert!(error.contains(zone.to_str().unwrap()) && error.contains("not a regular file (a FIFO)"), "{error}");
    assert_eq!(serial(s.server.v4).unwrap(), 7, "the old zone keeps serving");

    std::fs::remove_file(&zone).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &zone).unwrap();
    let error = ctl_reload(&s.socket).unwrap_err();
    assert!(error.contains("not a regular file (a character device)"), "{error}");
    assert_eq!(serial(s.server.v4).unwrap(), 7, "the old zone keeps serving");

    let (stats, _) = control(&s.socket, "stats", ANSWER_WITHIN).unwrap();
    assert_eq!(stats["reloads"]["failed"], 2, "{stats:#}");
}

fn address(addr: SocketAddr, name: &str) -> (u16, Vec<Vec<u8>>) {
    let reply = dns::ask(addr, Transport::Udp, &Question::new(name, A)).unwrap();
    (reply.rcode, reply.answer.iter().map(|r| r.rdata.clone()).collect())
}

/// A reload of a file edited as an operator does (serial bumped, a few
/// addresses changed, a name added, one removed) goes the overlay way:
/// `ctl reload` and `ctl stats` say so, and the answers are the new
/// file's, the negative ones carrying the new SOA. Then an edit of the
/// SOA's names is compiled whole, and stats say why.
#[test]
fn a_small_edit_with_a_serial_bump_reloads_as_an_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.test.zone");
    write_zone(&zone, 1, 2000);
    let s = serve(&zone, &[], dir.path());
    let addr = s.server.v4;
    assert_eq!(address(addr, "host-0000007.big.test.").1, vec![vec![198, 18, 0, 7]]);

    let mut text = std::fs::read_to_string(&zone).unwrap().replace(" 1 7200 900", " 2 7200 900");
    text = text.replace(
        "host-0000007 A 198.18.0.7
",
        "host-0000007 A 198.18.99.7
",
    );
    text = text.replace(
        "host-0000009 A 198.18.0.9
",
        "",
    );
    text.push_str(
        "new-name A 198.18.99.1
",
    );
    replace(&zone, text.as_bytes());
    let reply = ctl_reload(&s.socket).unwrap();
    assert_eq!((reply["ok"].as_bool(), reply["path"].as_str()), (Some(true), Some("overlay")), "{reply:#}");

    assert_eq!(serial(addr).unwrap(), 2);
    assert_eq!(address(addr, "host-0000007.big.test.").1, vec![vec![198, 18, 99, 7]]);
    assert_eq!(address(addr, "new-name.big.test.").1, vec![vec![198, 18, 99, 1]]);
    assert_eq!(address(addr, "host-0000008.big.test.").1, vec![vec![198, 18, 0, 8]], "an untouched name");
    let gone = dns::ask(addr, Transport::Udp, &Question::new("host-0000009.big.test.", A)).unwrap();
    assert_eq!(gone.rcode, 3, "{gone}");
    // A negative answer of an untouched name comes from a base template:
    // its SOA is rewritten to the new serial.
    let nodata = dns::ask(addr, Transport::Udp, &Question::new("host-0000008.big.test.", AAAA)).unwrap();
    for negative in [&gone, &nodata] {
        let soa = negative.authority.first().unwrap_or_else(|| panic!("no SOA in {negative}"));
        assert_eq!((soa.rtype, soa.soa_serial(), soa.ttl), (SOA, Some(2), 300), "{negative}");
    }
    let (stats, _) = control(&s.socket, "stats", ANSWER_WITHIN).unwrap();
    let reloads = &stats["reloads"];
    assert_eq!((reloads["ok"].as_u64(), reloads["overlaid"].as_u64()), (Some(1), Some(1)), "{stats:#}");
    assert_eq!(reloads["last_path"], "overlay", "{stats:#}");
    assert!(s.server.daemon.log().contains("applied as an overlay"), "{}", s.server.daemon.log());

    // The SOA's MNAME changes: not a fixed-size field, compiled whole.
    replace(&zone, text.replace("@ SOA ns1 hostmaster 2", "@ SOA ns2 hostmaster 3").as_bytes());
    let reply = ctl_reload(&s.socket).unwrap();
    assert_eq!(reply["path"], "full", "{reply:#}");
    assert_eq!(serial(addr).unwrap(), 3);
    assert_eq!(address(addr, "host-0000007.big.test.").1, vec![vec![198, 18, 99, 7]]);
    let (stats, _) = control(&s.socket, "stats", ANSWER_WITHIN).unwrap();
    let reloads = &stats["reloads"];
    assert_eq!((reloads["ok"].as_u64(), reloads["overlaid"].as_u64()), (Some(2), Some(1)), "{stats:#}");
    assert_eq!(reloads["last_path"], "full", "{stats:#}");
    assert!(reloads["last_fallback"].as_str().is_some_and(|w| w.contains("SOA")), "{stats:#}");
}

/// The first line of /etc/passwd: what must never appear in an error.
fn passwd_line() -> String {
    let text = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    text.lines().next().expect("a line in /etc/passwd").to_string()
}

fn check(args: &[&str]) -> (bool, String) {
    let out = responder::run(&[&["check"], args].concat()).unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn include_is_confined_to_the_zone_directory_and_etc_passwd_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.test.zone");
    let hostile = format!("{}$INCLUDE /etc/passwd\n", head(3));
    std::fs::write(&zone, &hostile).unwrap();
    let secret = passwd_line();

    // At start: `serve` exits with the reason, and so does `check`.
    let mut cmd = Command::new(responder::binary().unwrap());
    cmd.args(["serve", "--user", "root", "--listen", "127.0.0.1:0", "--zone", zone.to_str().unwrap()]);
    let out = responder_tests::daemon::run_bounded(&mut cmd, Duration::from_secs(30)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started with $INCLUDE /etc/passwd:\n{stderr}");
    assert!(stderr.contains("big.test.zone:6: $INCLUDE /etc/passwd is outside"), "{stderr}");
    assert!(!stderr.contains(&secret), "the refused file is echoed:\n{stderr}");
    let (ok, said) = check(&[zone.to_str().unwrap()]);
    assert!(!ok && said.contains("is outside") && !said.contains(&secret), "{said}");

    // On reload: refused, the old zone serves.
    write_zone(&zone, 4, 10);
    let dir2 = tempfile::tempdir().unwrap();
    let s = serve(&zone, &[], dir2.path());
    std::fs::write(&zone, &hostile).unwrap();
    let error = ctl_reload(&s.socket).unwrap_err();
    assert!(error.contains("$INCLUDE /etc/passwd is outside"), "{error}");
    assert!(!error.contains(&secret) && !s.server.daemon.log().contains(&secret), "echoed:\n{error}");
    assert_eq!(serial(s.server.v4).unwrap(), 4, "the old zone keeps serving");

    // An include from a sub-directory of the zone's directory still serves.
    std::fs::create_dir_all(dir.path().join("parts/hosts")).unwrap();
    std::fs::write(dir.path().join("parts/hosts/www.zone"), "www A 198.18.0.80\n").unwrap();
    std::fs::write(&zone, format!("{}$INCLUDE parts/hosts/www.zone\n", head(6))).unwrap();
    let reply = ctl_reload(&s.socket).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply["ok"], true, "{reply}");
    let reply = dns::ask(s.server.v4, Transport::Udp, &Question::new("www.big.test.", A)).unwrap();
    assert_eq!(reply.answer_text(), ["www.big.test. 3600 A 198.18.0.80"], "{reply}");

    // Up and out through `..` or a symlink is refused the same way.
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    let inner = dir.path().join("zones/big.test.zone");
    std::fs::write(dir.path().join("outside.zone"), "leak A 198.18.0.66\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.zone"), dir.path().join("zones/link.zone")).unwrap();
    for include in ["../outside.zone", "link.zone"] {
        std::fs::write(&inner, format!("{}$INCLUDE {include}\n", head(5))).unwrap();
        let (ok, said) = check(&[inner.to_str().unwrap()]);
        assert!(!ok && said.contains("is outside") && !said.contains("198.18.0.66"), "{include}: {said}");
    }
    // ... unless the configuration allows that directory.
    let allowed = dir.path().to_str().unwrap();
    let (ok, said) = check(&["--include-dir", allowed, inner.to_str().unwrap()]);
    assert!(ok, "with --include-dir: {said}");
}

#[test]
fn a_zone_over_the_byte_cap_is_refused_counting_its_includes() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("big.test.zone");
    std::fs::write(dir.path().join("part.zone"), "; padding\n".repeat(30) + "a A 198.18.0.1\n").unwrap();
    std::fs::write(&zone, format!("{}$INCLUDE part.zone\n", head(1))).unwrap();
    let zone_arg = zone.to_str().unwrap();
    // The main file alone is under 200 bytes; with its include it is over.
    assert!(std::fs::metadata(&zone).unwrap().len() < 200);
    let (ok, said) = check(&["--zone-max-size", "400", zone_arg]);
    assert!(!ok && said.contains("part.zone") && said.contains("more than 400 bytes"), "{said}");
    let (ok, said) = check(&["--zone-max-size", "1K", zone_arg]);
    assert!(ok, "{said}");

    // On reload, with the cap from the configuration file.
    let config = dir.path().join("responder.toml");
    std::fs::write(&config, "[server]\nzone-max-size = 1000\n").unwrap();
    write_zone(&zone, 2, 1);
    let s = serve(&zone, &["--config", config.to_str().unwrap()], dir.path());
    write_zone(&zone, 3, 100);
    let error = ctl_reload(&s.socket).unwrap_err();
    assert!(error.contains("big.test.zone") && error.contains("more than 1000 bytes"), "{error}");
    assert_eq!(serial(s.server.v4).unwrap(), 2, "the old zone keeps serving");
}
