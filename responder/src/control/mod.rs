//! The command line and process set-up: everything privileged or stateful
//! that sits around the pure engine.

mod cli;
mod control_socket;
mod ctl;
mod doctor;
mod logging;
mod metrics;
mod privileges;
mod reload;
mod runtime;
mod serve;
mod served;
mod signals;
mod xdp;
pub mod zones;

use clap::Parser;

pub use cli::{Cli, Command};

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // The doctor's probes log every attach and detach; its report says it all.
    let quiet = cli.quiet || (matches!(cli.command, Command::Doctor(_)) && cli.verbose == 0);
    logging::init(cli.verbose, quiet);
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Compile(args) => compile(args),
        Command::Check(args) => check(args),
        Command::Doctor(args) => return doctor::run(&args),
        Command::Ctl(args) => ctl::run(&args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("responder: {e:#}");
            1
        }
    }
}

fn compile(args: cli::CompileArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded = zones::load_all(&args.zones)?;
    let table = crate::table::Table::compile(&loaded.zones).map_err(|e| e.to_string())?;
    table.write(&args.output).map_err(|e| e.to_string())?;
    eprintln!(
        "compiled {} zone(s), {} records into {} ({} bytes) in {:.2?}",
        loaded.zones.len(),
        loaded.records(),
        args.output.display(),
        table.as_bytes().len(),
        started.elapsed()
    );
    Ok(())
}

fn check(args: cli::CheckArgs) -> Result<(), String> {
    let loaded = zones::load_all(&args.zones)?;
    for z in &loaded.zones {
        println!("{}: {} records, OK", z.origin, z.records.len());
    }
    Ok(())
}
