//! Where things are: the repository root, the target directory, cargo itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root, fixed at compile time: xtask always lives in `xtask/`.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

/// Honours `CARGO_TARGET_DIR` the way cargo does (relative to the invocation
/// directory, which for us is the root).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Scratch space for logs and ledgers of this tool.
pub fn xtask_dir() -> PathBuf {
    target_dir().join("xtask")
}

pub fn release_responder() -> PathBuf {
    target_dir().join("release").join("responder")
}

pub fn bundled_zone() -> PathBuf {
    root().join("zones").join("example.com.zone")
}

/// A cargo command run from the root. `cargo xtask` sets `CARGO` to the cargo
/// that started us, so nested builds use the same toolchain.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    cmd
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
