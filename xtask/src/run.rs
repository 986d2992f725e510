//! `cargo xtask run`: build the responder and serve, either on a real
//! interface or on a throwaway veth testbed with a guided tour of answers.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::RunArgs;
use crate::demo::{self, Transport};
use crate::testbed::{Testbed, SERVER_V4, SERVER_V6};
use crate::{interrupt, supervise, workspace};

/// How long a freshly started responder has to answer both UDP and TCP.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the responder gets to stop on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub fn run(args: RunArgs) -> Result<(), String> {
    if args.iface.is_some() {
        // Before the build: a refusal should not wait for a release compile.
        listen_given(&args.extra)?;
    }
    let binary = match &args.responder_bin {
        Some(path) => path.clone(),
        None => build_release()?,
    };
    if !binary.is_file() {
        return Err(format!("responder binary not found at {}", binary.display()));
    }
    let zones = if args.zones.is_empty() { vec![default_zone()?] } else { args.zones.clone() };

    match &args.iface {
        Some(iface) => exec_on_interface(&binary, iface, &zones, &args.extra),
        None => serve_on_testbed(&binary, &zones, &args),
    }
}

pub fn build_release() -> Result<PathBuf, String> {
    eprintln!("xtask run: building the responder (release)");
    let status = workspace::cargo()
        .args(["build", "--release", "-p", "responder"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the responder failed ({status})"));
    }
    Ok(workspace::release_responder())
}

fn default_zone() -> Result<String, String> {
    let zone = workspace::bundled_zone();
    if !zone.is_file() {
        return Err(format!("the bundled example zone is missing: {}", zone.display()));
    }
    Ok(zone.display().to_string())
}

/// The arguments of `responder serve`. Zones are passed in the order given;
/// extra flags come last so they can add to (or, for repeatable flags,
/// extend) what we chose.
pub fn serve_args(iface: &str, zones: &[String], listen: &[String], extra: &[String]) -> Vec<String> {
    let mut args = vec!["serve".to_owned(), "--iface".to_owned(), iface.to_owned()];
    for zone in zones {
        args.extend(["--zone".to_owned(), zone.clone()]);
    }
    for addr in listen {
        args.extend(["--listen".to_owned(), addr.clone()]);
    }
    // `xtask run` is a developer's server on a test interface: it keeps the
    // root it was started with unless told to become someone (serve refuses
    // to keep root silently).
    if !extra.iter().any(|a| a == "--user" || a.starts_with("--user=") || a == "--config" || a.starts_with("--config="))
    {
        args.extend(["--user".to_owned(), "root".to_owned()]);
    }
    args.extend(extra.iter().cloned());
    args
}

/// On a real interface, `--listen` (or a `--config` that may set `listen`)
/// must come after `--`. Without one the kernel sockets are off, so TCP and
/// the retries over TCP that truncated answers ask for fail without a word.
/// Refused rather than defaulted: the only default that fits every host is
/// the wildcard on port 53, which collides with a local resolver (such as
/// systemd-resolved's 127.0.0.53:53) and widens what the host exposes.
pub fn listen_given(extra: &[String]) -> Result<(), String> {
    let given = |flag: &str| extra.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if given("--listen") || given("--config") {
        return Ok(());
    }
    Err("`cargo xtask run --iface` needs the addresses to serve TCP (and truncated retries) on: add \
         `-- --listen ADDR:53` (repeatable; e.g. the interface's address, or 0.0.0.0:53 and '[::]:53'), \
         or `-- --config FILE` whose [server] sets `listen`"
        .to_owned())
}

/// Replaces this process with the responder: signals reach it directly and
/// its exit status becomes ours.
fn exec_on_interface(binary: &Path, iface: &str, zones: &[String], extra: &[String]) -> Result<(), String> {
    let args = serve_args(iface, zones, &[], extra);
    eprintln!("xtask run: exec {} {}", binary.display(), args.join(" "));
    let error = Command::new(binary).args(&args).exec();
    Err(format!("cannot start {}: {error}", binary.display()))
}

/// Whether the demo queries apply: they ask about example.com names.
pub fn serves_example_com(zones: &[String]) -> bool {
    zones.iter().any(|zone| match zone.split_once('=') {
        Some((name, _)) => name.trim_end_matches('.').eq_ignore_ascii_case("example.com"),
        None => Path::new(zone).file_name().is_some_and(|f| f.eq_ignore_ascii_case("example.com.zone")),
    })
}

fn serve_on_testbed(binary: &Path, zones: &[String], args: &RunArgs) -> Result<(), String> {
    if !workspace::is_root() {
        return Err("`cargo xtask run` without --iface creates network namespaces and needs root \
                    (run it as root, e.g. `sudo -E env PATH=\"$PATH\" cargo xtask run`)"
            .to_owned());
    }
    // Before the testbed exists, so an interrupt at any point still unwinds
    // through the guards below.
    interrupt::install();
    let log_path = log_path()?;

    let bed =
        Testbed::create("run", args.queues.unwrap_or(1)).map_err(|e| format!("cannot create the testbed: {e}"))?;
    let listen = [format!("{SERVER_V4}:53"), format!("[{SERVER_V6}]:53")];
    let serve = serve_args(&bed.server_if, zones, &listen, &args.extra);
    eprintln!(
        "xtask run: ip netns exec {} {} {}  (log: {})",
        bed.server_ns,
        binary.display(),
        serve.join(" "),
        log_path.display()
    );
    let mut responder = Responder::start(&bed, binary, &serve, &log_path)?;

    responder.wait_until_answering(&bed)?;
    let failures = if serves_example_com(zones) {
        demo::show_answers(&bed)
    } else {
        println!("\n(not serving example.com: skipping the example queries)");
        0
    };

    if !args.once {
        println!(
            "\nserving on {} in namespace {}; try: ip netns exec {} kdig @{SERVER_V4} www.example.com — Ctrl-C to stop",
            bed.server_if, bed.server_ns, bed.client_ns
        );
        responder.wait_for_interrupt()?;
        println!("\nstopping");
    }
    responder.stop()?;
    if args.once && failures == 0 {
        // Nothing worth keeping; interactive runs keep theirs for reading.
        let _ = fs::remove_file(&log_path);
    } else {
        eprintln!("xtask run: responder log: {}", log_path.display());
    }
    if failures > 0 {
        return Err(format!(
            "{failures} of {} example queries did not get the expected answer",
            demo::DEMO_QUERIES.len()
        ));
    }
    Ok(())
}

fn log_path() -> Result<PathBuf, String> {
    let dir = workspace::xtask_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.join(format!("responder-{}.log", std::process::id())))
}

/// The responder running inside the server namespace. Dropping it stops it,
/// which must happen before the testbed goes: declare it after the testbed.
struct Responder {
    child: Option<Child>,
    log: PathBuf,
}

impl Responder {
    fn start(bed: &Testbed, binary: &Path, args: &[String], log: &Path) -> Result<Responder, String> {
        let log_file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let stdout = log_file.try_clone().map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        // `ip netns exec` execs the program, so the PID is the responder's.
        // Its own process group: Ctrl-C reaches only us, and we stop it in
        // order (responder first, then the namespaces).
        let child = bed
            .server_command(&binary.display().to_string())
            .args(args)
            .current_dir(workspace::root())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Responder { child: Some(child), log: log.to_owned() })
    }

    /// An early exit is a failure with the responder's own words attached.
    fn check_alive(&mut self) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err("responder already stopped".to_owned());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.child = None;
                Err(format!("the responder exited early ({status}); its output:\n{}", self.log_text()))
            }
            Err(e) => Err(format!("cannot check on the responder: {e}")),
        }
    }

    fn log_text(&self) -> String {
        match fs::read_to_string(&self.log) {
            Ok(text) if text.trim().is_empty() => "(nothing)".to_owned(),
            Ok(text) => text,
            Err(e) => format!("(cannot read {}: {e})", self.log.display()),
        }
    }

    /// Polls until any DNS response (even REFUSED) comes back over both UDP
    /// and TCP: the data plane and the kernel-socket server are both up.
    fn wait_until_answering(&mut self, bed: &Testbed) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pending = vec![Transport::Udp, Transport::Tcp];
        loop {
            if interrupt::interrupted() {
                return Err("interrupted".to_owned());
            }
            self.check_alive()?;
            pending.retain(|&transport| {
                let mut probe = demo::kdig(bed, SERVER_V4.into(), "example.com", "SOA", transport);
                probe.args(["+time=1", "+retry=0"]);
                demo::ask(probe).rcode.is_none()
            });
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the responder did not answer over {pending:?} within {READY_TIMEOUT:?}; its output:\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(supervise::POLL * 2);
        }
    }

    fn wait_for_interrupt(&mut self) -> Result<(), String> {
        while !interrupt::interrupted() {
            self.check_alive()?;
            std::thread::sleep(supervise::POLL);
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = supervise::stop(&mut child, STOP_GRACE).map_err(|e| format!("cannot stop the responder: {e}"))?;
        if !status.success() {
            eprintln!("xtask run: responder stopped with {status}; log: {}", self.log.display());
        }
        Ok(())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("xtask run: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn serve_arguments_keep_order_and_forward_extras() {
        let args = serve_args(
            "rs1",
            &strings(&["a.zone", "example.org=b.zone"]),
            &strings(&["198.18.0.1:53", "[fd00::1]:53"]),
            &strings(&["--cpus", "0,1"]),
        );
        assert_eq!(
            args.join(" "),
            "serve --iface rs1 --zone a.zone --zone example.org=b.zone --listen 198.18.0.1:53 \
             --listen [fd00::1]:53 --user root --cpus 0,1"
        );
        let args = serve_args("rs1", &[], &[], &strings(&["--user", "responder"]));
        assert_eq!(args.join(" "), "serve --iface rs1 --user responder", "a user given is the user kept");
    }

    #[test]
    fn a_real_interface_needs_listen_addresses() {
        let refused = listen_given(&strings(&["--cpus", "0,1"])).unwrap_err();
        assert!(refused.contains("--listen ADDR:53") && refused.contains("--config"), "{refused}");
        assert!(listen_given(&[]).is_err());
        // A value that merely looks like the flag is not the flag.
        assert!(listen_given(&strings(&["--identity", "--listenx"])).is_err());
        assert!(listen_given(&strings(&["--listen", "192.0.2.1:53"])).is_ok());
        assert!(listen_given(&strings(&["--listen=[::]:53"])).is_ok());
        assert!(listen_given(&strings(&["--config", "/etc/responder/responder.toml"])).is_ok());
    }

    #[test]
    fn demo_runs_only_for_example_com() {
        assert!(serves_example_com(&strings(&["/x/zones/example.com.zone"])));
        assert!(serves_example_com(&strings(&["other.zone", "Example.COM.=/x/whatever"])));
        assert!(!serves_example_com(&strings(&["/x/example.org.zone"])));
        assert!(!serves_example_com(&strings(&["example.com.org=/x/example.com.zone"])));
        assert!(!serves_example_com(&[]));
    }
}
