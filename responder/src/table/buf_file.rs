//! The file a [`TableBuf`](super::buf::TableBuf) can be written into
//! (`responder compile`): a temporary file beside the output, mapped
//! shared, so that the table's bytes go to the file as they are written
//! and the part already written need not stay in this process's memory.
//! Held in full, the table being written was a third of the compile's
//! peak at a million names (issue 14).

use std::fs::File;
use std::path::{Path, PathBuf};

/// The temporary file, removed when dropped unless [`Backing::keep`] said
/// it is complete: an error anywhere in the compile leaves no file.
pub(super) struct Backing {
    file: File,
    path: PathBuf,
    /// The file's length so far (blocks reserved up to here).
    reserved: usize,
    /// The bytes before this were last released from this process.
    pub released: usize,
    kept: bool,
    /// A disk that fills up at this length, for the tests of a full disk.
    #[cfg(test)]
    pub full_at: Option<usize>,
}

impl Backing {
    /// Creates (or empties, as a rerun after a crash finds it) `path`.
    pub fn create(path: &Path) -> std::io::Result<Backing> {
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        Ok(Backing {
            file,
            path: path.to_path_buf(),
            reserved: 0,
            released: 0,
            kept: false,
            #[cfg(test)]
            full_at: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Grows the file to `len` bytes, its new blocks allocated now: a disk
    /// found full here is an error to report, where a write through the
    /// mapping into a hole would be a SIGBUS.
    pub fn reserve(&mut self, len: usize) -> std::io::Result<()> {
        if len <= self.reserved {
            return Ok(());
        }
        #[cfg(test)]
        if self.full_at.is_some_and(|full| len > full) {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        let too_big = || std::io::Error::from(std::io::ErrorKind::FileTooLarge);
        let from = libc::off_t::try_from(self.reserved).map_err(|_| too_big())?;
        let more = libc::off_t::try_from(len - self.reserved).map_err(|_| too_big())?;
        // SAFETY: the descriptor is this backing's open file, borrowed for
        // the call; no memory is passed. (glibc writes zeros itself where
        // the file system has no fallocate.)
        let err = unsafe { libc::posix_fallocate(std::os::fd::AsRawFd::as_raw_fd(&self.file), from, more) };
        if err != 0 {
            return Err(std::io::Error::from_raw_os_error(err));
        }
        self.reserved = len;
        Ok(())
    }

    /// A shared mapping of the file's first `len` bytes (reserved).
    pub fn map(&self, len: usize) -> std::io::Result<memmap2::MmapMut> {
        debug_assert!(len <= self.reserved);
        // SAFETY: the file is one this process created and holds open,
        // at least `len` bytes long (`reserve`), and never shortened while
        // a mapping of it lives (`finish` drops the mapping first). Another
        // process that truncated it (nothing should: it is a temporary
        // name, renamed into place only when complete) would end the
        // compile with SIGBUS, as with any mapped file.
        unsafe { memmap2::MmapOptions::new().len(len).map_mut(&self.file) }
    }

    /// Drops this process's page-table entries for `map[..end]` (whole
    /// pages), the bytes already written: its resident set shrinks, while
    /// the bytes stay in the file (its page cache, written back as the
    /// kernel likes). A later read or write of them faults them back in.
    pub fn release(map: &memmap2::MmapMut, end: usize) {
        let end = end - end % PAGE;
        if end == 0 {
            return;
        }
        // SAFETY: `map` is a shared mapping of a file (`Backing::map`).
        // For such a mapping MADV_DONTNEED discards no data: madvise(2),
        // "subsequent accesses of pages in the range will succeed, but will
        // result in ... repopulating the memory contents from the
        // up-to-date contents of the underlying mapped file"; the dirty
        // pages stay in the page cache (the buffer's tests read them back).
        // What memmap2 guards against (zeroed pages of a private or
        // anonymous mapping under a live borrow) cannot happen here.
        // Only a hint: if refused, the pages stay resident.
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, end) };
    }

    /// Cuts the file to the `len` bytes written, once no mapping of it is
    /// left, and keeps it: its path, for the caller to check and rename.
    pub fn finish(mut self, len: usize) -> std::io::Result<PathBuf> {
        self.file.set_len(len as u64)?;
        self.kept = true;
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The page size the releases round to. Larger pages (some arm64 kernels)
/// only make a release take less; nothing depends on it for correctness.
const PAGE: usize = 4096;
