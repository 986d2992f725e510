//! `responder serve --config FILE`: settings from a TOML file, under the
//! flags given on the command line.
//!
//! The file covers every `serve` flag, in sections an operator of Knot or NSD
//! will recognise (`scripts/responder.toml` lists every key with its flag):
//!
//! | section    | keys (flag)                                                                         |
//! |------------|-------------------------------------------------------------------------------------|
//! | `[server]` | `listen` (--listen), `udp-workers`, `udp-busy-poll`, `udp-flow-hash`, `tcp-idle-timeout`, `tcp-max-clients` (--tcp-max-connections), `tcp-max-connections-per-client`, `udp-max-payload` (--edns-size), `identity`, `hostname` (--chaos-hostname), `version` (--chaos-version), `nsid`, `user`, `table`, `zone-max-size`, `include-dirs` (--include-dir) |
//! | `[[zone]]` | `name`, `file` (--zone NAME=FILE), one table per zone; `master` makes it a secondary, `acl`/`notify`/`journal-max-depth` send it out (file only) |
//! | `[xdp]`    | `interface` (--iface), `queues`, `cpus`, `mode` (--xdp-mode), `zero-copy`, `frames`, `frame-size`, `ring-size`, `batch`, `busy-poll`, `ports` (--xdp-port) |
//! | `[rrl]`    | `rate-limit` (--rrl-rate), `slip`, `ipv4-prefix-length`, `ipv6-prefix-length`, `table-size` |
//! | `[control]`| `listen` (--control-socket), `metrics`                                               |
//! | `[log]`    | `level` (-q/-v), `stats-interval`, `format` (--log-format), `queries` (--log-queries) |
//! | `[dnstap]` | `sink` (--dnstap), `sample` (--dnstap-sample), `source-rate` (--dnstap-source-rate)  |
//! | `[pcap]`   | `file` (--pcap), `sample` (--pcap-sample), `source-rate` (--pcap-source-rate)        |
//! | `[capture]`| `ring-size` (--capture-ring-size)                                                    |
//! | `[[key]]`, `[[remote]]`, `[[acl]]` | TSIG keys, peers, access rules (no flags; `access.rs`)                  |
//! | `[[template]]` | `id`, `master`, `storage`: what a catalog's members get (`catalog.rs`; `[[zone]]` `catalog-role`, `catalog-template`) |
//!
//! Precedence: a flag on the command line, else the file, else the flag's
//! default. Lists given as flags (--zone, --listen, --xdp-port) replace the
//! file's list rather than adding to it; --zone or --table replaces the
//! file's zones and table together. Relative paths in the file (zone files,
//! `table`, the control socket) are relative to the file's directory, as
//! Knot's `storage` is, so a configuration can travel with its zones.
//!
//! Errors name the place: `FILE:LINE:COL: what is wrong`.

mod access;
mod catalog;
pub mod every_error;
mod merge;
mod outbound;
mod position;
mod read;
mod schema;
mod secondary;
mod settings;
mod values;

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod merge_tests;
#[cfg(test)]
mod outbound_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use clap::ArgMatches;

use super::ServeArgs;
use merge::Precedence;
use position::located;

pub use settings::Settings;
pub use values::LogLevel;

/// `serve`'s settings once the file (if any) is merged in.
#[derive(Debug)]
pub struct Resolved {
    pub args: ServeArgs,
    /// `[log] level`, for when neither -v nor -q is given.
    pub log_level: Option<LogLevel>,
    /// `[log] format`, for when --log-format is not given.
    pub log_format: Option<crate::control::logging::LogFormat>,
}

/// Reads `--config` if given and merges it under the command line.
/// `matches` are the `serve` subcommand's, which say which flags were given.
pub fn resolve(args: ServeArgs, matches: &ArgMatches) -> Result<Resolved, String> {
    let file = match &args.config {
        Some(path) => load(path)?,
        None => Settings::default(),
    };
    merge(args, file, matches)
}

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<Settings, String> {
    let text = read::read_text(path)?;
    parse_str(&text, path, &base_directory(path)?)
}

/// [`parse_str`] on a file's bytes, which must be UTF-8. No file is read:
/// this is the fuzz target's entry.
pub fn parse_bytes(bytes: &[u8], file: &Path, base: &Path) -> Result<Settings, String> {
    parse_str(&read::decode(bytes.to_vec(), file)?, file, base)
}

/// Parses configuration text; errors are reported as in `file`, and
/// relative paths are joined to `base`.
pub fn parse_str(text: &str, file: &Path, base: &Path) -> Result<Settings, String> {
    let document: schema::Document = toml::from_str(text).map_err(|e| {
        let message = e.message();
        // The toml crate leaves out which key: the span shows it.
        let message = match (message, e.span().and_then(|s| text.get(s))) {
            ("duplicate key", Some(key)) => format!("duplicate key `{key}`"),
            _ => message.to_string(),
        };
        located(file, text, e.span(), &message)
    })?;
    Settings::from_document(document, &settings::Origin { file, text, base })
}

/// Puts `file` under the command line in `args`.
pub fn merge(mut args: ServeArgs, file: Settings, matches: &ArgMatches) -> Result<Resolved, String> {
    let mut precedence = Precedence::new(matches);
    let (log_level, log_format) = (file.log_level, file.log_format);
    let xdp_settings_at = file.xdp_settings_at.clone();
    let capture_settings_at = file.capture_settings_at.clone();
    merge::apply(&mut args, file, &mut precedence);
    merge::check_interface(&args, xdp_settings_at.as_deref(), &mut precedence)?;
    merge::check_capture(&args, &capture_settings_at, &mut precedence)?;
    Ok(Resolved { args, log_level, log_format })
}

/// The file's directory, absolute so that the paths taken from it do not
/// depend on a later change of directory.
fn base_directory(path: &Path) -> Result<PathBuf, String> {
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::path::absolute(directory).map_err(|e| format!("{}: cannot find its directory: {e}", path.display()))
}
