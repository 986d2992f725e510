//! The file's layout: one struct per section, as serde reads it. Unknown keys
//! are refused everywhere (`deny_unknown_fields`), and serde's message lists
//! the valid ones. Every key is optional: what the file leaves out comes from
//! the command line's defaults.
//!
//! Key names follow Knot's (`listen`, `udp-workers`, `tcp-max-clients`,
//! `udp-max-payload`, `identity`, `version`, `user`, `ring-size`) and NSD's
//! RRL options (`ipv4-prefix-length`, …) where they have one; the flag each
//! key stands for is named beside it, and in `scripts/responder.toml`.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::access::{AclEntry, KeyEntry, RemoteEntry};
use super::values::{Address, Bounded, LogLevel, Parsed, RingSize, Size, StallThreshold};
use crate::control::cli::limits::*;
use crate::xdp::program::XdpMode;
use crate::xdp::queues::{CpuSelection, QueueSelection};
use crate::xdp::socket::ZeroCopy;
use crate::xdp::tier0::Answers;

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub server: Server,
    /// `[[zone]]`: one table per zone, like Knot's `zone:` list. --zone
    #[serde(default, rename = "zone")]
    pub zones: Vec<Spanned<ZoneEntry>>,
    /// Spanned: settings without an interface are reported at `[xdp]`.
    #[serde(default)]
    pub xdp: Option<Spanned<Xdp>>,
    #[serde(default)]
    pub rrl: Rrl,
    #[serde(default)]
    pub control: Control,
    #[serde(default)]
    pub log: Log,
    /// `[[key]]`: TSIG keys, like Knot's `key:` list.
    #[serde(default, rename = "key")]
    pub keys: Vec<Spanned<KeyEntry>>,
    /// `[[remote]]`: peers (secondaries to notify, primaries), like Knot's.
    #[serde(default, rename = "remote")]
    pub remotes: Vec<Spanned<RemoteEntry>>,
    /// `[[acl]]`: who may transfer or notify, like Knot's `acl:` list.
    #[serde(default, rename = "acl")]
    pub acls: Vec<Spanned<AclEntry>>,
    /// Spanned: sampling without a sink is reported at the section.
    #[serde(default)]
    pub dnstap: Option<Spanned<Dnstap>>,
    #[serde(default)]
    pub pcap: Option<Spanned<Pcap>>,
    #[serde(default)]
    pub capture: Capture,
    /// `[[template]]`: settings a catalog gives its members (Knot's
    /// `template:` list, as `catalog-template` names them).
    #[serde(default, rename = "template")]
    pub templates: Vec<Spanned<super::catalog::TemplateEntry>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    /// --listen. Strings, parsed later: see `values::parse_address`.
    pub listen: Option<Vec<Spanned<String>>>,
    /// --udp-workers
    pub udp_workers: Option<usize>,
    /// --tcp-idle-timeout
    pub tcp_idle_timeout: Option<u64>,
    /// --tcp-max-connections (Knot: tcp-max-clients)
    pub tcp_max_clients: Option<usize>,
    /// --tcp-max-connections-per-client
    pub tcp_max_connections_per_client: Option<usize>,
    /// --share-port
    pub share_port: Option<bool>,
    /// --udp-busy-poll
    pub udp_busy_poll: Option<Bounded<u32, 1, 100_000>>,
    /// --edns-size (Knot: udp-max-payload)
    pub udp_max_payload: Option<Bounded<u16, EDNS_SIZE_MIN, EDNS_SIZE_MAX>>,
    /// --identity
    pub identity: Option<String>,
    /// --chaos-hostname
    pub hostname: Option<String>,
    /// --chaos-version (Knot: version)
    pub version: Option<String>,
    /// --nsid (Knot: nsid): text, or hex after `0x`.
    pub nsid: Option<Spanned<String>>,
    /// --user (Knot: user)
    pub user: Option<String>,
    /// --table. Spanned: a table and `[[zone]]`s together are reported here.
    pub table: Option<Spanned<PathBuf>>,
    /// --zone-max-size (Knot: zone-max-size): bytes, or a string like "64M".
    pub zone_max_size: Option<Size>,
    /// --include-dir, repeated: where `$INCLUDE` may read besides each zone
    /// file's own directory.
    pub include_dirs: Option<Vec<Spanned<PathBuf>>>,
    /// Where secondary zones without a `file` keep their copy, as
    /// `ZONE.zone` (Knot: zone storage).
    pub storage: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ZoneEntry {
    /// The origin; without it, the SOA owner or the file's $ORIGIN.
    pub name: Option<Spanned<String>>,
    /// The zone file; for a secondary zone, where its copy is kept
    /// (default: `server.storage`/`ZONE.zone`).
    pub file: Option<Spanned<PathBuf>>,
    /// Makes the zone a secondary: `[[remote]]` ids or addresses
    /// (`IP` or `IP@PORT`) to transfer it from, asked in order.
    pub master: Option<Spanned<Vec<Spanned<String>>>>,
    // --- catalog zones (config/catalog.rs) ---
    /// `"interpret"`: the zone is a catalog whose members are served as
    /// secondary zones (RFC 9432); `"none"`: a plain zone (Knot's names).
    pub catalog_role: Option<Spanned<String>>,
    /// `[[template]]` ids the members take their settings from: a member's
    /// `group` picks one, else the first.
    pub catalog_template: Option<Spanned<Vec<Spanned<String>>>>,
    // --- end of catalog zones ---
    /// `[[acl]]` ids: who may transfer the zone out (`action = "transfer"`).
    pub acl: Option<Vec<Spanned<String>>>,
    /// `[[remote]]` ids (or addresses) to send NOTIFY when the serial changes.
    pub notify: Option<Vec<Spanned<String>>>,
    /// Differences kept for IXFR out (Knot: journal-max-depth).
    pub journal_max_depth: Option<Spanned<u32>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Xdp {
    /// --iface
    pub interface: Option<String>,
    /// --queues
    pub queues: Option<Parsed<QueueSelection>>,
    /// --cpus
    pub cpus: Option<Parsed<CpuSelection>>,
    /// --xdp-mode
    pub mode: Option<Parsed<XdpMode>>,
    /// --zero-copy
    pub zero_copy: Option<Parsed<ZeroCopy>>,
    /// --frames
    pub frames: Option<u32>,
    /// --frame-size
    pub frame_size: Option<u32>,
    /// --ring-size
    pub ring_size: Option<u32>,
    /// --batch
    pub batch: Option<u32>,
    /// --busy-poll
    pub busy_poll: Option<u32>,
    /// --xdp-port, repeated
    pub ports: Option<Vec<u16>>,
    /// --stall-threshold, in milliseconds
    pub stall_threshold: Option<StallThreshold>,
    /// --verify-udp-checksum
    pub verify_udp_checksum: Option<bool>,
    /// --xdp-answers
    pub answers: Option<Parsed<Answers>>,
    /// --xdp-learn-interval, in seconds
    pub learn_interval: Option<Bounded<u64, 1, 3600>>,
}

impl Xdp {
    /// Whether anything besides the interface is set.
    pub fn has_settings(&self) -> bool {
        let Xdp {
            interface: _,
            queues,
            cpus,
            mode,
            zero_copy,
            frames,
            frame_size,
            ring_size,
            batch,
            busy_poll,
            ports,
            stall_threshold,
            verify_udp_checksum,
            answers,
            learn_interval,
        } = self;
        queues.is_some()
            || cpus.is_some()
            || mode.is_some()
            || zero_copy.is_some()
            || frames.is_some()
            || frame_size.is_some()
            || ring_size.is_some()
            || batch.is_some()
            || busy_poll.is_some()
            || ports.is_some()
            || stall_threshold.is_some()
            || verify_udp_checksum.is_some()
            || answers.is_some()
            || learn_interval.is_some()
    }
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rrl {
    /// --rrl-rate (Knot: rate-limit)
    pub rate_limit: Option<u32>,
    /// --rrl-slip
    pub slip: Option<u32>,
    /// --rrl-ipv4-prefix (NSD: rrl-ipv4-prefix-length)
    pub ipv4_prefix_length: Option<Bounded<u8, RRL_IPV4_PREFIX_MIN, RRL_IPV4_PREFIX_MAX>>,
    /// --rrl-ipv6-prefix (NSD: rrl-ipv6-prefix-length)
    pub ipv6_prefix_length: Option<Bounded<u8, RRL_IPV6_PREFIX_MIN, RRL_IPV6_PREFIX_MAX>>,
    /// --rrl-table-size (Knot: table-size)
    pub table_size: Option<Bounded<u32, RRL_TABLE_SIZE_MIN, RRL_TABLE_SIZE_MAX>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Control {
    /// --control-socket (Knot: control.listen)
    pub listen: Option<Spanned<PathBuf>>,
    /// --metrics
    pub metrics: Option<Address>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Log {
    /// -q / -v / -vv; RUST_LOG still overrides.
    pub level: Option<Parsed<LogLevel>>,
    /// --stats-interval
    pub stats_interval: Option<u64>,
    /// --log-format: "text" or "json" (one object a line).
    pub format: Option<Parsed<crate::control::logging::LogFormat>>,
    /// --log-queries: one line per query answered on the kernel sockets.
    pub queries: Option<bool>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dnstap {
    /// --dnstap: "unix:PATH" or a file path.
    pub sink: Option<Spanned<String>>,
    /// --dnstap-sample
    pub sample: Option<Bounded<u32, 1, { u32::MAX as i64 }>>,
    /// --dnstap-source-rate
    pub source_rate: Option<u32>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Pcap {
    /// --pcap
    pub file: Option<Spanned<PathBuf>>,
    /// --pcap-sample
    pub sample: Option<Bounded<u32, 1, { u32::MAX as i64 }>>,
    /// --pcap-source-rate
    pub source_rate: Option<u32>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capture {
    /// --capture-ring-size
    pub ring_size: Option<RingSize>,
}
