//! Starting, checking and stopping the servers under test, each in the
//! server namespace, pinned to the server CPU, serving the same zone on the
//! same address. One file per kind of server builds its command line and
//! configuration; this file runs them all the same way.

mod bind;
mod knot;
mod nsd;
mod responder;

pub use responder::T0_SELECTION;

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::bed::{BenchBed, SERVER_CPU};
use super::gate;
use super::plan::ServerKind;
use crate::testbed::SERVER_V4;
use crate::{interrupt, supervise};

/// Loading 100,000 names takes BIND a few seconds on a quiet machine; the
/// margin is for a busy one.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a server needs to start.
pub struct Context<'a> {
    pub bed: &'a BenchBed,
    pub zone: &'a Path,
    /// Scratch directory of this server: configuration, state, log.
    pub dir: PathBuf,
    pub responder: &'a Path,
    pub floor: &'a Path,
    /// Extra `responder serve` flags (`--responder-args`).
    pub responder_args: &'a [String],
}

/// Why a server was not measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRun {
    /// It cannot run here (not installed): reported, not an error.
    Skipped(String),
    /// It should have run and did not: reported as failed.
    Failed(String),
}

/// A server's command: the program and arguments, run as
/// `ip netns exec SERVER_NS taskset -c SERVER_CPU PROGRAM ARGS` (without
/// `taskset` when unpinned).
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    /// A log line that says the server is serving (beyond answering: an
    /// XDP server's kernel sockets answer before its XDP path is attached).
    pub ready_line: Option<&'static str>,
    /// Where the server answers `stats` requests (the responder's
    /// `--control-socket`), for the drop counters around each step.
    pub control_socket: Option<PathBuf>,
}

fn launch(kind: ServerKind, ctx: &Context<'_>) -> Result<Launch, NotRun> {
    match kind {
        ServerKind::Floor
        | ServerKind::FloorXdpTx
        | ServerKind::ResponderXdp
        | ServerKind::ResponderXdpT0
        | ServerKind::ResponderXdpGeneric
        | ServerKind::ResponderKernel => responder::launch(kind, ctx),
        ServerKind::Knot | ServerKind::KnotXdp => knot::launch(kind == ServerKind::KnotXdp, ctx),
        ServerKind::Nsd => nsd::launch(ctx),
        ServerKind::Bind => bind::launch(ctx),
    }
}

/// The absolute path of an installed daemon, or why it is skipped.
fn installed(program: &str, package: &str) -> Result<String, NotRun> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
        .ok_or_else(|| NotRun::Skipped(format!("{program} not installed (Debian package {package})")))
}

fn write_config(path: &Path, text: &str) -> Result<(), NotRun> {
    fs::write(path, text).map_err(|e| NotRun::Failed(format!("cannot write {}: {e}", path.display())))
}

/// A running server. Dropping it stops it by PID.
pub struct RunningServer {
    pub kind: ServerKind,
    child: Option<Child>,
    log: PathBuf,
    /// The XDP attach mode `ip link` showed once it was ready.
    pub xdp_mode: Option<String>,
    pub control_socket: Option<PathBuf>,
}

impl RunningServer {
    /// Starts the server and waits until it answers from the client
    /// namespace and, for XDP servers, its program is attached in the mode
    /// asked for.
    pub fn start(kind: ServerKind, ctx: &Context<'_>) -> Result<RunningServer, NotRun> {
        fs::create_dir_all(&ctx.dir)
            .map_err(|e| NotRun::Failed(format!("cannot create {}: {e}", ctx.dir.display())))?;
        let launch = launch(kind, ctx)?;
        let log = ctx.dir.join("server.log");
        let failed = |e: std::io::Error| NotRun::Failed(format!("cannot start {kind}: {e}"));
        let out = File::create(&log).map_err(failed)?;
        let err = out.try_clone().map_err(failed)?;
        // `ip netns exec` and `taskset` both exec: the PID is the server's.
        // Its own process group, so a Ctrl-C reaches only us and we stop it
        // in order.
        let mut command = if ctx.bed.pinned {
            let mut command = ctx.bed.bed.server_command("taskset");
            command.args(["-c", &SERVER_CPU.to_string(), &launch.program]);
            command
        } else {
            ctx.bed.bed.server_command(&launch.program)
        };
        let child = command
            .args(&launch.args)
            .current_dir(&ctx.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(failed)?;
        let mut server =
            RunningServer { kind, child: Some(child), log, xdp_mode: None, control_socket: launch.control_socket };
        server.wait_ready(ctx.bed, launch.ready_line).map_err(NotRun::Failed)?;
        server.check_xdp_mode(ctx.bed).map_err(NotRun::Failed)?;
        responder::check_started(kind, &server.log_text()).map_err(NotRun::Failed)?;
        Ok(server)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// An early exit is a failure with the server's last words attached.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else { return Err(format!("{} is not running", self.kind)) };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.child = None;
                Err(format!("{} exited ({status}); its log ends:\n{}", self.kind, self.log_tail()))
            }
            Err(e) => Err(format!("cannot check on {}: {e}", self.kind)),
        }
    }

    fn wait_ready(&mut self, bed: &BenchBed, ready_line: Option<&str>) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if interrupt::interrupted() {
                return Err("interrupted".to_owned());
            }
            self.check_alive()?;
            let logged = ready_line.is_none_or(|line| self.log_text().contains(line));
            let attached = !self.kind.uses_xdp() || bed.server_xdp_mode().is_some();
            if logged && attached && gate::probe(bed, self.kind) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} was not serving on {SERVER_V4} within {READY_TIMEOUT:?}; its log ends:\n{}",
                    self.kind,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A server measured in the wrong mode would mislabel its figures.
    fn check_xdp_mode(&mut self, bed: &BenchBed) -> Result<(), String> {
        self.xdp_mode = bed.server_xdp_mode();
        let wanted = match self.kind {
            ServerKind::Floor | ServerKind::FloorXdpTx | ServerKind::ResponderXdp | ServerKind::ResponderXdpT0 => {
                Some("xdp")
            }
            ServerKind::ResponderXdpGeneric => Some("xdpgeneric"),
            // Knot picks native when the driver has it, as veth does.
            ServerKind::KnotXdp => None,
            _ => {
                return match &self.xdp_mode {
                    Some(mode) => {
                        Err(format!("{}: an XDP program ({mode}) is attached to the server interface", self.kind))
                    }
                    None => Ok(()),
                };
            }
        };
        match (wanted, self.xdp_mode.as_deref()) {
            (_, None) => Err(format!("{}: no XDP program attached to the server interface", self.kind)),
            (Some(wanted), Some(mode)) if wanted != mode => {
                Err(format!("{}: XDP attached as {mode}, wanted {wanted}", self.kind))
            }
            _ => Ok(()),
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL) and returns its log.
    pub fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            if let Err(e) = supervise::stop(&mut child, STOP_GRACE) {
                eprintln!("xtask bench: cannot stop {}: {e}", self.kind);
            }
        }
        self.log_text()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}
