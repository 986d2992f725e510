//! The `responder` binary under test: finding (building) it, running its
//! CLI, and serving on loopback with a free port.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::daemon::{self, Daemon};

/// Names a prebuilt binary to test instead of building one.
pub const BIN_ENV: &str = "RESPONDER_BIN";

/// The workspace root (the tests crate lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".."))
}

/// Path to the responder binary. Cargo does not build another package's
/// binaries for an integration test, so the first call runs
/// `cargo build -p responder --bin responder` (a no-op when it is up to
/// date) and takes the executable's path from Cargo's own report rather than
/// guessing the target directory. A stale binary is never tested.
pub fn binary() -> Result<&'static Path, String> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY.get_or_init(build).as_ref().map(PathBuf::as_path).map_err(Clone::clone)
}

fn build() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(BIN_ENV) {
        return from_env(&path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root()).args([
        "build",
        "--quiet",
        "-p",
        "responder",
        "--bin",
        "responder",
        // The fault-injection hooks (responder/src/test_hooks.rs): only the
        // binary under test has them, never a plain or release build.
        "--features",
        "test-hooks",
        "--message-format=json",
    ]);
    let out = daemon::run_bounded(&mut cmd, Duration::from_secs(900))?;
    if !out.status.success() {
        return Err(format!("building responder failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "responder")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo build did not report a responder executable".to_string())
}

/// `RESPONDER_BIN` as an absolute path: servers are started in scratch
/// directories, where a path given relative to the directory the command
/// was typed in (`RESPONDER_BIN=target/release/responder`) names nothing.
fn from_env(value: &std::ffi::OsStr) -> Result<PathBuf, String> {
    std::path::absolute(value).map_err(|e| format!("{BIN_ENV}={}: {e}", Path::new(value).display()))
}

/// Runs `responder ARGS` to completion (bounded): for the CLI's error paths.
/// `--user root` unless `args` name a user: the server refuses to keep
/// root without being told (tests start it as root to attach XDP and bind
/// port 53).
pub fn as_root(args: &[&str]) -> &'static [&'static str] {
    if args.contains(&"--user") {
        &[]
    } else {
        &["--user", "root"]
    }
}

pub fn run(args: &[&str]) -> Result<Output, String> {
    daemon::run_bounded(Command::new(binary()?).args(args), Duration::from_secs(30))
}

/// A port free for UDP and TCP on both 127.0.0.1 and ::1 at the moment of
/// asking. Another process may take it before the server binds: callers
/// retry with a new one.
pub fn free_port() -> Result<u16, String> {
    for _ in 0..20 {
        let probe = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("cannot bind loopback: {e}"))?;
        let port = probe.local_addr().map_err(|e| e.to_string())?.port();
        let all_free = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && UdpSocket::bind((Ipv6Addr::LOCALHOST, port)).is_ok()
            && TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_ok();
        if all_free {
            return Ok(port);
        }
    }
    Err("no port free on both loopback addresses after 20 tries".into())
}

/// `responder serve` on 127.0.0.1 and [::1], same port, killed on drop.
pub struct Server {
    pub daemon: Daemon,
    pub v4: SocketAddr,
    pub v6: SocketAddr,
    /// Holds the log file.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `responder serve SOURCE_ARGS --listen ...` (SOURCE_ARGS being
    /// `--zone ...` or `--table ...` and any options) and waits until it
    /// answers. A port lost to another process between probing and binding
    /// is retried with a new one.
    pub fn start(source_args: &[&str]) -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut last_error = String::new();
        for attempt in 0..5 {
            let port = free_port()?;
            let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
            let mut cmd = Command::new(binary()?);
            cmd.arg("serve").args(source_args).args(as_root(source_args)).args([
                "--listen",
                &v4.to_string(),
                "--listen",
                &v6.to_string(),
                "--udp-workers",
                "1",
            ]);
            let log = dir.path().join(format!("responder-{attempt}.log"));
            let mut daemon = Daemon::spawn(cmd, "responder serve", &log).map_err(|e| e.to_string())?;
            match daemon.wait_until_answering(v4, Duration::from_secs(20)) {
                Ok(()) => return Ok(Server { daemon, v4, v6, _dir: dir }),
                Err(e) if daemon.log().contains("in use") => last_error = e,
                Err(e) => return Err(e),
            }
        }
        Err(format!("could not find a free port in 5 attempts; last: {last_error}"))
    }
}

/// `responder serve --config CONFIG`, logging to `log`, once it answers on
/// `addr` and has written its ready line (the control socket and the
/// secondary zones come up after the servers: the ready line says all is).
pub fn serve_config(config: &Path, addr: SocketAddr, log: &Path) -> Daemon {
    let mut cmd = Command::new(binary().unwrap());
    cmd.arg("serve").arg("--config").arg(config);
    let mut daemon = Daemon::spawn(cmd, "responder serve", log).unwrap();
    daemon.wait_until_answering(addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    daemon::wait_for("the ready line", Duration::from_secs(10), || daemon.log().contains("responder ready:"));
    daemon
}

/// One request on the control socket `dir/ctl.sock` (the tests' configs
/// say `listen = "ctl.sock"`), its JSON answer, waited for at most `wait`.
pub fn ctl(dir: &Path, request: &str, wait: Duration) -> Value {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(dir.join("ctl.sock")).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    writeln!(stream, "{request}").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("ctl {request}: {e}: {line}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_responder_bin_is_made_absolute() {
        let path = from_env("target/release/responder".as_ref()).unwrap();
        assert!(path.is_absolute(), "{}", path.display());
        assert_eq!(path, std::env::current_dir().unwrap().join("target/release/responder"));
        assert_eq!(from_env("/usr/sbin/responder".as_ref()).unwrap(), PathBuf::from("/usr/sbin/responder"));
        assert!(from_env("".as_ref()).is_err(), "an empty value names nothing");
    }
}
