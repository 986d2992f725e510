//! A server process started by a test: its output goes to a log file (a pipe
//! nobody drains would stall it), and it is killed by PID when dropped, even
//! when the test fails half-way.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::dns::{self, Question};

pub struct Daemon {
    child: Child,
    what: String,
    log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(mut cmd: Command, what: &str, log: &Path) -> io::Result<Daemon> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {what} ({:?}): {e}", cmd.get_program())))?;
        Ok(Daemon { child, what: what.to_string(), log: log.to_path_buf() })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the server answers a query on `addr` over UDP (any
    /// answer will do, REFUSED included), or fails with its log.
    pub fn wait_until_answering(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        let probe = Question::new("ready.probe.invalid.", 1).to_wire()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("{} exited with {status} before answering:\n{}", self.what, self.log()));
            }
            if dns::udp_exchange(addr, &probe, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{} did not answer on {addr} within {timeout:?}:\n{}", self.what, self.log()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit, killing the process if it does
    /// not stop within `timeout`. Returns the status and the log.
    pub fn terminate(mut self, timeout: Duration) -> Result<(ExitStatus, String), String> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(|_| "PID out of range".to_string())?;
        // SAFETY: kill(2) with the PID of our own child, which has not been
        // reaped yet (we hold the Child), so the PID cannot have been reused.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(format!("cannot signal {}: {}", self.what, io::Error::last_os_error()));
        }
        let status = wait_with_deadline(&mut self.child, timeout)
            .ok_or_else(|| format!("{} did not stop within {timeout:?} of SIGTERM:\n{}", self.what, self.log()))?;
        Ok((status, self.log()))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a command that should finish by itself (a CLI error path, a build),
/// killing it if it runs past `timeout`. Output is drained while it runs, so
/// a chatty command cannot stall on a full pipe.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_with_deadline(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    // The pipes close when the process exits (or is killed), ending the readers.
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    match status {
        Some(status) => Ok(Output { status, stdout, stderr }),
        None => Err(format!(
            "{cmd:?} still running after {timeout:?}: killed; stderr:\n{}",
            String::from_utf8_lossy(&stderr)
        )),
    }
}

/// Whether `tool` is on PATH.
pub fn installed(tool: &str) -> bool {
    let probe = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
    probe.is_ok_and(|o| o.status.success())
}

/// Runs a tool the test needs (a signer, a key generator) within a minute:
/// its stdout, or a panic with its stderr.
pub fn tool(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = run_bounded(cmd, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(out.status.success(), "{shown} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Polls `done` every 50 ms until it holds, failing after `within`;
/// returns how long it took.
pub fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}
