//! Precedence: a flag given on the command line wins over the file, and the
//! file wins over the flag's default. "Given" is clap's `ValueSource`, not a
//! comparison with the default, so `--edns-size 1232` overrides a file's
//! `udp-max-payload` even though 1232 is the default.

use clap::parser::ValueSource;
use clap::ArgMatches;

use super::settings::Settings;
use crate::control::cli::ServeArgs;

/// Looks up each flag's source in the `serve` matches, and remembers which
/// flags it was asked about so a test can prove none is forgotten.
pub struct Precedence<'a> {
    matches: &'a ArgMatches,
    pub consulted: Vec<&'static str>,
}

impl<'a> Precedence<'a> {
    pub fn new(matches: &'a ArgMatches) -> Precedence<'a> {
        Precedence { matches, consulted: Vec::new() }
    }

    /// Whether flag `id` (clap's argument id: the ServeArgs field name) was
    /// given on the command line.
    pub fn on_command_line(&mut self, id: &'static str) -> bool {
        self.consulted.push(id);
        self.matches.value_source(id) == Some(ValueSource::CommandLine)
    }

    /// The file's value replaces `target` unless the flag was given. Lists
    /// are replaced whole: `--listen` on the command line drops the file's.
    fn take<T>(&mut self, id: &'static str, target: &mut T, from_file: Option<T>) {
        if !self.on_command_line(id) {
            if let Some(value) = from_file {
                *target = value;
            }
        }
    }

    /// [`Self::take`] for a flag without a default.
    fn take_option<T>(&mut self, id: &'static str, target: &mut Option<T>, from_file: Option<T>) {
        self.take(id, target, from_file.map(Some));
    }
}

/// Applies the file's settings to `args` under the precedence above.
pub fn apply(args: &mut ServeArgs, file: Settings, precedence: &mut Precedence) {
    // Zones and a table are one choice, where the data comes from: either
    // on the command line replaces whatever the file chose.
    let zones_given = precedence.on_command_line("zones");
    let table_given = precedence.on_command_line("table");
    if !zones_given && !table_given {
        args.zones_from_config = file.table.is_none();
        if let Some(zones) = file.zones {
            args.zones = zones;
        }
        if let Some(secondaries) = file.secondaries {
            args.secondaries = secondaries;
        }
        if let Some(outbound) = file.outbound {
            args.outbound = outbound;
        }
        if let Some(table) = file.table {
            args.table = Some(table);
        }
    }
    let p = precedence;
    p.take("listen", &mut args.listen, file.listen);
    p.take_option("udp_workers", &mut args.udp_workers, file.udp_workers);
    p.take("tcp_idle_timeout", &mut args.tcp_idle_timeout, file.tcp_idle_timeout);
    p.take("tcp_max_connections", &mut args.tcp_max_connections, file.tcp_max_connections);
    p.take(
        "tcp_max_connections_per_client",
        &mut args.tcp_max_connections_per_client,
        file.tcp_max_connections_per_client,
    );
    p.take("share_port", &mut args.share_port, file.share_port);
    p.take_option("udp_busy_poll", &mut args.udp_busy_poll, file.udp_busy_poll);
    p.take("edns_size", &mut args.edns_size, file.edns_size);
    p.take_option("identity", &mut args.identity, file.identity);
    p.take_option("chaos_hostname", &mut args.chaos_hostname, file.chaos_hostname);
    p.take_option("chaos_version", &mut args.chaos_version, file.chaos_version);
    p.take_option("nsid", &mut args.nsid, file.nsid);
    p.take("zone_max_size", &mut args.zone_read.zone_max_size, file.zone_max_size);
    p.take("include_dirs", &mut args.zone_read.include_dirs, file.include_dirs);

    let x = &mut args.xdp;
    p.take_option("iface", &mut x.iface, file.iface);
    p.take("queues", &mut x.queues, file.queues);
    p.take("cpus", &mut x.cpus, file.cpus);
    p.take("xdp_mode", &mut x.xdp_mode, file.xdp_mode);
    p.take("zero_copy", &mut x.zero_copy, file.zero_copy);
    p.take("frames", &mut x.frames, file.frames);
    p.take("frame_size", &mut x.frame_size, file.frame_size);
    p.take("ring_size", &mut x.ring_size, file.ring_size);
    p.take("batch", &mut x.batch, file.batch);
    p.take_option("busy_poll", &mut x.busy_poll, file.busy_poll);
    p.take("verify_udp_checksum", &mut x.verify_udp_checksum, file.verify_udp_checksum);
    p.take("ports", &mut x.ports, file.xdp_ports);
    p.take("stall_threshold", &mut x.stall_threshold, file.stall_threshold);
    p.take("xdp_answers", &mut x.xdp_answers, file.xdp_answers);
    p.take("xdp_learn_interval", &mut x.xdp_learn_interval, file.xdp_learn_interval);

    let r = &mut args.rrl;
    p.take("rrl_rate", &mut r.rrl_rate, file.rrl_rate);
    p.take("rrl_slip", &mut r.rrl_slip, file.rrl_slip);
    p.take("rrl_ipv4_prefix", &mut r.rrl_ipv4_prefix, file.rrl_ipv4_prefix);
    p.take("rrl_ipv6_prefix", &mut r.rrl_ipv6_prefix, file.rrl_ipv6_prefix);
    p.take("rrl_table_size", &mut r.rrl_table_size, file.rrl_table_size);

    let o = &mut args.ops;
    p.take_option("control_socket", &mut o.control_socket, file.control_socket);
    p.take_option("metrics", &mut o.metrics, file.metrics);
    p.take("stats_interval", &mut o.stats_interval, file.stats_interval);
    p.take("log_queries", &mut o.log_queries, file.log_queries);
    p.take_option("user", &mut o.user, file.user);

    // Not flags: only the file has keys, remotes and ACLs.
    if let Some(access) = file.access {
        args.access = access;
    }
    let c = &mut args.capture;
    p.take_option("dnstap", &mut c.dnstap, file.dnstap);
    p.take("dnstap_sample", &mut c.dnstap_sample, file.dnstap_sample);
    p.take("dnstap_source_rate", &mut c.dnstap_source_rate, file.dnstap_source_rate);
    p.take_option("pcap", &mut c.pcap, file.pcap);
    p.take("pcap_sample", &mut c.pcap_sample, file.pcap_sample);
    p.take("pcap_source_rate", &mut c.pcap_source_rate, file.pcap_source_rate);
    p.take("capture_ring_size", &mut c.capture_ring_size, file.capture_ring_size);
}

/// Sampling settings with no output to sample for are a mistake (a
/// forgotten --dnstap or `sink`), refused like XDP settings without an
/// interface.
pub fn check_capture(
    args: &ServeArgs,
    file_settings_at: &[Option<String>; 2],
    precedence: &mut Precedence,
) -> Result<(), String> {
    let c = &args.capture;
    let outputs = [
        ("--dnstap unix:PATH|FILE", "`sink`", c.dnstap.is_some(), ["dnstap_sample", "dnstap_source_rate"]),
        ("--pcap FILE", "`file`", c.pcap.is_some(), ["pcap_sample", "pcap_source_rate"]),
    ];
    for ((flag, key, on, ids), at) in outputs.into_iter().zip(file_settings_at) {
        let given = ids.into_iter().find(|id| precedence.on_command_line(id));
        match (on, given, at) {
            (true, _, _) => {}
            (false, Some(id), _) => return Err(format!("--{} needs an output: give {flag}", id.replace('_', "-"))),
            (false, None, Some(at)) => {
                return Err(format!("{at}: sampling settings need an output: set {key} here or give {flag}"))
            }
            (false, None, None) => {}
        }
    }
    Ok(())
}

/// The flags that only mean something with an interface.
pub const XDP_SETTINGS: [(&str, &str); 14] = [
    ("queues", "--queues"),
    ("cpus", "--cpus"),
    ("xdp_mode", "--xdp-mode"),
    ("zero_copy", "--zero-copy"),
    ("frames", "--frames"),
    ("frame_size", "--frame-size"),
    ("ring_size", "--ring-size"),
    ("batch", "--batch"),
    ("busy_poll", "--busy-poll"),
    ("ports", "--xdp-port"),
    ("stall_threshold", "--stall-threshold"),
    ("verify_udp_checksum", "--verify-udp-checksum"),
    ("xdp_answers", "--xdp-answers"),
    ("xdp_learn_interval", "--xdp-learn-interval"),
];

/// XDP settings with no interface from either source are a mistake (a
/// forgotten --iface), refused as clap's `requires` would.
pub fn check_interface(
    args: &ServeArgs,
    file_settings_at: Option<&str>,
    precedence: &mut Precedence,
) -> Result<(), String> {
    let given_flag = XDP_SETTINGS.iter().find(|(id, _)| precedence.on_command_line(id));
    if args.xdp.iface.is_some() {
        return Ok(());
    }
    if let Some((_, flag)) = given_flag {
        return Err(format!("{flag} needs an interface: give --iface IFACE (or `interface` in the config's [xdp])"));
    }
    match file_settings_at {
        Some(at) => Err(format!("{at}: [xdp] settings need an interface: set `interface` here or give --iface")),
        None => Ok(()),
    }
}
