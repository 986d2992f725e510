//! The allocator's settings for this process, made once at start.
//!
//! glibc serves a block from its own mapping (given back to the kernel
//! when freed) only above a threshold, and raises that threshold to the
//! size of each such block freed, up to 32 MB. A big zone's load frees its
//! text (31 MB at a million names) and the check's indexes; from then on
//! every block up to that size, the compiler's and a reload's, comes from
//! the heap and stays resident after it is freed. Fixed at 1 MB, the
//! threshold stays where blocks that big are returned: a million-name
//! compile peaked at 260 MB with it moving and at 240 MB fixed
//! (docs/BENCHMARKS.md, issue 14).

/// Blocks from this size up get their own mapping.
const MMAP_THRESHOLD: i32 = 1 << 20;

/// Fixes the allocator's mapping threshold (glibc only; elsewhere nothing).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets a parameter of glibc's allocator,
        // under the allocator's own lock, and takes plain integers; a value
        // it refuses (above 32 MB for this one) returns 0 and changes
        // nothing, leaving the default behaviour.
        let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    }
}
