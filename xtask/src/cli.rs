//! Command-line parsing for `cargo xtask`. Hand-rolled on purpose: xtask is
//! the first thing built on a fresh machine and six flags do not justify a
//! parser crate's compile time.

use std::path::PathBuf;

use crate::bench::plan::{self, BenchArgs};

pub const USAGE: &str = "\
usage: cargo xtask [--no-deps] <command> [options]

commands:
  deps    install the system packages the project needs (Debian/Ubuntu, root)
  run     build the responder and serve the bundled example zone on a veth
          testbed it creates, showing a few answers; Ctrl-C stops it
  test    build everything, run all tests, then a `run --once` smoke test
  fuzz    run the cargo-fuzz targets (nightly) for a bounded time; fails
          on a crash
  man     write man pages (responder(8), responder-SUBCOMMAND(8)) and bash,
          zsh and fish completions from the clap definitions, into
          target/man (or --out DIR)
  package build a Debian package (target/debian/responder_VERSION_ARCH.deb,
          or under --out DIR): binary, man pages, completions, systemd unit,
          example config; `responder` user made on install, nothing started
  image   build an OCI image FROM scratch with podman (localhost/responder:
          VERSION and :latest; installs podman and runc, root)
  bench   measure the responder beside Knot DNS, NSD and BIND on a veth
          testbed (root); report under bench-results/

global options:
  --no-deps              do not check/install system packages first

run options:
  --iface IFACE          serve on this real interface instead of a testbed
                         (needs `-- --listen ADDR:PORT` or `-- --config FILE`)
  --zone FILE|NAME=FILE  zone to serve (repeatable; default: the bundled
                         zones/example.com.zone)
  --queues N             testbed veth queues (default 1)
  --once                 show the answers and exit instead of waiting
  --responder-bin PATH   use this responder binary instead of building one
  -- FLAGS...            extra flags passed to `responder serve`

man options:
  --out DIR              where to write man8/ and completions/ (default
                         target/man)

package options:
  --out DIR              where to stage and write the .deb (default
                         target/debian)

test options:
  --quick                skip the end-to-end smoke run

fuzz options:
  [TARGET]               fuzz only this target (default: all of them)
  --seconds N            seconds per target (default: 30 in all, shared)

bench options:
  --quick                a short run (under 2 minutes): smaller zone, one
                         repeat, shorter ladder
  --queues 1|2           testbed veth queues (default 1)
  --servers LIST         comma-separated, from: floor, floor-xdp-tx,
                         responder-xdp, responder-xdp-t0,
                         responder-xdp-generic, responder-kernel, knot-xdp,
                         knot, nsd, bind (default and `all`: all but
                         floor-xdp-tx, the in-kernel floor, and
                         responder-xdp-t0)
  --names N              names in the generated zone (default 100000)
  --seconds S            seconds per load step (default 2)
  --repeats R            repeats of each step (default 3)
  --responder-args ARGS  extra `responder serve` flags for the responder's
                         modes, in one argument (the floor keeps its
                         defaults), e.g. --responder-args '--ring-size 4096'
  --signed [nsec3|nsec]  every server serves the zone signed by ldns-signzone
                         (default nsec3: 0 iterations, a salt) and every
                         query has DO=1
  --t0-hits PCT          PCT% (0-100) of the queries are tier-0 keys (apex
                         SOA/NS, delegation NS/DS/A/AAAA) for every server;
                         adds responder-xdp-t0 (tier 0 on) and floor-xdp-tx
                         to the default servers; default 80 when --servers names
                         responder-xdp-t0. Measures the XDP program's ns per
                         packet (kernel.bpf_stats_enabled, restored after)
  --unpinned             pin nothing: server, kxdpgun, dnsperf and NAPI
                         threads run where the scheduler puts them
                         (results under bench-results/<date>-unpinned)
";

#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    /// Skip the system package check that every command runs first.
    pub no_deps: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Deps,
    Run(RunArgs),
    Test(TestArgs),
    Fuzz(FuzzArgs),
    Bench(BenchArgs),
    /// Man pages and completions into this directory (default target/man).
    Man(Option<PathBuf>),
    /// The .deb into this directory (default target/debian).
    Package(Option<PathBuf>),
    /// The OCI image, built with podman.
    Image,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    pub iface: Option<String>,
    /// Passed through verbatim: `responder serve` accepts `FILE` or `NAME=FILE`.
    pub zones: Vec<String>,
    /// Testbed queue count; `None` means the default of one.
    pub queues: Option<u32>,
    pub once: bool,
    pub responder_bin: Option<PathBuf>,
    pub extra: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct TestArgs {
    pub quick: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct FuzzArgs {
    /// Per target; `None` shares a default total among the targets.
    pub seconds: Option<u64>,
    pub target: Option<String>,
}

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Invocation, String>
where
    I: IntoIterator<Item = String>,
{
    let mut args = args.into_iter().peekable();
    let mut no_deps = false;
    let mut command = None;
    let mut run = RunArgs::default();
    let mut test = TestArgs::default();
    let mut fuzz = FuzzArgs::default();
    let mut bench = BenchArgs::default();
    let mut man_out = None;

    while let Some(arg) = args.next() {
        // `--flag=value` and `--flag value` are both accepted.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match (command.as_deref(), flag.as_str()) {
            (_, "-h" | "--help") => return Ok(Invocation { command: Command::Help, no_deps }),
            (_, "--no-deps") => no_deps = true,
            (None, "deps" | "run" | "test" | "fuzz" | "bench" | "man" | "package" | "image") => command = Some(flag),
            (None, other) => return Err(format!("unknown command `{other}`")),
            (Some("run"), "--iface") => run.iface = Some(value("--iface")?),
            (Some("run"), "--zone") => run.zones.push(value("--zone")?),
            (Some("run"), "--queues") => run.queues = Some(parse_queues(&value("--queues")?)?),
            (Some("run"), "--once") => run.once = true,
            (Some("run"), "--responder-bin") => run.responder_bin = Some(value("--responder-bin")?.into()),
            (Some("run"), "--") => run.extra.extend(args.by_ref()),
            (Some("test"), "--quick") => test.quick = true,
            (Some("man" | "package"), "--out") => man_out = Some(PathBuf::from(value("--out")?)),
            (Some("fuzz"), "--seconds") => fuzz.seconds = Some(parse_seconds(&value("--seconds")?)?),
            (Some("fuzz"), target) if !target.starts_with('-') && fuzz.target.is_none() => {
                fuzz.target = Some(target.to_owned())
            }
            (Some("bench"), "--quick") => bench.quick = true,
            (Some("bench"), "--unpinned") if inline.is_some() => {
                return Err("--unpinned takes no value".to_owned());
            }
            (Some("bench"), "--unpinned") => bench.unpinned = true,
            (Some("bench"), "--queues") => {
                bench.queues = Some(plan::parse_bounded("--queues", &value("--queues")?, 1, 2)?)
            }
            (Some("bench"), "--servers") => bench.servers = Some(plan::parse_servers(&value("--servers")?)?),
            (Some("bench"), "--names") => {
                bench.names = Some(plan::parse_bounded("--names", &value("--names")?, 1, plan::MAX_NAMES)?)
            }
            (Some("bench"), "--seconds") => {
                bench.seconds = Some(plan::parse_bounded("--seconds", &value("--seconds")?, 1, plan::MAX_SECONDS)?)
            }
            (Some("bench"), "--responder-args") => {
                bench.responder_args = value("--responder-args")?.split_whitespace().map(str::to_owned).collect();
                if bench.responder_args.is_empty() {
                    return Err("--responder-args needs a value".to_owned());
                }
            }
            (Some("bench"), "--signed") => {
                // The kind of denial is optional: `--signed`, `--signed nsec`.
                let kind = match inline {
                    Some(kind) => Some(kind),
                    None => args.next_if(|next| !next.starts_with('-')),
                };
                bench.signed = Some(kind.as_deref().map_or(Ok(plan::Denial::Nsec3), plan::Denial::parse)?);
            }
            (Some("bench"), "--t0-hits") => {
                bench.t0_hits = Some(plan::parse_bounded("--t0-hits", &value("--t0-hits")?, 0, 100)?)
            }
            (Some("bench"), "--repeats") => {
                bench.repeats = Some(plan::parse_bounded("--repeats", &value("--repeats")?, 1, plan::MAX_REPEATS)?)
            }
            (Some(cmd), other) => return Err(format!("unknown option `{other}` for `{cmd}`")),
        }
    }

    let command = match command.as_deref() {
        None => return Err("missing command".to_owned()),
        Some("deps") => Command::Deps,
        Some("run") => {
            if run.iface.is_some() && run.queues.is_some() {
                return Err("--queues shapes the testbed; with --iface pass responder flags after `--`".to_owned());
            }
            Command::Run(run)
        }
        Some("fuzz") => Command::Fuzz(fuzz),
        Some("bench") => Command::Bench(bench),
        Some("man") => Command::Man(man_out),
        Some("package") => Command::Package(man_out),
        Some("image") => Command::Image,
        Some(_) => Command::Test(test),
    };
    Ok(Invocation { command, no_deps })
}

fn parse_queues(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        // A veth supports up to the number of possible CPUs; 64 is far beyond
        // any machine this demo runs on and keeps typos from creating huge devices.
        Ok(n @ 1..=64) => Ok(n),
        _ => Err(format!("--queues must be a number from 1 to 64, not `{text}`")),
    }
}

fn parse_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        // A day bounds a typo; longer campaigns run cargo fuzz directly.
        Ok(n @ 1..=86_400) => Ok(n),
        _ => Err(format!("--seconds must be a number from 1 to 86400, not `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Invocation, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn run_with_every_option() {
        let inv = parse_str(
            "--no-deps run --iface eth1 --zone a.zone --zone=example.org=b.zone --once \
             --responder-bin /tmp/r -- --cpus 0,1 --once",
        )
        .unwrap();
        assert!(inv.no_deps);
        assert_eq!(
            inv.command,
            Command::Run(RunArgs {
                iface: Some("eth1".into()),
                zones: vec!["a.zone".into(), "example.org=b.zone".into()],
                queues: None,
                once: true,
                responder_bin: Some("/tmp/r".into()),
                // After `--` nothing is interpreted, not even our own flags.
                extra: vec!["--cpus".into(), "0,1".into(), "--once".into()],
            })
        );
    }

    #[test]
    fn no_deps_may_follow_the_command() {
        let inv = parse_str("test --quick --no-deps").unwrap();
        assert!(inv.no_deps);
        assert_eq!(inv.command, Command::Test(TestArgs { quick: true }));
    }

    #[test]
    fn queues_are_bounded() {
        assert!(matches!(parse_str("run --queues 2").unwrap().command, Command::Run(RunArgs { queues: Some(2), .. })));
        for bad in ["0", "65", "-1", "two"] {
            let err = parse_str(&format!("run --queues {bad}")).unwrap_err();
            assert!(err.contains("--queues"), "{bad}: {err}");
        }
    }

    #[test]
    fn queues_conflict_with_a_real_interface() {
        assert!(parse_str("run --iface eth0 --queues 2").unwrap_err().contains("testbed"));
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse_str("").unwrap_err(), "missing command");
        assert_eq!(parse_str("build").unwrap_err(), "unknown command `build`");
        assert_eq!(parse_str("test --iface x").unwrap_err(), "unknown option `--iface` for `test`");
        assert_eq!(parse_str("deps --quick").unwrap_err(), "unknown option `--quick` for `deps`");
        assert_eq!(parse_str("run --iface").unwrap_err(), "--iface needs a value");
        assert_eq!(parse_str("run --zone=").unwrap_err(), "--zone needs a value");
    }

    #[test]
    fn fuzz_takes_seconds_and_a_target() {
        assert_eq!(parse_str("fuzz").unwrap().command, Command::Fuzz(FuzzArgs::default()));
        assert_eq!(
            parse_str("fuzz --seconds=60 frame").unwrap().command,
            Command::Fuzz(FuzzArgs { seconds: Some(60), target: Some("frame".into()) })
        );
        assert_eq!(
            parse_str("fuzz message --seconds 5").unwrap().command,
            Command::Fuzz(FuzzArgs { seconds: Some(5), target: Some("message".into()) })
        );
        for bad in ["0", "-3", "ten", "86401"] {
            let err = parse_str(&format!("fuzz --seconds {bad}")).unwrap_err();
            assert!(err.contains("--seconds"), "{bad}: {err}");
        }
        assert_eq!(parse_str("fuzz frame message").unwrap_err(), "unknown option `message` for `fuzz`");
        assert_eq!(parse_str("fuzz --quick").unwrap_err(), "unknown option `--quick` for `fuzz`");
    }

    #[test]
    fn man_takes_an_output_directory() {
        assert_eq!(parse_str("man").unwrap().command, Command::Man(None));
        assert_eq!(parse_str("man --out=/tmp/m").unwrap().command, Command::Man(Some("/tmp/m".into())));
        assert_eq!(parse_str("man --out").unwrap_err(), "--out needs a value");
        assert_eq!(parse_str("man --quick").unwrap_err(), "unknown option `--quick` for `man`");
        assert_eq!(parse_str("package --out d").unwrap().command, Command::Package(Some("d".into())));
        assert_eq!(parse_str("image").unwrap().command, Command::Image);
    }

    #[test]
    fn bench_takes_its_options() {
        assert_eq!(parse_str("bench").unwrap().command, Command::Bench(BenchArgs::default()));
        assert_eq!(
            parse_str("bench --quick --queues 2 --servers knot,floor --names 5000 --seconds=3 --repeats 5")
                .unwrap()
                .command,
            Command::Bench(BenchArgs {
                quick: true,
                queues: Some(2),
                servers: Some(vec![plan::ServerKind::Knot, plan::ServerKind::Floor]),
                names: Some(5000),
                seconds: Some(3),
                repeats: Some(5),
                unpinned: false,
                responder_args: Vec::new(),
                signed: None,
                t0_hits: None,
            })
        );
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for args in [
            &["bench", "--responder-args", "--ring-size 4096  --frames 8192"][..],
            &["bench", "--responder-args=--ring-size 4096 --frames 8192"],
        ] {
            assert_eq!(
                parse(words(args)).unwrap().command,
                Command::Bench(BenchArgs {
                    responder_args: words(&["--ring-size", "4096", "--frames", "8192"]),
                    ..BenchArgs::default()
                }),
                "{args:?}"
            );
        }
        assert_eq!(parse(words(&["bench", "--responder-args", " "])).unwrap_err(), "--responder-args needs a value");
        let unpinned = parse_str("bench --unpinned --servers floor").unwrap().command;
        assert_eq!(
            unpinned,
            Command::Bench(BenchArgs {
                unpinned: true,
                servers: Some(vec![plan::ServerKind::Floor]),
                ..BenchArgs::default()
            })
        );
        assert_eq!(parse_str("bench --unpinned=yes").unwrap_err(), "--unpinned takes no value");
        let signed = |text: &str| match parse_str(text).map(|i| i.command) {
            Ok(Command::Bench(b)) => Ok((b.signed, b.t0_hits, b.quick)),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(signed("bench --signed"), Ok((Some(plan::Denial::Nsec3), None, false)));
        assert_eq!(signed("bench --signed --quick"), Ok((Some(plan::Denial::Nsec3), None, true)));
        assert_eq!(signed("bench --signed nsec --quick"), Ok((Some(plan::Denial::Nsec), None, true)));
        assert_eq!(signed("bench --signed=nsec3"), Ok((Some(plan::Denial::Nsec3), None, false)));
        assert!(signed("bench --signed nsec5").unwrap_err().contains("nsec3 or nsec"));
        assert_eq!(signed("bench --t0-hits 95 --signed"), Ok((Some(plan::Denial::Nsec3), Some(95), false)));
        assert_eq!(signed("bench --t0-hits=0"), Ok((None, Some(0), false)));
        assert!(parse_str("bench --t0-hits 101").unwrap_err().contains("--t0-hits"));
        assert_eq!(parse_str("bench --t0-hits").unwrap_err(), "--t0-hits needs a value");
        assert!(parse_str("test --unpinned").unwrap_err().contains("unknown option `--unpinned` for `test`"));
        assert!(parse_str("bench --queues 3").unwrap_err().contains("--queues"));
        assert!(parse_str("bench --servers unbound").unwrap_err().contains("unbound"));
        assert!(parse_str("bench --seconds 0").unwrap_err().contains("--seconds"));
        assert!(parse_str("bench --once").unwrap_err().contains("unknown option `--once` for `bench`"));
    }

    #[test]
    fn help_wins_anywhere() {
        assert_eq!(parse_str("run --help").unwrap().command, Command::Help);
        assert_eq!(parse_str("-h").unwrap().command, Command::Help);
    }
}
