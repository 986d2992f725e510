//! What a parsed file means: every value checked, every path made relative
//! to the file's directory, zones in the `[NAME=]FILE` form --zone takes.
//! `None` means the file does not set it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::position::{located, location, Position};
use super::schema::{Document, ZoneEntry};
use super::values::{parse_address, LogLevel};
use crate::access::Access;
use crate::capture::DnstapSink;
use crate::transfer::inbound::SecondaryConfig;
use crate::xdp::program::XdpMode;
use crate::xdp::queues::{CpuSelection, QueueSelection};
use crate::xdp::socket::ZeroCopy;
use crate::zone::Name;

#[derive(Debug, Default, Clone)]
pub struct Settings {
    pub zones: Option<Vec<String>>,
    pub secondaries: Option<Vec<SecondaryConfig>>,
    /// Zones with `acl` or `notify`: sent out.
    pub outbound: Option<Vec<crate::transfer::outbound::OutboundConfig>>,
    pub table: Option<PathBuf>,
    pub listen: Option<Vec<SocketAddr>>,
    pub udp_workers: Option<usize>,
    pub tcp_idle_timeout: Option<u64>,
    pub tcp_max_connections: Option<usize>,
    pub tcp_max_connections_per_client: Option<usize>,
    pub share_port: Option<bool>,
    pub udp_busy_poll: Option<u32>,
    pub edns_size: Option<u16>,
    pub identity: Option<String>,
    pub chaos_hostname: Option<String>,
    pub chaos_version: Option<String>,
    pub nsid: Option<String>,
    pub user: Option<String>,
    pub zone_max_size: Option<u64>,
    pub include_dirs: Option<Vec<PathBuf>>,

    pub iface: Option<String>,
    pub queues: Option<QueueSelection>,
    pub cpus: Option<CpuSelection>,
    pub xdp_mode: Option<XdpMode>,
    pub zero_copy: Option<ZeroCopy>,
    pub frames: Option<u32>,
    pub frame_size: Option<u32>,
    pub ring_size: Option<u32>,
    pub batch: Option<u32>,
    pub busy_poll: Option<u32>,
    pub xdp_ports: Option<Vec<u16>>,
    pub stall_threshold: Option<u64>,
    pub verify_udp_checksum: Option<bool>,
    pub xdp_answers: Option<crate::xdp::tier0::Answers>,
    pub xdp_learn_interval: Option<u64>,
    /// `FILE:LINE:COL` of `[xdp]` when it has settings besides the
    /// interface: they are an error unless an interface comes from somewhere.
    pub xdp_settings_at: Option<String>,

    pub rrl_rate: Option<u32>,
    pub rrl_slip: Option<u32>,
    pub rrl_ipv4_prefix: Option<u8>,
    pub rrl_ipv6_prefix: Option<u8>,
    pub rrl_table_size: Option<u32>,

    pub control_socket: Option<PathBuf>,
    pub metrics: Option<SocketAddr>,
    pub log_level: Option<LogLevel>,
    pub stats_interval: Option<u64>,
    pub log_format: Option<crate::control::logging::LogFormat>,
    pub log_queries: Option<bool>,

    /// `[[key]]`, `[[remote]]`, `[[acl]]`; `None` when the file has none.
    pub access: Option<Access>,

    pub dnstap: Option<DnstapSink>,
    pub dnstap_sample: Option<u32>,
    pub dnstap_source_rate: Option<u32>,
    pub pcap: Option<PathBuf>,
    pub pcap_sample: Option<u32>,
    pub pcap_source_rate: Option<u32>,
    pub capture_ring_size: Option<u64>,
    /// `FILE:LINE:COL` of a `[dnstap]` and a `[pcap]` that sample without
    /// a sink: an error unless the sink comes from the command line.
    pub capture_settings_at: [Option<String>; 2],
}

/// Where the text came from: the name errors are reported under, and the
/// directory relative paths in it are taken from.
pub struct Origin<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub base: &'a Path,
}

impl Origin<'_> {
    pub(super) fn error<T>(&self, span: std::ops::Range<usize>, message: impl AsRef<str>) -> Result<T, String> {
        Err(located(self.file, self.text, Some(span), message.as_ref()))
    }

    /// A path from the file, relative to the file's directory unless absolute.
    pub(super) fn path(&self, path: &Spanned<PathBuf>, key: &str) -> Result<PathBuf, String> {
        if path.get_ref().as_os_str().is_empty() {
            return self.error(path.span(), format!("{key} is an empty path"));
        }
        Ok(self.base.join(path.get_ref()))
    }
}

impl Settings {
    pub fn from_document(doc: Document, origin: &Origin) -> Result<Settings, String> {
        let Document { server, zones, xdp, rrl, control, log, keys, remotes, acls, dnstap, pcap, capture, templates } =
            doc;
        let access = super::access::read(&keys, &remotes, &acls, origin)?;
        let mut capture_settings_at = [None, None];
        let (dnstap_sink, dnstap) = match dnstap {
            Some(section) => {
                let span = section.span();
                let d = section.into_inner();
                let sink = match &d.sink {
                    Some(text) => Some(
                        DnstapSink::parse(text.get_ref())
                            .map(|sink| sink.relative_to(origin.base))
                            .or_else(|e| origin.error(text.span(), e))?,
                    ),
                    None => {
                        if d.sample.is_some() || d.source_rate.is_some() {
                            capture_settings_at[0] = Some(location(origin.file, origin.text, span.start));
                        }
                        None
                    }
                };
                (sink, d)
            }
            None => (None, Default::default()),
        };
        let (pcap_file, pcap) = match pcap {
            Some(section) => {
                let span = section.span();
                let p = section.into_inner();
                let file = match &p.file {
                    Some(file) => Some(origin.path(file, "pcap file")?),
                    None => {
                        if p.sample.is_some() || p.source_rate.is_some() {
                            capture_settings_at[1] = Some(location(origin.file, origin.text, span.start));
                        }
                        None
                    }
                };
                (file, p)
            }
            None => (None, Default::default()),
        };
        let table = match &server.table {
            Some(table) if !zones.is_empty() => {
                return origin.error(
                    table.span(),
                    "`table` conflicts with [[zone]]: serve either a compiled table or zone files, not both",
                )
            }
            Some(table) => Some(origin.path(table, "table")?),
            None => None,
        };
        let storage = match &server.storage {
            Some(dir) => Some(origin.path(dir, "storage")?),
            None => None,
        };
        let templates = super::catalog::templates(&templates, access.as_ref(), storage.as_deref(), origin)?;
        let secondaries =
            super::secondary::secondaries(&zones, access.as_ref(), storage.as_deref(), &templates, origin)?;
        let secondaries = if secondaries.is_empty() { None } else { Some(secondaries) };
        let outbound = super::outbound::outbound(&zones, access.as_ref(), origin)?;
        let outbound = if outbound.is_empty() { None } else { Some(outbound) };
        let primaries_only: Vec<_> = zones.into_iter().filter(|z| z.get_ref().master.is_none()).collect();
        let zones = if primaries_only.is_empty() { None } else { Some(zone_arguments(&primaries_only, origin)?) };
        let include_dirs = match &server.include_dirs {
            Some(dirs) => Some(dirs.iter().map(|d| origin.path(d, "include-dirs entry")).collect::<Result<_, _>>()?),
            None => None,
        };
        let control_socket = match control.listen {
            Some(path) => Some(origin.path(&path, "control socket")?),
            None => None,
        };
        let (xdp_span, xdp) = match xdp {
            Some(x) => (Some(x.span()), x.into_inner()),
            None => (None, Default::default()),
        };
        let xdp_settings_at = match xdp_span {
            Some(span) if xdp.interface.is_none() && xdp.has_settings() => {
                Some(location(origin.file, origin.text, span.start))
            }
            _ => None,
        };
        let nsid = match server.nsid {
            Some(text) => match crate::engine::nsid::parse(text.get_ref()) {
                Ok(_) => Some(text.into_inner()),
                Err(e) => return origin.error(text.span(), e),
            },
            None => None,
        };
        let listen = match server.listen {
            Some(list) => Some(
                list.iter()
                    .map(|a| parse_address(a.get_ref()).or_else(|e| origin.error(a.span(), e)))
                    .collect::<Result<_, _>>()?,
            ),
            None => None,
        };
        Ok(Settings {
            zones,
            secondaries,
            outbound,
            table,
            listen,
            udp_workers: server.udp_workers,
            tcp_idle_timeout: server.tcp_idle_timeout,
            tcp_max_connections: server.tcp_max_clients,
            tcp_max_connections_per_client: server.tcp_max_connections_per_client,
            share_port: server.share_port,
            udp_busy_poll: server.udp_busy_poll.map(|v| v.0),
            edns_size: server.udp_max_payload.map(|v| v.0),
            identity: server.identity,
            chaos_hostname: server.hostname,
            chaos_version: server.version,
            nsid,
            user: server.user,
            zone_max_size: server.zone_max_size.map(|v| v.0),
            include_dirs,
            iface: xdp.interface,
            queues: xdp.queues.map(|v| v.0),
            cpus: xdp.cpus.map(|v| v.0),
            xdp_mode: xdp.mode.map(|v| v.0),
            zero_copy: xdp.zero_copy.map(|v| v.0),
            frames: xdp.frames,
            frame_size: xdp.frame_size,
            ring_size: xdp.ring_size,
            batch: xdp.batch,
            busy_poll: xdp.busy_poll,
            xdp_ports: xdp.ports,
            stall_threshold: xdp.stall_threshold.map(|v| v.0),
            verify_udp_checksum: xdp.verify_udp_checksum,
            xdp_answers: xdp.answers.map(|v| v.0),
            xdp_learn_interval: xdp.learn_interval.map(|v| v.0),
            xdp_settings_at,
            rrl_rate: rrl.rate_limit,
            rrl_slip: rrl.slip,
            rrl_ipv4_prefix: rrl.ipv4_prefix_length.map(|v| v.0),
            rrl_ipv6_prefix: rrl.ipv6_prefix_length.map(|v| v.0),
            rrl_table_size: rrl.table_size.map(|v| v.0),
            control_socket,
            metrics: control.metrics.map(|a| a.0),
            log_level: log.level.map(|v| v.0),
            stats_interval: log.stats_interval,
            log_format: log.format.map(|v| v.0),
            log_queries: log.queries,
            access,
            dnstap: dnstap_sink,
            dnstap_sample: dnstap.sample.map(|v| v.0),
            dnstap_source_rate: dnstap.source_rate,
            pcap: pcap_file,
            pcap_sample: pcap.sample.map(|v| v.0),
            pcap_source_rate: pcap.source_rate,
            capture_ring_size: capture.ring_size.map(|v| v.0),
            capture_settings_at,
        })
    }
}

/// `[[zone]]` tables as --zone arguments. Names are checked here, where the
/// error can point at them; the files are read later, by the zone loader.
fn zone_arguments(zones: &[Spanned<ZoneEntry>], origin: &Origin) -> Result<Vec<String>, String> {
    let mut seen: Vec<(Name, usize)> = Vec::new();
    let mut arguments = Vec::with_capacity(zones.len());
    for zone in zones {
        let Some(file) = &zone.get_ref().file else {
            return origin.error(zone.span(), "a [[zone]] needs `file` (or `master`, for a secondary zone)");
        };
        let file = origin.path(file, "file")?;
        let Some(file) = file.to_str() else {
            return origin.error(zone.span(), "the zone file's path is not UTF-8");
        };
        let argument = match &zone.get_ref().name {
            Some(name) => {
                let origin_name = zone_name(name, origin)?;
                if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == origin_name) {
                    return origin.error(name.span(), format!("zone {origin_name} is already defined at line {first}"));
                }
                seen.push((origin_name, Position::of(origin.text, name.span().start).line));
                format!("{}={file}", name.get_ref())
            }
            // A path with no name must not read as NAME=FILE: joined to a
            // directory it always contains a '/', which parse_arg takes as
            // part of a file name.
            None => file.to_string(),
        };
        arguments.push(argument);
    }
    Ok(arguments)
}

/// A zone name as --zone's NAME: relative names are taken as absolute.
pub(super) fn zone_name(name: &Spanned<String>, origin: &Origin) -> Result<Name, String> {
    let text = name.get_ref();
    if text.is_empty() || text.contains(['=', '/']) {
        return origin
            .error(name.span(), format!("bad zone name {text:?}: it must be a domain name without '=' or '/'"));
    }
    let absolute = if text.ends_with('.') { text.clone() } else { format!("{text}.") };
    match Name::parse(&absolute, None) {
        Ok(Some(parsed)) => Ok(parsed),
        Ok(None) => origin.error(name.span(), format!("bad zone name {text:?}")),
        Err(e) => origin.error(name.span(), format!("bad zone name {text:?}: {e}")),
    }
}
