//! `cargo xtask`: the project's build, demo and test driver. See `cli::USAGE`.

mod bench;
mod cli;
mod demo;
mod deps;
mod fuzz;
mod image;
mod interrupt;
mod man;
#[cfg(test)]
mod msrv;
mod package;
mod run;
mod supervise;
mod test;
mod workspace;

// From `testkit` rather than the `responder-tests` crate: that crate depends
// on `responder`, whose build script needs clang, which `cargo xtask deps`
// may be about to install.
use testkit::testbed;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    let invocation = match cli::parse(std::env::args().skip(1)) {
        Ok(invocation) => invocation,
        Err(e) => {
            eprintln!("xtask: {e}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    // `test` checks packages itself, as one of its reported steps; `fuzz`
    // and `man` build the responder, whose build script needs clang.
    let deps_first = !invocation.no_deps
        && matches!(
            invocation.command,
            Command::Run(_)
                | Command::Fuzz(_)
                | Command::Bench(_)
                | Command::Man(_)
                | Command::Package(_)
                | Command::Image
        );
    let result = (|| {
        if deps_first {
            deps::run(false)?;
        }
        match invocation.command {
            Command::Help => {
                print!("{}", cli::USAGE);
                Ok(())
            }
            Command::Deps => deps::run(true),
            Command::Run(args) => run::run(args),
            Command::Test(args) => test::run(args, invocation.no_deps),
            Command::Fuzz(args) => fuzz::run(args),
            Command::Bench(args) => bench::run(args),
            Command::Man(out) => man::run(out),
            Command::Package(out) => package::run(out),
            Command::Image => image::run(()),
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
