//! Claiming the control socket's path. The server starts as root with a path
//! from a flag or a config file, so nothing found there is destroyed but a
//! socket that nobody serves: a file, directory, FIFO or symlink (looked at
//! with lstat, never followed) is refused and left as it was, and a socket
//! that answers is another server's.
//!
//! Two servers starting at once could both find the same stale socket, and
//! the second's unlink would then remove the first's new one. Each holds an
//! flock on the socket's directory from its look to its bind, so they take
//! turns, and the second finds the first's socket alive.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

/// Other servers hold the directory's lock for a few system calls; anything
/// holding it longer is not one of them.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// A socket file this process bound: which inode, so that it removes its own
/// and never one that replaced it.
pub struct Claimed {
    path: PathBuf,
    inode: (u64, u64),
}

/// Binds a listening socket at `path` (mode 0600: the socket can reload
/// zones), replacing only a stale socket.
pub fn bind(path: &Path) -> Result<(UnixListener, Claimed), String> {
    let shown = path.display();
    let dir = directory(path);
    std::fs::create_dir_all(dir).map_err(|e| format!("control socket {shown}: cannot create its directory: {e}"))?;
    let _lock = lock(dir).map_err(|e| format!("control socket {shown}: cannot lock {}: {e}", dir.display()))?;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("control socket {shown}: cannot look at what is there: {e}")),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(format!(
                "control socket {shown}: {} is there, not a socket; it is left as it is: remove it or choose \
                 another path",
                kind(&meta.file_type())
            ))
        }
        Ok(_) => match probe(path) {
            Probe::Served => return Err(format!("control socket {shown}: another responder is serving it")),
            Probe::Gone => {}
            Probe::Stale => std::fs::remove_file(path)
                .map_err(|e| format!("control socket {shown}: cannot remove the stale socket: {e}"))?,
            Probe::Unknown(e) => {
                return Err(format!(
                    "control socket {shown}: cannot tell whether it is in use ({e}); it is left as it is"
                ))
            }
        },
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("control socket {shown}: {e}"))?;
    // Under the lock no other server can have replaced it since the bind;
    // checked all the same, because chmod follows a symlink.
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("control socket {shown}: {e}"))?;
    if !meta.file_type().is_socket() {
        return Err(format!("control socket {shown}: replaced by {} right after binding", kind(&meta.file_type())));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("control socket {shown}: {e}"))?;
    Ok((listener, Claimed { path: path.to_owned(), inode: (meta.dev(), meta.ino()) }))
}

impl Drop for Claimed {
    /// Removes the socket if it is still ours. After a privilege drop the
    /// directory may not let us: harmless, the next start replaces a stale
    /// socket.
    fn drop(&mut self) {
        let _lock = lock(directory(&self.path));
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory a socket path is created in (`.` for a bare name).
fn directory(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// An exclusive flock on `dir`, released when the file is dropped.
fn lock(dir: &Path) -> io::Result<File> {
    let file = File::open(dir)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        // SAFETY: flock(2) on a descriptor that `file` owns and keeps open
        // for the call; it touches no memory of ours.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::WouldBlock || Instant::now() >= deadline {
            return Err(error);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

enum Probe {
    /// A process accepts connections on it (or its backlog is full).
    Served,
    /// Nobody listens: a server that was killed left it.
    Stale,
    /// Removed since we looked.
    Gone,
    Unknown(io::Error),
}

/// Whether a process serves the socket at `path`. Non-blocking, so that a
/// hung server with a full backlog is "served", not a hang here.
fn probe(path: &Path) -> Probe {
    let connect = || -> io::Result<()> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        socket.connect(&SockAddr::unix(path)?)
    };
    match connect() {
        Ok(()) => Probe::Served,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Probe::Served,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Probe::Stale,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Probe::Gone,
        Err(e) => Probe::Unknown(e),
    }
}

fn kind(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a device file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn refused(path: &Path) -> String {
        bind(path).err().expect("the path was taken")
    }

    #[test]
    fn a_file_directory_fifo_or_symlink_at_the_path_is_refused_and_left_intact() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"precious\n").unwrap();
        assert!(refused(&file).contains("a regular file is there, not a socket"), "{}", refused(&file));
        assert_eq!(std::fs::read(&file).unwrap(), b"precious\n");

        let subdir = dir.path().join("dir");
        std::fs::create_dir(&subdir).unwrap();
        assert!(refused(&subdir).contains("a directory is there"), "{}", refused(&subdir));
        assert!(subdir.is_dir());

        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        assert!(refused(&fifo).contains("a FIFO is there"), "{}", refused(&fifo));
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

        // A symlink, even to a stale socket that would itself be replaced.
        let stale = dir.path().join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        let link = dir.path().join("link.sock");
        std::os::unix::fs::symlink(&stale, &link).unwrap();
        assert!(refused(&link).contains("a symbolic link is there"), "{}", refused(&link));
        assert_eq!(std::fs::read_link(&link).unwrap(), stale);
        assert!(std::fs::symlink_metadata(&stale).unwrap().file_type().is_socket());
    }

    #[test]
    fn a_served_socket_is_kept_and_a_stale_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let live = UnixListener::bind(&path).unwrap();
        assert!(refused(&path).contains("another responder is serving it"), "{}", refused(&path));
        UnixStream::connect(&path).expect("the live socket is still there");
        drop(live); // the file stays, nobody listens

        let (listener, claimed) = bind(&path).unwrap();
        UnixStream::connect(&path).expect("the new socket is served");
        drop(claimed);
        assert!(!path.exists(), "its own socket is removed at stop");
        drop(listener);
    }

    #[test]
    fn a_socket_that_replaced_ours_is_not_removed_at_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctl.sock");
        let (_listener, claimed) = bind(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let _other = UnixListener::bind(&path).unwrap();
        drop(claimed);
        UnixStream::connect(&path).expect("the other server's socket is kept");
    }
}
