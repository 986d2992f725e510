//! The command line and process set-up: everything privileged or stateful
//! that sits around the pure engine. Three jobs, one folder each:
//!
//! - `cli`: what the user typed: flags, the config file merged under them,
//!   and `ctl`, the control socket's client.
//! - `daemon`: `serve`'s life cycle: start, reload, report, stop.
//! - `doctor`: whether XDP can serve on an interface, and the fix if not.
//!
//! This file dispatches; `logging` and [`zones`] are shared by all three.

mod allocator;
pub mod build_info;
mod check_config;
mod cli;
mod daemon;
mod doctor;
mod logging;
pub mod zones;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

pub use cli::{config, Cli, Command};
/// The metrics listener's request-head parser, for its fuzz target.
pub use daemon::http::request as http_request;

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    allocator::configure();
    // Through ArgMatches rather than Cli::parse: they tell which flags were
    // given, which the config file's precedence needs. Errors print and exit
    // as Cli::parse's would.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut Cli::command()).exit());
    // The doctor's probes log every attach and detach; its report says it all.
    let quiet = cli.quiet || (matches!(cli.command, Command::Doctor(_)) && cli.verbose == 0);
    // serve starts logging itself, once it knows the config file's level.
    if !matches!(cli.command, Command::Serve(_)) {
        logging::init(cli.verbose, quiet, None, cli.log_format.unwrap_or_default());
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args, &matches, cli.verbose, quiet, cli.log_format),
        Command::Compile(args) => compile(args),
        Command::Check(args) => check(args),
        Command::CheckConfig(args) => check_config::run(&args),
        Command::Doctor(args) => return doctor::run(&args),
        Command::Ctl(args) => cli::ctl::run(&args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("responder: {e:#}");
            1
        }
    }
}

/// Merges --config under the flags, then serves. Logging starts after the
/// merge, because the file may set its level.
fn serve(
    args: cli::ServeArgs,
    matches: &ArgMatches,
    verbose: u8,
    quiet: bool,
    log_format: Option<logging::LogFormat>,
) -> Result<(), String> {
    let serve_matches =
        matches.subcommand_matches("serve").ok_or("internal error: `serve` parsed without its matches")?;
    let resolved = config::resolve(args, serve_matches)?;
    let format = log_format.or(resolved.log_format).unwrap_or_default();
    logging::init(verbose, quiet, resolved.log_level.map(config::LogLevel::as_filter), format);
    daemon::serve::run(resolved.args)
}

fn compile(args: cli::CompileArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded = zones::load_all(&args.zones, &args.zone_read.limits())?;
    let (zone_count, records) = (loaded.zones.len(), loaded.records());
    // Peak memory: the zones' records go before the table is written, the
    // table goes to the file as it is written, and the compiler before the
    // table is read back from the file and checked (`compile_file`).
    let table = crate::table::Table::compile_file(loaded.zones, &args.output).map_err(|e| e.to_string())?;
    eprintln!(
        "compiled {zone_count} zone(s), {records} records into {} ({} bytes) in {:.2?}",
        args.output.display(),
        table.as_bytes().len(),
        started.elapsed()
    );
    Ok(())
}

fn check(args: cli::CheckArgs) -> Result<(), String> {
    // What `compile` and `serve` refuse, `check` refuses: the same compile,
    // its table thrown away (and its warnings, such as answers too big for
    // any message, logged alike). Every file is checked, each error printed.
    let zones = zones::check_all(&args.zones, &args.zone_read.limits()).map_err(report_errors)?;
    for z in &zones {
        println!("{}: {} records, OK", z.origin, z.records.len());
    }
    Ok(())
}

/// Prints each error on its own line; the count is what `main` prints last.
fn report_errors(errors: Vec<String>) -> String {
    for e in &errors {
        eprintln!("{e}");
    }
    format!("{} error(s)", errors.len())
}
