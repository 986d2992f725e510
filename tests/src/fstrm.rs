//! `fstrm_capture` (Debian's fstrm-bin), the real dnstap collector the
//! capture tests write to: started on a Unix socket and stopped by SIGTERM,
//! on which it closes its file cleanly.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::daemon::Daemon;

/// How long it may take to create its socket, and to stop.
const START_TIMEOUT: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct FstrmCapture {
    daemon: Daemon,
}

impl FstrmCapture {
    /// Listening on `socket` (once this returns), writing dnstap frames to
    /// `out`; its output goes to `log`.
    pub fn start(socket: &Path, out: &Path, log: &Path) -> FstrmCapture {
        let mut cmd = Command::new("fstrm_capture");
        cmd.args(["-t", "protobuf:dnstap.Dnstap", "-u"]).arg(socket).arg("-w").arg(out);
        let daemon = Daemon::spawn(cmd, "fstrm_capture", log).expect("fstrm_capture starts");
        let deadline = Instant::now() + START_TIMEOUT;
        while !socket.exists() {
            assert!(Instant::now() < deadline, "fstrm_capture did not create {}", socket.display());
            thread::sleep(Duration::from_millis(10));
        }
        FstrmCapture { daemon }
    }

    /// Stops it (its file is complete after this); gives its log.
    pub fn stop(self) -> String {
        let (status, log) = self.daemon.terminate(STOP_TIMEOUT).expect("fstrm_capture stops");
        assert!(status.success(), "fstrm_capture: {status}\n{log}");
        log
    }
}
