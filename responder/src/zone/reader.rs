//! Reading zone files as a daemon that starts as root must: only regular
//! files (a FIFO would block a reload for ever, `/dev/zero` never ends), at
//! most [`ReadLimits::max_bytes`] per zone counting every `$INCLUDE`, counted
//! while reading so a file that grows cannot get past it, and `$INCLUDE`
//! only from below the zone file's directory or a directory the
//! configuration allows (as BIND and Knot operators expect: a zone file must
//! not be a way to read `/etc/shadow`).
//!
//! A refused file is never read, so no error can show its content.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// 4 GiB: far above any zone this server is given in practice (a million
/// names is about 40 MB of text; the largest TLD zones are a few GB), while
/// still stopping an endless or runaway file before it takes the host's
/// memory. Lower it where zones come from less trusted hands.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// What a zone load may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes read for one zone, its `$INCLUDE`s counted in.
    pub max_bytes: u64,
    /// Directories `$INCLUDE` may read from besides the zone file's own
    /// (and everything below each).
    pub include_dirs: Vec<PathBuf>,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits { max_bytes: DEFAULT_MAX_BYTES, include_dirs: Vec::new() }
    }
}

/// One zone's reads: the bytes left and where includes may come from.
pub struct Reader {
    max_bytes: u64,
    used: u64,
    /// Canonical: compared with an include's canonical path.
    roots: Vec<PathBuf>,
}

impl Reader {
    /// For the zone whose top file is in `zone_dir`. Directories that do not
    /// exist allow nothing (there is nothing under them to include).
    pub fn new(limits: &ReadLimits, zone_dir: &Path) -> Reader {
        let zone_dir = if zone_dir.as_os_str().is_empty() { Path::new(".") } else { zone_dir };
        let roots = std::iter::once(zone_dir)
            .chain(limits.include_dirs.iter().map(PathBuf::as_path))
            .filter_map(|dir| std::fs::canonicalize(dir).ok())
            .collect();
        Reader { max_bytes: limits.max_bytes, used: 0, roots }
    }

    /// The zone's own file.
    pub fn read_zone(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        self.read(path, path)
    }

    /// A file named by `$INCLUDE`, after checking where it really is.
    pub fn read_include(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        let real = std::fs::canonicalize(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if !self.roots.iter().any(|root| real.starts_with(root)) {
            let mut roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
            if roots.is_empty() {
                roots.push("the zone file's directory (which cannot be resolved)".into());
            }
            let resolved = if real == path { String::new() } else { format!(" (it resolves to {})", real.display()) };
            return Err(format!(
                "{} is outside {}{resolved}: $INCLUDE reads only below the zone file's directory; \
                 allow more with include-dirs in [server] (--include-dir)",
                path.display(),
                roots.join(", ")
            ));
        }
        // The canonical path: a symlink swapped after the check cannot lead out.
        self.read(&real, path)
    }

    /// Reads `path`, named `shown` in errors.
    fn read(&mut self, path: &Path, shown: &Path) -> Result<Vec<u8>, String> {
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", shown.display());
        // Checked before opening, because opening a FIFO blocks until a
        // writer comes and opening a device may do something; and again on
        // the file opened, which may not be the one looked at.
        regular(shown, &std::fs::metadata(path).map_err(cannot)?)?;
        let file: File =
            OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path).map_err(cannot)?;
        let metadata = file.metadata().map_err(cannot)?;
        regular(shown, &metadata)?;
        let left = self.max_bytes.saturating_sub(self.used);
        let mut text = Vec::with_capacity(metadata.len().min(left) as usize);
        // One byte past what is left tells "exactly at the cap" from "over it".
        file.take(left.saturating_add(1)).read_to_end(&mut text).map_err(cannot)?;
        self.used += text.len() as u64;
        if text.len() as u64 > left {
            return Err(format!(
                "{}: the zone is more than {} bytes with its $INCLUDE files (zone-max-size in [server], \
                 --zone-max-size)",
                shown.display(),
                self.max_bytes
            ));
        }
        Ok(text)
    }
}

/// Refuses anything but a regular file at `path` (symlinks followed), for
/// readers that open files themselves (the compiled table).
pub fn require_regular_file(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    regular(path, &metadata)
}

fn regular(path: &Path, metadata: &Metadata) -> Result<(), String> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(format!("{} is not a regular file ({what}): zone files must be regular files", path.display()))
}

/// `4096`, `64K`, `512M`, `4G` (powers of 1024, as Knot's sizes): for
/// `--zone-max-size` and the configuration's `zone-max-size`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("invalid size {text:?}: expected bytes, or a number with K, M or G (like 64M)");
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let number: u64 = digits.parse().map_err(|_| bad())?;
    if number == 0 {
        return Err(format!("invalid size {text:?}: a zone cannot be empty"));
    }
    number.checked_mul(1 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::test_support::TempDir;

    fn limits(max_bytes: u64) -> ReadLimits {
        ReadLimits { max_bytes, ..ReadLimits::default() }
    }

    #[test]
    fn fifos_devices_and_directories_are_refused_without_opening_them() {
        let dir = TempDir::new("reader-kinds");
        let fifo = dir.path("zone.fifo");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(status.success());
        let mut reader = Reader::new(&ReadLimits::default(), dir.root());
        // Opening the FIFO would block here for ever: the test would hang.
        let err = reader.read_zone(&fifo).unwrap_err();
        assert_eq!(err, format!("{} is not a regular file (a FIFO): zone files must be regular files", fifo.display()));
        let err = reader.read_zone(Path::new("/dev/zero")).unwrap_err();
        assert!(err.starts_with("/dev/zero is not a regular file (a character device)"), "{err}");
        let link = dir.path("zero.zone");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = reader.read_zone(&link).unwrap_err();
        assert!(err.contains("zero.zone is not a regular file (a character device)"), "{err}");
        let err = reader.read_zone(dir.root()).unwrap_err();
        assert!(err.contains("is not a regular file (a directory)"), "{err}");
    }

    #[test]
    fn the_byte_cap_counts_every_file_of_the_zone() {
        let dir = TempDir::new("reader-cap");
        dir.write("a.zone", &"a".repeat(60));
        dir.write("b.zone", &"b".repeat(40));
        let mut reader = Reader::new(&limits(100), dir.root());
        assert_eq!(reader.read_zone(&dir.path("a.zone")).unwrap().len(), 60);
        assert_eq!(reader.read_include(&dir.path("b.zone")).unwrap().len(), 40, "exactly at the cap is fine");
        let err = reader.read_include(&dir.path("a.zone")).unwrap_err();
        assert!(err.ends_with("a.zone: the zone is more than 100 bytes with its $INCLUDE files (zone-max-size in [server], --zone-max-size)"), "{err}");
    }

    #[test]
    fn includes_stay_below_the_zone_directory_unless_allowed() {
        let dir = TempDir::new("reader-confine");
        dir.write("zones/sub/part.zone", "x A 198.18.0.1\n");
        dir.write("secret", "the content\n");
        std::os::unix::fs::symlink(dir.path("secret"), dir.path("zones/link")).unwrap();
        let zones = dir.path("zones");
        let mut reader = Reader::new(&ReadLimits::default(), &zones);
        assert!(reader.read_include(&zones.join("sub/part.zone")).is_ok());
        assert!(reader.read_include(&zones.join("sub/../sub/part.zone")).is_ok());
        for outside in [zones.join("../secret"), zones.join("link"), PathBuf::from("/etc/passwd")] {
            let err = reader.read_include(&outside).unwrap_err();
            assert!(err.contains(" is outside ") && err.contains("--include-dir"), "{err}");
            assert!(!err.contains("the content") && !err.contains("root:"), "{err}");
        }
        let err = reader.read_include(&zones.join("link")).unwrap_err();
        assert!(
            err.contains(&format!("(it resolves to {})", std::fs::canonicalize(dir.path("secret")).unwrap().display())),
            "{err}"
        );
        let allowed = ReadLimits { include_dirs: vec![dir.root().to_path_buf()], ..ReadLimits::default() };
        let mut reader = Reader::new(&allowed, &zones);
        assert_eq!(reader.read_include(&zones.join("link")).unwrap(), b"the content\n");
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("4G"), Ok(DEFAULT_MAX_BYTES));
        for bad in ["", "G", "-1", "1T", "1.5G", "99999999999999999999G"] {
            assert!(parse_size(bad).unwrap_err().starts_with("invalid size"), "{bad}");
        }
        assert!(parse_size("0").is_err());
    }
}
