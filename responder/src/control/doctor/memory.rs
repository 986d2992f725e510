//! Whether this host has the memory a reload needs. A reload builds the new
//! table while the old one serves, so beside what the running server holds
//! it needs the new table, and for zone files the compile's working memory
//! too; short of it the kernel's OOM killer may take the server down in the
//! middle of a reload (docs/DEPLOY.md "Memory").

use std::path::Path;

use super::report::Check;

/// `responder compile`'s peak resident memory per byte of zone file on the
/// generated hosting-provider zone of 1M names, 20 x (docs/BENCHMARKS.md
/// "Zones"): rounded up, as zones with longer names or more records per
/// name cost more per byte than the file suggests.
pub const COMPILE_PEAK_PER_ZONE_BYTE: u64 = 24;

/// What the server will load, as `serve` is given it.
pub enum Source<'a> {
    /// `--table FILE`: a reload maps the new file beside the old one.
    Table(&'a Path),
    /// `--zone [NAME=]FILE`s: a reload reads and compiles them all again.
    Zones(&'a [String]),
}

/// `MemAvailable` from /proc/meminfo, in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Bytes a reload needs beyond what the running server already holds, and
/// how that was worked out; an error names a file that cannot be read.
pub fn reload_need(source: &Source<'_>) -> Result<(u64, String), String> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(|e| format!("{}: {e}", p.display()));
    match source {
        Source::Table(path) => {
            let t = size(path)?;
            Ok((t, format!("a second copy of the {} MiB table", t >> 20)))
        }
        Source::Zones(args) => {
            let mut total = 0u64;
            for arg in args.iter() {
                let file = crate::control::zones::parse_arg(arg)?.1;
                total += size(Path::new(file))?;
            }
            let need = total.saturating_mul(COMPILE_PEAK_PER_ZONE_BYTE);
            Ok((need, format!("compiling {} MiB of zone files (about {COMPILE_PEAK_PER_ZONE_BYTE} x)", total >> 20)))
        }
    }
}

/// The finding: `available` is MemAvailable (None when unknown).
pub fn reload_memory(available: Option<u64>, need: u64, how: &str) -> Check {
    let mib = |b: u64| b >> 20;
    let check = match available {
        None => Check::warn(
            "reload-memory",
            format!("MemAvailable unknown; a reload needs about {} MiB ({how})", mib(need)),
            "check /proc/meminfo",
        ),
        Some(a) if a < need => Check::warn(
            "reload-memory",
            format!("MemAvailable {} MiB < about {} MiB a reload needs ({how})", mib(a), mib(need)),
            "free memory or add some before reloading; or compile the table elsewhere (`responder compile`) and \
             serve it with --table, which needs only a second copy of the table",
        ),
        Some(a) => Check::ok(
            "reload-memory",
            format!("MemAvailable {} MiB ≥ about {} MiB a reload needs ({how})", mib(a), mib(need)),
        ),
    };
    check.fact("mem_available_bytes", available).fact("reload_needs_bytes", need)
}

/// The check for `source` on this host.
pub fn check(source: &Source<'_>) -> Check {
    match reload_need(source) {
        Ok((need, how)) => {
            let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| mem_available(&m));
            reload_memory(available, need, &how)
        }
        Err(e) => Check::warn("reload-memory", format!("cannot size what a reload loads: {e}"), "check the path"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::Status;
    use super::*;

    #[test]
    fn mem_available_is_read_in_bytes() {
        let meminfo = "MemTotal:       24684032 kB\nMemFree:         6713344 kB\nMemAvailable:   24060928 kB\n";
        assert_eq!(mem_available(meminfo), Some(24060928 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots kB\n"), None);
    }

    #[test]
    fn too_little_memory_warns_and_enough_does_not() {
        let short = reload_memory(Some(100 << 20), 300 << 20, "x");
        assert_eq!(short.status, Status::Warn);
        assert!(short.finding.contains("100 MiB < about 300 MiB"), "{short:?}");
        assert_eq!(reload_memory(Some(300 << 20), 300 << 20, "x").status, Status::Ok);
        assert_eq!(reload_memory(None, 1, "x").status, Status::Warn);
    }

    #[test]
    fn needs_follow_the_files_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let (table, zone) = (dir.path().join("t.tbl"), dir.path().join("z.zone"));
        std::fs::write(&table, vec![0u8; 3000]).unwrap();
        std::fs::write(&zone, vec![b' '; 1000]).unwrap();
        assert_eq!(reload_need(&Source::Table(&table)).unwrap().0, 3000);
        let args = [format!("example.com={}", zone.display()), zone.display().to_string()];
        assert_eq!(reload_need(&Source::Zones(&args)).unwrap().0, 2000 * COMPILE_PEAK_PER_ZONE_BYTE);
        let missing = [dir.path().join("nope.zone").display().to_string()];
        assert!(reload_need(&Source::Zones(&missing)).is_err());
        assert_eq!(check(&Source::Zones(&missing)).status, Status::Warn);
    }
}
