//! What was built: for `responder_build_info` (and any log line that wants it).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Set by `build.rs`: the git commit, `RESPONDER_COMMIT`, or "unknown".
pub const COMMIT: &str = env!("RESPONDER_COMMIT");
