//! The configuration parser (`control::config::parse_bytes`) over arbitrary
//! bytes, and each file it accepts merged under a bare `responder serve`.
//!
//! Beyond "no panic": every error names the file and, when it gives a
//! position, one inside the input; every zone the file accepts is one the
//! zone loader's `NAME=FILE` parser accepts too. No file is read.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use libfuzzer_sys::fuzz_target;
use responder::control::{config, zones, Cli, Command};

const FILE: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    match config::parse_bytes(data, Path::new(FILE), Path::new("/etc/responder")) {
        Err(error) => check_position(&error, &String::from_utf8_lossy(data)),
        Ok(settings) => {
            for zone in settings.zones.iter().flatten() {
                if let Err(e) = zones::parse_arg(zone) {
                    panic!("the config accepted zone {zone:?}, --zone refuses it: {e}");
                }
            }
            let matches = bare_serve();
            let Ok(Cli { command: Command::Serve(args), .. }) = Cli::from_arg_matches(matches) else {
                panic!("bare serve is not serve")
            };
            let serve = matches.subcommand_matches("serve").expect("serve matches");
            if let Err(e) = config::merge(args, settings, serve) {
                check_position(&e, &String::from_utf8_lossy(data));
            }
        }
    }
});

/// `responder serve` with no flags, parsed once: building clap's command
/// costs more than parsing most inputs.
fn bare_serve() -> &'static ArgMatches {
    static MATCHES: OnceLock<ArgMatches> = OnceLock::new();
    MATCHES.get_or_init(|| Cli::command().try_get_matches_from(["responder", "serve"]).expect("bare serve parses"))
}

/// `fuzz.toml:LINE:COL: …` with LINE and COL inside `text` (one past the
/// end of a line, or of the file, is where an unterminated thing ends), or
/// `fuzz.toml: …` with no position.
fn check_position(error: &str, text: &str) {
    let Some(rest) = error.strip_prefix(FILE).and_then(|r| r.strip_prefix(':')) else {
        panic!("the error does not name the file: {error:?}")
    };
    if rest.starts_with(' ') {
        return;
    }
    let mut fields = rest.splitn(3, ':');
    let (Some(line), Some(column), Some(message)) = (fields.next(), fields.next(), fields.next()) else {
        panic!("no LINE:COL: {error:?}")
    };
    let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) else {
        panic!("LINE:COL are not numbers: {error:?}")
    };
    assert!(message.starts_with(' ') && message.len() > 1, "no message: {error:?}");
    let lines: Vec<&str> = text.split('\n').collect();
    assert!((1..=lines.len()).contains(&line), "line {line} of {}: {error:?}", lines.len());
    let width = lines[line - 1].chars().count();
    assert!((1..=width + 1).contains(&column), "column {column} of {width}: {error:?}");
}
