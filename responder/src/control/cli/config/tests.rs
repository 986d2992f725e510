//! Parsing and every way a file is refused, each checked for its position.

use std::path::{Path, PathBuf};

use super::*;
use crate::xdp::program::XdpMode;
use crate::xdp::queues::{CpuSelection, QueueSelection};
use crate::xdp::socket::ZeroCopy;

const FILE: &str = "r.toml";
const BASE: &str = "/etc/responder";

fn parse(text: &str) -> Result<Settings, String> {
    parse_str(text, Path::new(FILE), Path::new(BASE))
}

/// The error for `text`, which must start with `r.toml:LINE:COL: ` and
/// contain every one of `words`.
fn refused(text: &str, line_col: &str, words: &[&str]) {
    let error = match parse(text) {
        Ok(settings) => panic!("accepted {text:?} as {settings:?}"),
        Err(e) => e,
    };
    let prefix = format!("{FILE}:{line_col}: ");
    assert!(error.starts_with(&prefix), "{text:?}: expected {prefix:?} in {error:?}");
    for word in words {
        assert!(error.contains(word), "{text:?}: {word:?} is not in {error:?}");
    }
}

#[test]
fn an_empty_file_sets_nothing() {
    let s = parse("").unwrap();
    assert_eq!(format!("{s:?}"), format!("{:?}", Settings::default()));
    let s = parse("# only a comment\n\n[server]\n[xdp]\n[rrl]\n[control]\n[log]\n").unwrap();
    assert_eq!(format!("{s:?}"), format!("{:?}", Settings::default()));
}

#[test]
fn every_key_is_read() {
    let s = parse(
        r#"
[server]
listen = ["198.18.0.1:53", "[fd00::1]:5353"]
udp-workers = 3
tcp-idle-timeout = 7
tcp-max-clients = 99
tcp-max-connections-per-client = 5
udp-max-payload = 1400
identity = "id"
hostname = "host"
version = "ver"
user = "nobody:nogroup"

[[zone]]
name = "example.com"
file = "zones/example.com.zone"
[[zone]]
file = "/srv/other.zone"

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
ports = [53, 5353]
verify-udp-checksum = true

[rrl]
rate-limit = 20
slip = 3
ipv4-prefix-length = 20
ipv6-prefix-length = 48
table-size = 1000

[control]
listen = "run/ctl.sock"
metrics = "127.0.0.1:9153"

[log]
level = "debug"
stats-interval = 5
"#,
    )
    .unwrap();
    assert_eq!(s.listen.unwrap(), ["198.18.0.1:53".parse().unwrap(), "[fd00::1]:5353".parse().unwrap()]);
    assert_eq!((s.udp_workers, s.tcp_idle_timeout, s.tcp_max_connections), (Some(3), Some(7), Some(99)));
    assert_eq!(s.tcp_max_connections_per_client, Some(5));
    assert_eq!(s.edns_size, Some(1400));
    assert_eq!(
        (s.identity.as_deref(), s.chaos_hostname.as_deref(), s.chaos_version.as_deref()),
        (Some("id"), Some("host"), Some("ver"))
    );
    assert_eq!(s.user.as_deref(), Some("nobody:nogroup"));
    assert_eq!(s.zones.unwrap(), ["example.com=/etc/responder/zones/example.com.zone", "/srv/other.zone"]);
    assert_eq!(s.table, None);
    assert_eq!(s.iface.as_deref(), Some("eth9"));
    assert_eq!(s.queues, Some(QueueSelection::List(vec![0, 1, 2])));
    assert_eq!(s.cpus, Some(CpuSelection::List(vec![4, 5])));
    assert_eq!((s.xdp_mode, s.zero_copy), (Some(XdpMode::Generic), Some(ZeroCopy::Off)));
    assert_eq!((s.frames, s.frame_size, s.ring_size, s.batch), (Some(8192), Some(4096), Some(1024), Some(32)));
    assert_eq!((s.busy_poll, s.xdp_ports), (Some(50), Some(vec![53, 5353])));
    assert_eq!(s.verify_udp_checksum, Some(true));
    assert_eq!(s.xdp_settings_at, None, "the interface is set");
    assert_eq!((s.rrl_rate, s.rrl_slip), (Some(20), Some(3)));
    assert_eq!((s.rrl_ipv4_prefix, s.rrl_ipv6_prefix, s.rrl_table_size), (Some(20), Some(48), Some(1000)));
    assert_eq!(s.control_socket, Some(PathBuf::from("/etc/responder/run/ctl.sock")));
    assert_eq!(s.metrics, Some("127.0.0.1:9153".parse().unwrap()));
    assert_eq!((s.log_level, s.stats_interval), (Some(LogLevel::Debug), Some(5)));
}

#[test]
fn relative_paths_are_relative_to_the_file() {
    let s = parse("[server]\ntable = \"z.tbl\"\n").unwrap();
    assert_eq!(s.table, Some(PathBuf::from("/etc/responder/z.tbl")));
    let s = parse("[server]\ntable = \"/var/z.tbl\"\n[control]\nlisten = \"/run/c.sock\"\n").unwrap();
    assert_eq!(s.table, Some(PathBuf::from("/var/z.tbl")));
    assert_eq!(s.control_socket, Some(PathBuf::from("/run/c.sock")));
    let s = parse("[[zone]]\nfile = \"../zones/a=b.zone\"\n").unwrap();
    // Joined to the directory, the '=' cannot be read as NAME=FILE.
    let zones = s.zones.unwrap();
    assert_eq!(zones, ["/etc/responder/../zones/a=b.zone"]);
    assert_eq!(crate::control::zones::parse_arg(&zones[0]).unwrap(), (None, zones[0].as_str()));
}

#[test]
fn unknown_keys_are_refused_with_the_valid_ones_in_every_section() {
    refused("[server]\nlisten = []\nlisen = 1\n", "3:1", &["unknown field `lisen`", "`listen`", "`udp-max-payload`"]);
    refused(
        "[[zone]]\nfile = \"a\"\nzonefile = \"b\"\n",
        "3:1",
        &["unknown field `zonefile`", "`name`, `file`, `master`"],
    );
    refused("[xdp]\niface = \"eth0\"\n", "2:1", &["unknown field `iface`", "`interface`", "`zero-copy`"]);
    refused("[rrl]\nrate = 5\n", "2:1", &["unknown field `rate`", "`rate-limit`", "`table-size`"]);
    refused("[control]\nsocket = \"/x\"\n", "2:1", &["unknown field `socket`", "`listen`", "`metrics`"]);
    refused("[log]\n\n  verbose = true\n", "3:3", &["unknown field `verbose`", "`level`", "`stats-interval`"]);
    refused("[srever]\n", "1:2", &["unknown field `srever`", "`server`", "`zone`", "`xdp`", "`log`"]);
    refused("listen = [\"127.0.0.1:53\"]\n", "1:1", &["unknown field `listen`", "`server`"]);
    refused("[server.extra]\n", "1:9", &["unknown field `extra`"]);
}

#[test]
fn values_of_the_wrong_type_are_refused() {
    refused("[server]\nlisten = \"127.0.0.1:53\"\n", "2:10", &["invalid type", "sequence"]);
    refused("[server]\nudp-workers = \"2\"\n", "2:15", &["invalid type", "string"]);
    refused("[server]\nidentity = 5\n", "2:12", &["invalid type", "integer"]);
    refused("[server]\nudp-max-payload = 1e3\n", "2:19", &["invalid type", "floating point"]);
    refused("[xdp]\ninterface = \"e\"\nqueues = 0\n", "3:10", &["invalid type", "expected a string"]);
    refused("[xdp]\ninterface = \"e\"\nports = 53\n", "3:9", &["invalid type", "sequence"]);
    refused("[log]\nlevel = 3\n", "2:9", &["invalid type", "expected a string"]);
    refused("zone = \"example.com\"\n", "1:8", &["invalid type", "sequence"]);
    refused("[server]\nuser = [\"a\"]\n", "2:8", &["invalid type"]);
    refused("[rrl]\nslip = true\n", "2:8", &["invalid type", "boolean"]);
}

#[test]
fn numbers_out_of_the_command_lines_ranges_are_refused() {
    refused("[server]\nudp-max-payload = 511\n", "2:19", &["511 is not in 512..=65535"]);
    refused("[server]\nudp-max-payload = 65536\n", "2:19", &["65536 is not in 512..=65535"]);
    refused("[rrl]\nipv4-prefix-length = 7\n", "2:22", &["7 is not in 8..=32"]);
    refused("[rrl]\nipv4-prefix-length = 33\n", "2:22", &["33 is not in 8..=32"]);
    refused("[rrl]\nipv6-prefix-length = 15\n", "2:22", &["15 is not in 16..=128"]);
    refused("[rrl]\nipv6-prefix-length = 129\n", "2:22", &["129 is not in 16..=128"]);
    refused("[rrl]\ntable-size = 63\n", "2:14", &["63 is not in 64..=16777216"]);
    refused("[rrl]\ntable-size = 16777217\n", "2:14", &["16777217 is not in 64..=16777216"]);
    refused("[xdp]\ninterface = \"e\"\nstall-threshold = 49\n", "3:19", &["49 ms: 0 (off) or 50 to 60000"]);
    refused("[xdp]\ninterface = \"e\"\nstall-threshold = 60001\n", "3:19", &["60001 ms"]);
    refused("[xdp]\ninterface = \"e\"\nlearn-interval = 0\n", "3:18", &["0 is not in 1..=3600"]);
    refused("[xdp]\ninterface = \"e\"\nanswers = \"top=0\"\n", "3:11", &["top=0"]);
    refused("[server]\nudp-workers = -1\n", "2:15", &["-1", "usize"]);
    refused("[server]\ntcp-idle-timeout = -5\n", "2:20", &["-5", "u64"]);
    refused("[rrl]\nrate-limit = 4294967296\n", "2:14", &["4294967296", "u32"]);
    refused("[xdp]\ninterface = \"e\"\nports = [53, 65536]\n", "3:14", &["65536", "u16"]);
    refused("[xdp]\ninterface = \"e\"\nbusy-poll = -1\n", "3:13", &["-1", "u32"]);
    refused("[server]\nudp-workers = 99999999999999999999\n", "2:15", &["99999999999999999999"]);
}

#[test]
fn the_bounds_are_the_command_lines() {
    use crate::control::cli::limits::*;
    use crate::control::Cli;
    use clap::Parser;
    // (flag, key in its section, lowest, highest): each side of each bound,
    // through clap and through the file, must give the same verdict.
    let bounded = [
        ("--edns-size", "[server]\nudp-max-payload", EDNS_SIZE_MIN, EDNS_SIZE_MAX),
        ("--rrl-ipv4-prefix", "[rrl]\nipv4-prefix-length", RRL_IPV4_PREFIX_MIN, RRL_IPV4_PREFIX_MAX),
        ("--rrl-ipv6-prefix", "[rrl]\nipv6-prefix-length", RRL_IPV6_PREFIX_MIN, RRL_IPV6_PREFIX_MAX),
        ("--rrl-table-size", "[rrl]\ntable-size", RRL_TABLE_SIZE_MIN, RRL_TABLE_SIZE_MAX),
    ];
    for (flag, key, min, max) in bounded {
        for (value, valid) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
            let by_flag = Cli::try_parse_from(["responder", "serve", flag, &value.to_string()]).is_ok();
            let by_file = parse(&format!("{key} = {value}\n")).is_ok();
            assert_eq!((by_flag, by_file), (valid, valid), "{flag} / {key} = {value}");
        }
    }
}

#[test]
fn bad_addresses_are_refused() {
    refused("[server]\nlisten = [\"127.0.0.1:53\", \"localhost:53\"]\n", "2:27", &["\"localhost:53\"", "ADDR:PORT"]);
    refused("[server]\nlisten = [\"127.0.0.1\"]\n", "2:11", &["invalid address \"127.0.0.1\""]);
    refused("[server]\nlisten = [\"::1:53\"]\n", "2:11", &["invalid address", "[::1]:53"]);
    refused("[control]\nmetrics = \"127.0.0.1:99999\"\n", "2:11", &["invalid address"]);
}

#[test]
fn values_the_flags_parser_refuses_are_refused() {
    refused("[xdp]\ninterface = \"e\"\nmode = \"fast\"\n", "3:8", &["\"fast\"", "auto, native or generic"]);
    refused("[xdp]\ninterface = \"e\"\nzero-copy = \"yes\"\n", "3:13", &["\"yes\"", "auto, on or off"]);
    refused("[xdp]\ninterface = \"e\"\nqueues = \"3-1\"\n", "3:10", &["\"3-1\"", "reversed"]);
    refused("[xdp]\ninterface = \"e\"\ncpus = \"0,0\"\n", "3:8", &["\"0,0\"", "twice"]);
    refused("[log]\nlevel = \"verbose\"\n", "2:9", &["\"verbose\"", "error, warn, info, debug or trace"]);
}

#[test]
fn duplicate_keys_and_tables_are_refused() {
    refused("[server]\nudp-workers = 1\nudp-workers = 2\n", "3:1", &["duplicate key `udp-workers`"]);
    refused("[server]\n[log]\n[server]\n", "3:2", &["duplicate key `server`"]);
    refused("[xdp]\ninterface = \"a\"\n  interface = \"b\"\n", "3:3", &["duplicate key `interface`"]);
    refused(
        "[[zone]]\nname = \"example.com\"\nfile = \"a\"\n[[zone]]\nname = \"EXAMPLE.com.\"\nfile = \"b\"\n",
        "5:8",
        &["zone EXAMPLE.com. is already defined at line 2"],
    );
}

#[test]
fn a_table_and_zones_together_are_refused() {
    refused("[server]\ntable = \"z.tbl\"\n[[zone]]\nfile = \"a.zone\"\n", "2:9", &["`table` conflicts with [[zone]]"]);
}

#[test]
fn bad_zones_are_refused() {
    refused("[[zone]]\nname = \"example.com\"\n", "1:1", &["a [[zone]] needs `file` (or `master`"]);
    refused("[[zone]]\nfile = \"\"\n", "2:8", &["file is an empty path"]);
    refused("[[zone]]\nname = \"bad..name\"\nfile = \"a\"\n", "2:8", &["bad zone name \"bad..name\""]);
    refused("[[zone]]\nname = \"a=b\"\nfile = \"a\"\n", "2:8", &["bad zone name", "'='"]);
    refused("[[zone]]\nname = \"a/b\"\nfile = \"a\"\n", "2:8", &["bad zone name"]);
    refused("[[zone]]\nname = \"\"\nfile = \"a\"\n", "2:8", &["bad zone name"]);
    refused("[[zone]]\nname = 7\nfile = \"a\"\n", "2:8", &["invalid type"]);
    refused("[server]\ntable = \"\"\n", "2:9", &["table is an empty path"]);
    refused("[control]\nlisten = \"\"\n", "2:10", &["control socket is an empty path"]);
}

#[test]
fn secondary_zones_name_their_primaries_and_keep_their_copy() {
    let text = "[server]\nstorage = \"copies\"\n\
                [[remote]]\nid = \"hidden\"\naddress = \"198.18.0.9@5300\"\n\
                [[zone]]\nname = \"example.com\"\nmaster = [\"hidden\", \"fd00::9\"]\n\
                [[zone]]\nname = \"b.example\"\nfile = \"b.copy\"\nmaster = [\"198.18.0.10\"]\n\
                [[zone]]\nname = \"c.example\"\nfile = \"c.zone\"\n";
    let s = parse(text).unwrap();
    assert_eq!(s.zones.as_deref(), Some(&["c.example=/etc/responder/c.zone".to_string()][..]), "a primary zone stays");
    let secondaries = s.secondaries.unwrap();
    assert_eq!(secondaries.len(), 2);
    assert_eq!(secondaries[0].zone.to_string(), "example.com.");
    assert_eq!(secondaries[0].file, std::path::Path::new("/etc/responder/copies/example.com.zone"));
    let primaries: Vec<String> = secondaries[0].primaries.iter().map(|p| p.to_string()).collect();
    assert_eq!(primaries, ["hidden (198.18.0.9:5300)", "[fd00::9]:53"]);
    assert!(secondaries[0].notify_from.is_empty());
    assert_eq!(secondaries[1].file, std::path::Path::new("/etc/responder/b.copy"));
}

#[test]
fn a_secondary_zone_signs_with_its_remote_s_key_and_hears_notify_acls() {
    let text = "[[key]]\nid = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n\
                [[remote]]\nid = \"hidden\"\naddress = [\"198.18.0.9\", \"fd00::9@5300\"]\nkey = \"xfr\"\n\
                [[acl]]\nid = \"n\"\naddress = \"198.18.1.0/24\"\naction = \"notify\"\n\
                [[zone]]\nname = \"example.com\"\nfile = \"copy.zone\"\nmaster = [\"hidden\"]\n";
    let s = parse(text).unwrap();
    let zone = &s.secondaries.unwrap()[0];
    let primaries: Vec<String> = zone.primaries.iter().map(|p| p.to_string()).collect();
    assert_eq!(primaries, ["hidden (198.18.0.9:53) key xfr", "hidden ([fd00::9]:5300) key xfr"]);
    assert!(zone.may_notify("198.18.1.7".parse().unwrap()) && zone.may_notify("198.18.0.9".parse().unwrap()));
    assert!(!zone.may_notify("198.18.2.7".parse().unwrap()));
}

#[test]
fn bad_secondary_zones_are_refused() {
    refused(
        "[[zone]]\nname = \"a.example\"\nmaster = [\"nobody\"]\n",
        "3:11",
        &["\"nobody\" is neither a [[remote]] id"],
    );
    refused("[[zone]]\nname = \"a.example\"\nmaster = []\n", "3:10", &["`master` lists no primary"]);
    refused(
        "[[zone]]\nname = \"a.example\"\nmaster = [\"198.18.0.1\"]\n",
        "1:1",
        &["needs `file` or [server] `storage`"],
    );
    refused("[[zone]]\nfile = \"x\"\nmaster = [\"198.18.0.1\"]\n", "1:1", &["needs its `name`"]);
}

#[test]
fn syntax_errors_are_placed() {
    refused("[server]\nlisten = [\n", "2:11", &["unclosed array"]);
    refused("[server\n", "1:8", &[]);
    refused("[server]\nidentity = 'unterminated\n", "2:25", &[]);
    refused("[server]\nudp-workers = \n", "2:15", &["quoted"]);
}

#[test]
fn columns_count_characters_after_non_ascii_text() {
    refused("[server]\nidentity = \"ñañá\"\nlisen = 1\n", "3:1", &["lisen"]);
    // Byte 16 of the line, character 15.
    refused("[server]\nidentity = \"ñ\"; x = 1\n", "2:15", &[]);
}

mod files {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new(name);
        let path = dir.path.join("responder.toml");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    /// A scratch directory removed on drop (the responder crate has no
    /// tempfile dependency; this is all the tests need).
    mod tempfile_dir {
        use std::path::PathBuf;

        pub struct Dir {
            pub path: PathBuf,
        }

        impl Dir {
            pub fn new(test: &str) -> Dir {
                let path = std::env::temp_dir().join(format!("responder-config-{test}-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                Dir { path }
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }

    #[test]
    fn a_file_is_read_and_its_directory_is_the_base() {
        let (dir, path) = temp_file("read", b"[[zone]]\nfile = \"z/a.zone\"\n");
        let s = load(&path).unwrap();
        assert_eq!(s.zones.unwrap(), [dir.path.join("z/a.zone").display().to_string()]);
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile_dir::Dir::new("missing");
        let path = dir.path.join("nope.toml");
        let e = load(&path).unwrap_err();
        assert!(e.starts_with(&format!("{}: cannot read", path.display())), "{e}");
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn an_unreadable_file_is_an_error() {
        // A directory cannot be read as a file, even by root (for whom
        // permission bits would not stop the read).
        let dir = tempfile_dir::Dir::new("unreadable");
        let e = load(&dir.path).unwrap_err();
        assert!(e.starts_with(&format!("{}: cannot read", dir.path.display())), "{e}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_the_bad_byte() {
        let (_dir, path) = temp_file("utf8", b"[server]\nidentity = \"\xc3\xa9t\xe9\"\n");
        let e = load(&path).unwrap_err();
        assert_eq!(e, format!("{}:2:15: not UTF-8 (byte 0xe9); a TOML file must be UTF-8 text", path.display()));
    }

    #[test]
    fn a_huge_file_is_refused_without_reading_it_all() {
        let dir = tempfile_dir::Dir::new("huge");
        let path = dir.path.join("huge.toml");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(read::MAX_BYTES + 1).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn errors_in_a_file_name_the_file() {
        let (_dir, path) = temp_file("named", b"[server]\n\nbogus = 1\n");
        let e = load(&path).unwrap_err();
        assert!(e.starts_with(&format!("{}:3:1: unknown field `bogus`", path.display())), "{e}");
    }
}
