//! Stopping a child we started: politely, then firmly, always by PID.

use std::io;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often waiting loops look at the child and the interrupt flag.
pub const POLL: Duration = Duration::from_millis(100);

/// Sends SIGTERM, waits up to `grace`, then SIGKILLs the child's process
/// group (the child was started as its own group leader, so this reaches
/// anything it forked and nothing else). Returns the exit status.
pub fn stop(child: &mut Child, grace: Duration) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("child PID out of range"))?;
    // SAFETY: `pid` is our unreaped child, so it cannot have been recycled.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(POLL);
    }
    eprintln!("xtask: PID {pid} ignored SIGTERM for {grace:?}; sending SIGKILL");
    // SAFETY: negative PID addresses the process group our child leads; the
    // child is unreaped so the group ID is still ours.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    child.wait()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Command;

    #[test]
    fn terminates_a_cooperative_child_with_sigterm() {
        let mut child = Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let started = Instant::now();
        let status = stop(&mut child, Duration::from_secs(5)).unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn kills_a_child_that_ignores_sigterm() {
        // The shell ignores TERM and waits on a sleep in the same group.
        let mut child =
            Command::new("sh").args(["-c", "trap '' TERM; sleep 30 & wait"]).process_group(0).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200)); // let the trap be set
        let status = stop(&mut child, Duration::from_millis(300)).unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn reports_the_status_of_a_child_that_already_exited() {
        let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(stop(&mut child, Duration::from_secs(1)).unwrap().code(), Some(7));
    }
}
