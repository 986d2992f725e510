//! Where dnstap goes: `unix:PATH`, a Frame Streams reader listening on a
//! unix socket (fstrm_capture, dnstap-receiver, a collector), reconnected
//! whenever it goes away; or `file:PATH` (or a bare path), a Frame Streams
//! file `dnstap-read` reads.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fstrm::{self, Control, DNSTAP_CONTENT_TYPE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnstapSink {
    Unix(PathBuf),
    File(PathBuf),
}

impl DnstapSink {
    /// `unix:PATH`, `file:PATH` or `PATH` (a file).
    pub fn parse(text: &str) -> Result<DnstapSink, String> {
        let (unix, path) = match text.strip_prefix("unix:") {
            Some(path) => (true, path),
            None => (false, text.strip_prefix("file:").unwrap_or(text)),
        };
        if path.is_empty() {
            return Err(format!("dnstap sink {text:?}: give unix:PATH (a Frame Streams socket) or a file path"));
        }
        if !unix {
            return Ok(DnstapSink::File(PathBuf::from(path)));
        }
        // sun_path holds 107 bytes and a NUL.
        if path.len() > 107 {
            return Err(format!("dnstap sink {text:?}: a unix socket path is at most 107 bytes"));
        }
        Ok(DnstapSink::Unix(PathBuf::from(path)))
    }

    /// The same sink with a relative path taken from `base`.
    pub fn relative_to(self, base: &Path) -> DnstapSink {
        match self {
            DnstapSink::Unix(p) => DnstapSink::Unix(base.join(p)),
            DnstapSink::File(p) => DnstapSink::File(base.join(p)),
        }
    }
}

impl fmt::Display for DnstapSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnstapSink::Unix(p) => write!(f, "unix:{}", p.display()),
            DnstapSink::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// Longest a write or the handshake may block the capture thread: a reader
/// that stops reading is dropped and reconnected rather than waited for
/// (the serving threads never wait either way; their rings fill and drop).
const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Between connection attempts while the reader is away.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

enum Stream {
    Unix(UnixStream),
    File(BufWriter<File>),
}

/// The dnstap output: frames gathered for one pass, then written at once.
pub struct DnstapOutput {
    sink: DnstapSink,
    stream: Option<Stream>,
    next_attempt: Instant,
    /// The reader is away and that was said; said again when it is back.
    reported_away: bool,
    frames: Vec<u8>,
}

impl DnstapOutput {
    /// A file is created at once (an error is the caller's to report); a
    /// socket is connected now if its reader listens, else later.
    pub fn open(sink: DnstapSink) -> io::Result<DnstapOutput> {
        let mut out = DnstapOutput {
            sink,
            stream: None,
            next_attempt: Instant::now(),
            reported_away: false,
            frames: Vec::with_capacity(1 << 16),
        };
        if let DnstapSink::File(path) = &out.sink {
            let mut file = BufWriter::new(File::create(path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create the dnstap file {}: {e}", path.display()))
            })?);
            file.write_all(&fstrm::control_frame(Control::Start, DNSTAP_CONTENT_TYPE))?;
            out.stream = Some(Stream::File(file));
        }
        out.ready();
        Ok(out)
    }

    /// Whether frames can be written now, connecting if it is time to try.
    pub fn ready(&mut self) -> bool {
        if self.stream.is_none() && Instant::now() >= self.next_attempt {
            self.connect();
        }
        self.stream.is_some()
    }

    fn connect(&mut self) {
        let DnstapSink::Unix(path) = &self.sink else { return };
        self.next_attempt = Instant::now() + RECONNECT_EVERY;
        let attempt = UnixStream::connect(path).and_then(|mut s| {
            s.set_read_timeout(Some(IO_TIMEOUT))?;
            s.set_write_timeout(Some(IO_TIMEOUT))?;
            fstrm::handshake(&mut s, DNSTAP_CONTENT_TYPE)?;
            Ok(s)
        });
        match attempt {
            Ok(s) => {
                tracing::info!(sink = %self.sink, "dnstap: connected to the reader");
                self.reported_away = false;
                self.stream = Some(Stream::Unix(s));
            }
            Err(e) if !self.reported_away => {
                tracing::warn!(sink = %self.sink, error = %e, "dnstap: no reader; dropping dnstap until one listens");
                self.reported_away = true;
            }
            Err(_) => {}
        }
    }

    /// Adds one dnstap message to this pass.
    pub fn push(&mut self, payload: &[u8]) {
        // Only an empty payload is refused, and a dnstap message never is.
        let _ = fstrm::data_frame(&mut self.frames, payload);
    }

    /// This pass's frames so far, for a writer that encodes its frames in
    /// place rather than handing over a payload to copy.
    pub fn frames(&mut self) -> &mut Vec<u8> {
        &mut self.frames
    }

    /// Writes the pass; false if it was lost (the connection is then closed,
    /// to be tried again).
    pub fn flush(&mut self) -> bool {
        let frames = std::mem::take(&mut self.frames);
        let result = match &mut self.stream {
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
            Some(Stream::Unix(s)) => s.write_all(&frames),
            Some(Stream::File(f)) => f.write_all(&frames).and_then(|()| f.flush()),
        };
        self.frames = frames;
        self.frames.clear();
        match result {
            Ok(()) => true,
            Err(e) => {
                if let Some(Stream::Unix(_)) = self.stream.take() {
                    tracing::warn!(sink = %self.sink, error = %e, "dnstap: lost the reader; reconnecting");
                    self.reported_away = true;
                    self.next_attempt = Instant::now() + RECONNECT_EVERY;
                } else if let DnstapSink::File(path) = &self.sink {
                    tracing::error!(file = %path.display(), error = %e, "dnstap: cannot write the file");
                }
                false
            }
        }
    }

    /// Ends the stream as Frame Streams asks: STOP (and FINISH from a reader).
    pub fn close(mut self) {
        match self.stream.take() {
            Some(Stream::Unix(mut s)) => {
                let _ = fstrm::finish(&mut s);
            }
            Some(Stream::File(mut f)) => {
                let _ = f.write_all(&fstrm::control_frame(Control::Stop, &[])).and_then(|()| f.flush());
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_parse_and_bad_ones_say_what_is_wanted() {
        assert_eq!(DnstapSink::parse("unix:/run/dnstap.sock"), Ok(DnstapSink::Unix("/run/dnstap.sock".into())));
        assert_eq!(DnstapSink::parse("file:out.fstrm"), Ok(DnstapSink::File("out.fstrm".into())));
        assert_eq!(DnstapSink::parse("/var/tmp/x.dnstap"), Ok(DnstapSink::File("/var/tmp/x.dnstap".into())));
        assert!(DnstapSink::parse("unix:").unwrap_err().contains("unix:PATH"));
        assert!(DnstapSink::parse("").is_err());
        let long = format!("unix:/{}", "a".repeat(120));
        assert!(DnstapSink::parse(&long).unwrap_err().contains("107 bytes"));
        assert_eq!(
            DnstapSink::parse("unix:rel").unwrap().relative_to(Path::new("/etc/r")).to_string(),
            "unix:/etc/r/rel"
        );
    }

    #[test]
    fn a_file_is_start_frames_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.fstrm");
        let mut out = DnstapOutput::open(DnstapSink::File(path.clone())).unwrap();
        assert!(out.ready());
        out.push(b"abc");
        assert!(out.flush());
        out.close();
        let bytes = std::fs::read(&path).unwrap();
        let start = fstrm::control_frame(Control::Start, DNSTAP_CONTENT_TYPE);
        let stop = fstrm::control_frame(Control::Stop, &[]);
        assert_eq!(bytes, [&start[..], &[0, 0, 0, 3], b"abc", &stop[..]].concat());
    }

    #[test]
    fn a_missing_reader_is_not_an_error_and_loses_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = DnstapOutput::open(DnstapSink::Unix(dir.path().join("nobody.sock"))).unwrap();
        assert!(!out.ready());
        out.push(b"x");
        assert!(!out.flush());
        assert!(DnstapOutput::open(DnstapSink::File(dir.path().join("no/such/dir/f"))).is_err());
    }
}
