//! Running a bounded tool (kxdpgun, dnsperf, kdig) to completion: its
//! output drained while it runs, killed by PID when it overruns its time or
//! the user presses Ctrl-C.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{interrupt, supervise};

/// How long a tool that overran gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);

pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if interrupt::interrupted() => break Err("interrupted".to_owned()),
            Ok(None) if Instant::now() >= deadline => break Err(format!("{what} still running after {timeout:?}")),
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(format!("cannot wait for {what}: {e}")),
        }
    };
    if status.is_err() {
        let _ = supervise::stop(&mut child, STOP_GRACE);
    }
    // The pipes close when the process exits, ending the readers.
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    Ok(Output { status: status?, stdout, stderr })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_of_a_quick_command() {
        let out =
            run_bounded(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]), Duration::from_secs(5))
                .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice(), out.status.code()),
            (&b"out\n"[..], &b"err\n"[..], Some(3))
        );
    }

    #[test]
    fn an_overrunning_command_is_stopped() {
        let started = Instant::now();
        let err = run_bounded(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("still running"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
