//! Man pages and shell completions from the command line's clap definitions,
//! so they never drift from `--help`: `responder(8)`, one page per
//! subcommand (`responder-serve(8)`, …), and bash, zsh and fish completions.
//! An example rather than a subcommand, so the generators stay out of the
//! server binary. `cargo xtask man` runs it; `cargo run -p responder
//! --example man -- DIR` writes `DIR/man8/*.8` and `DIR/completions/*`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use responder::control::Cli;

/// Section 8: a daemon an administrator runs, like knotd(8) and nsd(8).
const SECTION: &str = "8";

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: man OUTPUT_DIR");
        std::process::exit(2);
    };
    if let Err(e) = generate(&out) {
        eprintln!("man: {e}");
        std::process::exit(1);
    }
}

fn generate(out: &Path) -> Result<(), String> {
    let pages = out.join("man8");
    let completions = out.join("completions");
    for dir in [&pages, &completions] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut cli = Cli::command();
    cli.build();
    write_page(&pages, cli.clone())?;
    // `help` is clap's own, documented by every page's --help.
    for sub in cli.get_subcommands().filter(|sub| sub.get_name() != "help") {
        // The page's name is the one `man` finds: responder-serve(8).
        // Leaked: clap takes a `&'static str` without its `string` feature,
        // and this program ends once the few pages are written.
        let name: &'static str = Box::leak(format!("responder-{}", sub.get_name()).into_boxed_str());
        write_page(&pages, sub.clone().name(name))?;
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cli.clone(), "responder", &completions)
            .map_err(|e| format!("{}: {shell} completion: {e}", completions.display()))?;
    }
    Ok(())
}

fn write_page(dir: &Path, command: clap::Command) -> Result<(), String> {
    let path = dir.join(format!("{}.{SECTION}", command.get_name()));
    let mut page = Vec::new();
    clap_mangen::Man::new(command).section(SECTION).render(&mut page).map_err(|e| e.to_string())?;
    std::fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))
}
