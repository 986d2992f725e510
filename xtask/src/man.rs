//! `cargo xtask man`: man pages and shell completions, generated from the
//! responder's clap definitions by its `man` example (xtask itself must not
//! depend on the responder: see Cargo.toml), into a directory git ignores.

use std::path::{Path, PathBuf};

use crate::workspace;

pub fn run(out: Option<PathBuf>) -> Result<(), String> {
    let out = out.unwrap_or_else(default_dir);
    generate(&out)?;
    eprintln!(
        "xtask man: man pages in {}, completions in {}",
        out.join("man8").display(),
        out.join("completions").display()
    );
    Ok(())
}

/// `target/man`: under target/, so never committed.
pub fn default_dir() -> PathBuf {
    workspace::target_dir().join("man")
}

pub fn generate(out: &Path) -> Result<(), String> {
    let status = workspace::cargo()
        .args(["run", "--quiet", "-p", "responder", "--example", "man", "--"])
        .arg(out)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("generating man pages failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// The subcommands that get a page of their own.
    const SUBCOMMANDS: [&str; 6] = ["serve", "compile", "check", "check-config", "doctor", "ctl"];

    fn run(program: &str, args: &[&str]) -> std::process::Output {
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    #[test]
    fn pages_render_and_completions_load() {
        let out = workspace::xtask_dir().join(format!("man-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        generate(&out).unwrap();
        let pages =
            std::iter::once("responder".to_string()).chain(SUBCOMMANDS.iter().map(|s| format!("responder-{s}")));
        for page in pages {
            let path = out.join("man8").join(format!("{page}.8"));
            let path = path.to_str().unwrap();
            let man = run("man", &["-l", path]);
            let text = String::from_utf8_lossy(&man.stdout);
            assert!(man.status.success(), "man -l {path}: {}", String::from_utf8_lossy(&man.stderr));
            assert!(text.contains(&page) && text.contains("SYNOPSIS"), "man -l {path} shows:\n{text}");
            // groff's warnings (-ww) catch roff that renders but renders wrong.
            let groff = run("groff", &["-man", "-Tutf8", "-ww", "-z", path]);
            let warnings = String::from_utf8_lossy(&groff.stderr);
            assert!(groff.status.success() && warnings.is_empty(), "groff {path}:\n{warnings}");
        }
        let completions = out.join("completions");
        let bash = completions.join("responder.bash");
        let script = format!("source {} && complete -p responder", bash.display());
        let loaded = run("bash", &["-c", &script]);
        assert!(loaded.status.success(), "{script}: {}", String::from_utf8_lossy(&loaded.stderr));
        assert!(String::from_utf8_lossy(&loaded.stdout).contains("-F _responder responder"));
        for other in ["_responder", "responder.fish"] {
            let text = std::fs::read_to_string(completions.join(other)).unwrap();
            assert!(text.contains("check-config"), "{other} lacks the subcommands");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}
