//! Logs go to stderr through tracing; RUST_LOG overrides the level flags.

use tracing_subscriber::EnvFilter;

/// `-q` and `-v` win over `configured` (the config file's `[log] level`),
/// which wins over the default, info.
pub fn init(verbose: u8, quiet: bool, configured: Option<&str>) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => configured.unwrap_or("info"),
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
