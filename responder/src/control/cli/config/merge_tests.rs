//! Precedence (flags over the file over defaults), the check that XDP
//! settings have an interface, and the example configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::*;
use crate::capture::DnstapSink;
use crate::control::cli::ServeArgs;
use crate::control::{Cli, Command};
use crate::xdp::program::XdpMode;
use crate::xdp::queues::{CpuSelection, QueueSelection};
use crate::xdp::socket::ZeroCopy;

/// `responder serve FLAGS`: the parsed arguments and the `serve` matches.
fn command_line(flags: &[&str]) -> (ServeArgs, ArgMatches) {
    let argv = ["responder", "serve"].iter().chain(flags);
    let matches = Cli::command().try_get_matches_from(argv).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    let Command::Serve(args) = Cli::from_arg_matches(&matches).unwrap().command else { panic!("not serve") };
    (args, matches.subcommand_matches("serve").unwrap().clone())
}

fn settings(text: &str) -> Settings {
    parse_str(text, Path::new("r.toml"), Path::new("/etc/responder")).unwrap()
}

fn resolved(flags: &[&str], text: &str) -> Result<Resolved, String> {
    let (args, matches) = command_line(flags);
    merge(args, settings(text), &matches)
}

/// Every key set, none to its default.
const EVERYTHING: &str = r#"
[server]
listen = ["198.18.0.1:53"]
udp-workers = 3
tcp-idle-timeout = 7
tcp-max-clients = 99
tcp-max-connections-per-client = 5
share-port = true
udp-max-payload = 4096
identity = "id"
hostname = "host"
version = "ver"
user = "nobody"
zone-max-size = "64M"
include-dirs = ["shared", "/srv/zones"]
[[zone]]
name = "example.com"
file = "example.com.zone"
[xdp]
interface = "eth9"
queues = "0-2"
cpus = "4,5"
mode = "generic"
zero-copy = "off"
frames = 8192
frame-size = 4096
ring-size = 1024
batch = 32
busy-poll = 50
ports = [5300]
stall-threshold = 300
answers = "apex+top=32"
learn-interval = 7
[rrl]
rate-limit = 20
slip = 3
ipv4-prefix-length = 20
ipv6-prefix-length = 48
table-size = 1000
[control]
listen = "ctl.sock"
metrics = "127.0.0.1:9153"
[log]
level = "warn"
stats-interval = 5
format = "json"
queries = true
"#;

#[test]
fn the_file_sets_what_the_command_line_does_not() {
    let r = resolved(&[], EVERYTHING).unwrap();
    let a = &r.args;
    assert_eq!(a.listen, ["198.18.0.1:53".parse().unwrap()]);
    assert_eq!((a.udp_workers, a.tcp_idle_timeout, a.tcp_max_connections, a.edns_size), (Some(3), 7, 99, 4096));
    assert_eq!(a.tcp_max_connections_per_client, 5);
    assert_eq!(
        (a.identity.as_deref(), a.chaos_hostname.as_deref(), a.chaos_version.as_deref()),
        (Some("id"), Some("host"), Some("ver"))
    );
    assert_eq!(a.zones, ["example.com=/etc/responder/example.com.zone"]);
    assert_eq!(a.table, None);
    assert_eq!(a.zone_read.zone_max_size, 64 << 20);
    let dirs = [PathBuf::from("/etc/responder/shared"), PathBuf::from("/srv/zones")];
    assert_eq!(a.zone_read.include_dirs, dirs, "relative to the file's directory");
    let x = &a.xdp;
    assert_eq!(x.iface.as_deref(), Some("eth9"));
    assert_eq!(
        (x.queues.clone(), x.cpus.clone()),
        (QueueSelection::List(vec![0, 1, 2]), CpuSelection::List(vec![4, 5]))
    );
    assert_eq!((x.xdp_mode, x.zero_copy), (XdpMode::Generic, ZeroCopy::Off));
    assert_eq!((x.frames, x.frame_size, x.ring_size, x.batch, x.busy_poll), (8192, 4096, 1024, 32, Some(50)));
    assert_eq!(x.ports, [5300]);
    assert_eq!((x.stall_threshold, a.share_port), (300, true));
    assert_eq!((x.xdp_answers.to_string(), x.xdp_learn_interval), ("apex+top=32".to_string(), 7));
    let rrl = &a.rrl;
    assert_eq!(
        (rrl.rrl_rate, rrl.rrl_slip, rrl.rrl_ipv4_prefix, rrl.rrl_ipv6_prefix, rrl.rrl_table_size),
        (20, 3, 20, 48, 1000)
    );
    let o = &a.ops;
    assert_eq!(o.control_socket, Some(PathBuf::from("/etc/responder/ctl.sock")));
    assert_eq!(o.metrics, Some("127.0.0.1:9153".parse().unwrap()));
    assert_eq!((o.stats_interval, o.user.as_deref()), (5, Some("nobody")));
    assert_eq!(r.log_level, Some(LogLevel::Warn));
    assert_eq!((r.log_format, o.log_queries), (Some(crate::control::logging::LogFormat::Json), true));
}

#[test]
fn flags_on_the_command_line_win_even_at_their_default_value() {
    // Each flag set to its default (where it has one), or to a value the
    // file does not have: all must win over EVERYTHING.
    let flags = [
        "--listen=127.0.0.1:5353",
        "--listen=[::1]:5353",
        "--udp-workers=1",
        "--tcp-idle-timeout=10",
        "--tcp-max-connections=1024",
        "--tcp-max-connections-per-client=32",
        "--edns-size=1232",
        "--identity=i2",
        "--chaos-hostname=h2",
        "--chaos-version=v2",
        "--zone=a.zone",
        "--zone=b.zone",
        "--iface=lo",
        "--queues=all",
        "--cpus=auto",
        "--xdp-mode=auto",
        "--zero-copy=auto",
        "--frames=4096",
        "--frame-size=2048",
        "--ring-size=2048",
        "--batch=64",
        "--busy-poll=10",
        "--xdp-port=53",
        "--stall-threshold=200",
        "--rrl-rate=0",
        "--rrl-slip=2",
        "--rrl-ipv4-prefix=24",
        "--rrl-ipv6-prefix=56",
        "--rrl-table-size=65536",
        "--control-socket=/run/c.sock",
        "--metrics=[::1]:9100",
        "--stats-interval=60",
        "--user=daemon",
        "--zone-max-size=4G",
        "--include-dir=/opt/z",
    ];
    let r = resolved(&flags, EVERYTHING).unwrap();
    let a = &r.args;
    assert_eq!(a.listen, ["127.0.0.1:5353".parse().unwrap(), "[::1]:5353".parse().unwrap()]);
    assert_eq!((a.udp_workers, a.tcp_idle_timeout, a.tcp_max_connections, a.edns_size), (Some(1), 10, 1024, 1232));
    assert_eq!(a.tcp_max_connections_per_client, 32);
    assert_eq!(
        (a.identity.as_deref(), a.chaos_hostname.as_deref(), a.chaos_version.as_deref()),
        (Some("i2"), Some("h2"), Some("v2"))
    );
    assert_eq!(a.zones, ["a.zone", "b.zone"], "--zone replaces the file's list, relative to the working directory");
    assert_eq!(
        a.zone_read.limits(),
        crate::zone::ReadLimits { include_dirs: vec!["/opt/z".into()], ..Default::default() }
    );
    let x = &a.xdp;
    assert_eq!(x.iface.as_deref(), Some("lo"));
    assert_eq!((x.queues.clone(), x.cpus.clone()), (QueueSelection::All, CpuSelection::Auto));
    assert_eq!((x.xdp_mode, x.zero_copy), (XdpMode::Auto, ZeroCopy::Auto));
    assert_eq!((x.frames, x.frame_size, x.ring_size, x.batch, x.busy_poll), (4096, 2048, 2048, 64, Some(10)));
    assert_eq!(x.ports, [53]);
    assert_eq!(x.stall_threshold, 200);
    let rrl = &a.rrl;
    assert_eq!(
        (rrl.rrl_rate, rrl.rrl_slip, rrl.rrl_ipv4_prefix, rrl.rrl_ipv6_prefix, rrl.rrl_table_size),
        (0, 2, 24, 56, 65536)
    );
    let o = &a.ops;
    assert_eq!(o.control_socket, Some(PathBuf::from("/run/c.sock")));
    assert_eq!(o.metrics, Some("[::1]:9100".parse().unwrap()));
    assert_eq!((o.stats_interval, o.user.as_deref()), (60, Some("daemon")));
}

#[test]
fn every_serve_flag_is_merged() {
    // A flag added to ServeArgs without a config key would be silently
    // ignored in the file: this fails until merge::apply consults it.
    let (mut args, matches) = command_line(&[]);
    let mut precedence = merge::Precedence::new(&matches);
    merge::apply(&mut args, Settings::default(), &mut precedence);
    let consulted: BTreeSet<&str> = precedence.consulted.iter().copied().collect();
    let command = Cli::command();
    let serve = command.find_subcommand("serve").unwrap();
    let flags: BTreeSet<&str> = serve
        .get_arguments()
        .map(|a| a.get_id().as_str())
        .filter(|id| !["config", "help", "verbose", "quiet"].contains(id))
        .collect();
    let missing: Vec<_> = flags.difference(&consulted).collect();
    assert!(missing.is_empty(), "serve flags with no config key: {missing:?}");
    let unknown: Vec<_> = consulted.difference(&flags).collect();
    assert!(unknown.is_empty(), "merge consults flags serve does not have: {unknown:?}");
}

#[test]
fn an_empty_file_leaves_the_defaults() {
    let (plain, _) = command_line(&["--zone", "a.zone"]);
    let r = resolved(&["--zone", "a.zone"], "").unwrap();
    assert_eq!(format!("{:?}", r.args), format!("{plain:?}"));
    assert_eq!(r.log_level, None);
}

#[test]
fn zones_and_table_are_one_choice() {
    let zones = "[[zone]]\nfile = \"f.zone\"\n";
    let table = "[server]\ntable = \"t.tbl\"\n";
    let r = resolved(&[], zones).unwrap().args;
    assert_eq!((r.zones, r.table), (vec!["/etc/responder/f.zone".to_string()], None));
    let r = resolved(&[], table).unwrap().args;
    assert_eq!((r.zones.len(), r.table), (0, Some(PathBuf::from("/etc/responder/t.tbl"))));
    // Either one given as a flag replaces the file's choice.
    let r = resolved(&["--table", "cli.tbl"], zones).unwrap().args;
    assert_eq!((r.zones.len(), r.table), (0, Some(PathBuf::from("cli.tbl"))));
    let r = resolved(&["--zone", "cli.zone"], table).unwrap().args;
    assert_eq!((r.zones, r.table), (vec!["cli.zone".to_string()], None));
}

#[test]
fn lists_on_the_command_line_replace_the_files() {
    let text = "[server]\nlisten = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n[xdp]\ninterface = \"e\"\nports = [1, 2]\n";
    let r = resolved(&["--listen", "127.0.0.1:3", "--xdp-port", "3"], text).unwrap().args;
    assert_eq!((r.listen, r.xdp.ports), (vec!["127.0.0.1:3".parse().unwrap()], vec![3]));
    let r = resolved(&[], text).unwrap().args;
    assert_eq!((r.listen.len(), r.xdp.ports), (2, vec![1, 2]));
    // An empty list in the file is a choice too: no kernel sockets.
    let r = resolved(&[], "[server]\nlisten = []\n").unwrap().args;
    assert!(r.listen.is_empty());
}

#[test]
fn xdp_settings_need_an_interface_from_somewhere() {
    let e = resolved(&["--queues", "0"], "").unwrap_err();
    assert!(e.starts_with("--queues needs an interface"), "{e}");
    let e = resolved(&["--xdp-port", "53"], "").unwrap_err();
    assert!(e.starts_with("--xdp-port needs an interface"), "{e}");
    let e = resolved(&[], "[log]\nlevel = \"info\"\n\n[xdp]\nframes = 1\n").unwrap_err();
    assert_eq!(e, "r.toml:4:1: [xdp] settings need an interface: set `interface` here or give --iface");
    // The interface from the other source is enough.
    assert!(resolved(&["--iface", "eth0"], "[xdp]\nframes = 1\n").is_ok());
    assert!(resolved(&["--queues", "0"], "[xdp]\ninterface = \"eth0\"\n").is_ok());
    // Defaults alone, or an [xdp] with only an interface, need nothing.
    assert!(resolved(&[], "[xdp]\n").is_ok());
    assert!(resolved(&[], "").is_ok());
}

#[test]
fn resolve_reads_the_config_flag() {
    let (args, matches) = command_line(&["--config", "/nonexistent/responder-test.toml"]);
    let e = resolve(args, &matches).unwrap_err();
    assert!(e.starts_with("/nonexistent/responder-test.toml: cannot read"), "{e}");
    let (args, matches) = command_line(&["--queues", "1"]);
    assert!(resolve(args, &matches).is_err(), "checked without a file too");
}

// --- the example configuration ---

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/responder.toml")
}

fn example() -> String {
    std::fs::read_to_string(example_path()).unwrap()
}

#[test]
fn the_example_configuration_serves_the_example_zone_on_loopback() {
    let (args, matches) = command_line(&["--config", example_path().to_str().unwrap()]);
    let r = resolve(args, &matches).unwrap();
    let a = &r.args;
    assert_eq!(a.listen, ["127.0.0.1:5353".parse().unwrap(), "[::1]:5353".parse().unwrap()]);
    assert_eq!(a.zones.len(), 1);
    let (name, file) = a.zones[0].split_once('=').unwrap();
    assert_eq!(name, "example.com");
    let file = Path::new(file);
    assert!(file.is_absolute() && file.ends_with("scripts/../zones/example.com.zone"), "{file:?}");
    assert!(file.is_file(), "{file:?} does not exist");
    assert_eq!((a.udp_workers, a.tcp_idle_timeout, a.tcp_max_connections, a.edns_size), (Some(2), 10, 1024, 1232));
    assert_eq!(a.tcp_max_connections_per_client, 32);
    assert_eq!(a.identity.as_deref(), Some("ns1.example.com"));
    assert_eq!(a.xdp.iface, None, "the example serves on kernel sockets only");
    assert_eq!((a.rrl.rrl_rate, a.rrl.rrl_slip), (0, 2));
    assert_eq!((a.ops.control_socket.as_ref(), a.ops.user.as_ref(), a.ops.metrics), (None, None, None));
    assert_eq!((r.log_level, a.ops.stats_interval), (Some(LogLevel::Info), 60));
}

/// The example with every left-out setting (`#key = …`, `#[section]`) put in.
fn example_with_everything(except: &[&str]) -> String {
    example()
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest)
                if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[')
                    && !except.iter().any(|key| rest.starts_with(key)) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_left_out_setting_in_the_example_is_valid() {
    let base = Path::new("/etc/responder");
    // `table` cannot go with [[zone]], as its comment says.
    let e = parse_str(&example_with_everything(&[]), Path::new("x.toml"), base).unwrap_err();
    assert!(e.contains("`table` conflicts with [[zone]]"), "{e}");
    let s = parse_str(&example_with_everything(&["table"]), Path::new("x.toml"), base).unwrap();
    assert_eq!(s.iface.as_deref(), Some("eth1"));
    assert_eq!((s.queues, s.cpus), (Some(QueueSelection::All), Some(CpuSelection::Auto)));
    assert_eq!((s.busy_poll, s.xdp_ports), (Some(50), Some(vec![53])));
    assert_eq!(s.control_socket, Some(PathBuf::from("/run/responder/control.sock")));
    assert_eq!(s.control_socket.as_deref(), Some(Path::new(crate::control::cli::DEFAULT_CONTROL_SOCKET)));
    assert_eq!((s.user.as_deref(), s.chaos_version.as_deref()), (Some("responder"), Some("responder")));
    assert!(s.metrics.is_some());
    assert_eq!(s.zone_max_size, Some(256 << 20));
    assert_eq!(s.include_dirs, Some(vec![PathBuf::from("/etc/responder/shared")]));
}

#[test]
fn the_example_names_every_flag() {
    // The example is the key reference: each key's comment names its flag.
    let text = example();
    let command = Cli::command();
    let serve = command.find_subcommand("serve").unwrap();
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["config", "help", "verbose", "quiet"].contains(&long) {
            continue;
        }
        assert!(text.contains(&format!("--{long}")), "scripts/responder.toml does not mention --{long}");
    }
}

#[test]
fn capture_sections_set_the_capture_flags_under_the_command_line() {
    let text = "[dnstap]\nsink = \"unix:dnstap.sock\"\nsample = 100\nsource-rate = 5\n\
                [pcap]\nfile = \"q.pcap\"\nsample = 1000\n[capture]\nring-size = \"64K\"\n";
    let c = resolved(&[], text).unwrap().args.capture;
    assert_eq!(c.dnstap, Some(DnstapSink::Unix("/etc/responder/dnstap.sock".into())), "relative to the file");
    assert_eq!((c.dnstap_sample, c.dnstap_source_rate), (100, 5));
    assert_eq!((c.pcap, c.pcap_sample, c.capture_ring_size), (Some("/etc/responder/q.pcap".into()), 1000, 64 << 10));
    let c = resolved(&["--dnstap-sample", "7", "--dnstap", "/tmp/d.fstrm"], text).unwrap().args.capture;
    assert_eq!((c.dnstap, c.dnstap_sample), (Some(DnstapSink::File("/tmp/d.fstrm".into())), 7));
}

#[test]
fn sampling_without_an_output_is_refused_naming_what_is_missing() {
    let e = resolved(&["--dnstap-sample", "10"], "").unwrap_err();
    assert_eq!(e, "--dnstap-sample needs an output: give --dnstap unix:PATH|FILE");
    let e = resolved(&["--pcap-source-rate", "10"], "").unwrap_err();
    assert_eq!(e, "--pcap-source-rate needs an output: give --pcap FILE");
    let e = resolved(&[], "[pcap]\nsample = 10\n").unwrap_err();
    assert!(e.starts_with("r.toml:1:1: sampling settings need an output: set `file` here"), "{e}");
    assert!(resolved(&["--pcap", "q.pcap"], "[pcap]\nsample = 10\n").is_ok(), "the flag gives the file");
    let bad = [
        ("[dnstap]\nsink = \"unix:\"\n", "give unix:PATH"),
        ("[dnstap]\nsink = \"x\"\nsample = 0\n", "0 is not in 1..="),
        ("[capture]\nring-size = 10\n", "a capture ring is 4096 to"),
        ("[pcap]\nfile = \"\"\n", "pcap file is an empty path"),
        ("[dnstap]\nsamples = 3\n", "unknown field `samples`"),
    ];
    for (text, want) in bad {
        let e = parse_str(text, Path::new("r.toml"), Path::new("/etc/responder")).unwrap_err();
        assert!(e.contains(want) && e.starts_with("r.toml:"), "{text}: {e}");
    }
}

#[test]
fn udp_busy_poll_comes_from_server_section_or_flag_and_is_bounded() {
    assert_eq!(resolved(&[], "").unwrap().args.udp_busy_poll, None, "off by default");
    assert_eq!(resolved(&[], "[server]\nudp-busy-poll = 50\n").unwrap().args.udp_busy_poll, Some(50));
    let flag = resolved(&["--udp-busy-poll", "20"], "[server]\nudp-busy-poll = 50\n").unwrap();
    assert_eq!(flag.args.udp_busy_poll, Some(20), "the command line wins");
    for bad in ["0", "100001"] {
        let e =
            parse_str(&format!("[server]\nudp-busy-poll = {bad}\n"), Path::new("r.toml"), Path::new("/etc/responder"))
                .unwrap_err();
        assert!(e.contains("is not in 1..=100000"), "{bad}: {e}");
    }
}
