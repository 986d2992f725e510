//! The last good copy of a secondary zone on disk, a plain zone file, so a
//! restart serves it before any primary answers. Written to a temporary
//! file beside it and renamed over it, so a crash leaves the old copy or the
//! new one, never half of one. Its modification time is the last good
//! refresh: the expire timer runs on from it across a restart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::zone::{self, Name, ReadLimits, Zone};

/// Replaces `path` with `text`, durably.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = temporary(path);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Records that the copy at `path` was confirmed current just now.
pub fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// The copy at `path` and when it was last confirmed; `None` when there is
/// none yet. A copy that does not load is an error naming file and line.
pub fn load(path: &Path, origin: &Name, limits: &ReadLimits) -> Result<Option<(Zone, SystemTime)>, String> {
    let modified = match std::fs::metadata(path) {
        Ok(m) => m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let zone = zone::load_file_with(path, Some(origin), limits).map_err(|e| e.to_string())?;
    Ok(Some((zone, modified)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_replaced_whole_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/example.test.zone");
        let origin = Name::parse("example.test.", None).unwrap().unwrap();
        assert!(load(&path, &origin, &ReadLimits::default()).unwrap().is_none(), "no copy yet");
        let text = "example.test. 60 IN SOA ns.example.test. h.example.test. 1 2 3 4 5\n\
                    example.test. 60 IN NS ns.example.test.\nns.example.test. 60 IN A 198.18.0.1\n";
        write_atomically(&path, text).unwrap();
        let (zone, _) = load(&path, &origin, &ReadLimits::default()).unwrap().unwrap();
        assert_eq!(zone.records.len(), 3);
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary file left");
        std::fs::write(&path, "garbage here\n").unwrap();
        assert!(load(&path, &origin, &ReadLimits::default()).unwrap_err().contains("example.test.zone:1"));
    }
}
