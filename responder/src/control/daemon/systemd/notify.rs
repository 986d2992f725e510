//! The sd_notify protocol: one datagram of `KEY=VALUE` lines to the Unix
//! socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
//! namespace). The protocol is four lines of code, so no crate: it is the
//! same wire format the `sd-notify` crate and libsystemd send.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where notifications go; `None` when no service manager listens.
#[derive(Debug)]
pub struct Notifier {
    target: Option<UnixDatagram>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`. A socket that is named but cannot be used is
    /// an error: systemd would otherwise wait for READY=1 until its start
    /// timeout and then kill a server that was serving all along.
    pub fn from_env() -> Result<Notifier, String> {
        match std::env::var_os("NOTIFY_SOCKET") {
            None => Ok(Notifier::none()),
            Some(name) => {
                let name = name.to_str().ok_or("NOTIFY_SOCKET is not UTF-8")?.to_owned();
                Notifier::to(&name).map_err(|e| format!("NOTIFY_SOCKET {name}: {e}"))
            }
        }
    }

    /// Nobody to notify.
    pub fn none() -> Notifier {
        Notifier { target: None }
    }

    /// Notifications to the socket `name` (`@` starts an abstract name).
    pub fn to(name: &str) -> io::Result<Notifier> {
        let addr = match name.strip_prefix('@') {
            Some(abstract_name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(abstract_name.as_bytes())?
            }
            None if name.starts_with('/') => SocketAddr::from_pathname(name)?,
            None => return Err(io::Error::new(io::ErrorKind::InvalidInput, "neither a path nor @abstract")),
        };
        // Connected now, while the process may still be root: the server
        // drops to its `user` before READY=1, and a socket file the user
        // cannot write would then swallow every notification.
        let socket = UnixDatagram::unbound()?;
        socket.connect_addr(&addr)?;
        Ok(Notifier { target: Some(socket) })
    }

    /// Another handle on the same connected socket, for the watchdog
    /// thread (a new connection could fail once privileges are dropped).
    pub fn try_clone(&self) -> std::io::Result<Notifier> {
        Ok(Notifier { target: self.target.as_ref().map(UnixDatagram::try_clone).transpose()? })
    }

    /// Whether a service manager listens.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (newline-separated `KEY=VALUE` lines). A lost
    /// notification is logged, not fatal: serving matters more than telling.
    pub fn send(&self, state: &str) {
        if let Some(socket) = &self.target {
            if let Err(e) = socket.send(state.as_bytes()) {
                tracing::warn!("cannot notify the service manager ({state:?}): {e}");
            }
        }
    }

    /// Everything is attached, loaded and listening.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// A reload starts; `MONOTONIC_USEC` lets systemd 253+ (Type=notify-reload)
    /// match it with the READY=1 that ends it.
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", crate::xdp::liveness::monotonic_ns() / 1000));
    }

    /// A reload ended, whatever its outcome: the old zones still serve.
    pub fn reloaded(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }
}

/// STATUS= ends at the first newline.
fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn listener() -> (tempfile::TempDir, UnixDatagram, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (dir, socket, path.to_str().unwrap().to_owned())
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn each_state_is_one_datagram_of_key_value_lines() {
        let (_dir, socket, path) = listener();
        let notifier = Notifier::to(&path).unwrap();
        assert!(notifier.enabled());
        notifier.ready("serving\nexample.com");
        assert_eq!(receive(&socket), "READY=1\nSTATUS=serving example.com");
        notifier.reloading();
        let reloading = receive(&socket);
        let usec = reloading.strip_prefix("RELOADING=1\nMONOTONIC_USEC=").expect(&reloading);
        assert!(usec.parse::<u64>().unwrap() > 0, "{reloading}");
        notifier.reloaded("reloaded");
        assert_eq!(receive(&socket), "READY=1\nSTATUS=reloaded");
        notifier.watchdog();
        assert_eq!(receive(&socket), "WATCHDOG=1");
        notifier.stopping();
        assert_eq!(receive(&socket), "STOPPING=1\nSTATUS=stopping");
    }

    #[test]
    fn abstract_names_are_reached() {
        let name = format!("responder-notify-test-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let socket = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Notifier::to(&format!("@{name}")).unwrap().watchdog();
        assert_eq!(receive(&socket), "WATCHDOG=1");
    }

    #[test]
    fn bad_names_are_refused_and_no_socket_means_silence() {
        assert!(Notifier::to("relative/path").is_err());
        assert!(Notifier::to("/nonexistent/notify").is_err(), "a socket nobody holds is an error at start");
        let silent = Notifier::none();
        assert!(!silent.enabled());
        silent.ready("nobody listens"); // must not fail or block
    }
}
