//! `responder check-config --config FILE`, like `knotc conf-check` and
//! `nsd-checkconf`: the file read and merged exactly as `serve --config`
//! would, then every zone it names loaded and compiled as `check` would.
//! Every error is printed (`FILE:LINE[:COL]: message`), so one run before a
//! deploy (or in `ExecStartPre=`) shows all there is to fix.

use std::path::Path;

use clap::{CommandFactory, FromArgMatches};

use super::cli::{config, CheckConfigArgs, Cli, Command};
use super::{report_errors, zones};

pub fn run(args: &CheckConfigArgs) -> Result<(), String> {
    match check(&args.config) {
        Ok(summary) => {
            println!("{}: OK, {summary}", args.config.display());
            Ok(())
        }
        Err(errors) => Err(report_errors(errors)),
    }
}

/// A summary of what the file serves, or every error in it and its zones.
pub fn check(path: &Path) -> Result<String, Vec<String>> {
    let (settings, mut errors) = config::every_error::load(path);
    let Some(settings) = settings else { return Err(errors) };
    let resolved = serve_args(path).and_then(|(args, matches)| {
        let serve_matches = matches.subcommand_matches("serve").ok_or("internal error: no `serve` matches")?;
        config::merge(args, settings, serve_matches)
    });
    let args = match resolved {
        Ok(resolved) => resolved.args,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    let summary = match &args.table {
        Some(table) => crate::table::Table::open(table)
            .map(|_| format!("table {}", table.display()))
            .map_err(|e| vec![format!("{}: {e}", table.display())]),
        None if args.zones.is_empty() && !args.secondaries.is_empty() => Ok(String::new()),
        None => zones::check_all(&args.zones, &args.zone_read.limits()).map(|zones| {
            let records: usize = zones.iter().map(|z| z.records.len()).sum();
            format!("{} zone(s), {records} records", zones.len())
        }),
    };
    let summary = summary.and_then(|mut summary| {
        if args.secondaries.is_empty() {
            return Ok(summary);
        }
        let (copies, broken) = secondary_copies(&args);
        if !broken.is_empty() {
            return Err(broken);
        }
        let sep = if summary.is_empty() { "" } else { "; " };
        summary.push_str(&format!("{sep}{} secondary zone(s), {copies} with a copy", args.secondaries.len()));
        Ok(summary)
    });
    let summary = summary.map(|mut summary| {
        if !args.outbound.is_empty() {
            summary.push_str(&format!("; {} zone(s) sent out (acl/notify)", args.outbound.len()));
        }
        summary
    });
    match summary {
        Ok(summary) if errors.is_empty() => Ok(summary),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// How many secondary zones have a persisted copy, and an error for each
/// copy that would stop `serve` from starting.
fn secondary_copies(args: &super::cli::ServeArgs) -> (usize, Vec<String>) {
    let (mut copies, mut broken) = (0, Vec::new());
    for s in &args.secondaries {
        match crate::transfer::inbound::storage::load(&s.file, &s.zone, &args.zone_read.limits()) {
            Ok(Some(_)) => copies += 1,
            Ok(None) => {}
            Err(e) => broken.push(format!("secondary zone {}: its copy does not load: {e}", s.zone)),
        }
    }
    (copies, broken)
}

/// `serve --config PATH` with no other flag, parsed as the command line is,
/// so the merge sees every flag at its default.
fn serve_args(path: &Path) -> Result<(super::cli::ServeArgs, clap::ArgMatches), String> {
    let argv = ["responder".as_ref(), "serve".as_ref(), "--config".as_ref(), path.as_os_str()];
    let matches = Cli::command().try_get_matches_from(argv).map_err(|e| e.to_string())?;
    match Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?.command {
        Command::Serve(args) => Ok((args, matches)),
        _ => Err("internal error: `serve` parsed as another command".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_bad_keys_and_a_bad_zone_are_all_reported() {
        let dir = std::env::temp_dir().join(format!("responder-check-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.zone"), "$ORIGIN bad.example.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nns A 300.1.1.1\n")
            .unwrap();
        let config = dir.join("r.toml");
        std::fs::write(
            &config,
            "[server]\nudp-workers = 2\nbogus = 1\n\n[[zone]]\nfile = \"bad.zone\"\n\n[rrl]\nnonsense = true\n",
        )
        .unwrap();
        let errors = check(&config).unwrap_err();
        // The bad keys are taken out as they are found, so the zone the
        // rest of the file names is reached in the same run.
        let config_at = |line| format!("{}:{line}:", config.display());
        let zone_at = format!("{}:4", dir.join("bad.zone").display());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with(&config_at(3)) && errors[0].contains("bogus"), "{errors:#?}");
        assert!(errors[1].starts_with(&config_at(9)) && errors[1].contains("nonsense"), "{errors:#?}");
        assert!(errors[2].starts_with(&zone_at), "{errors:#?}");
    }

    #[test]
    fn secondary_zones_are_counted_and_a_broken_copy_reported() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("r.toml");
        std::fs::write(
            &config,
            "[server]\nstorage = \"copies\"\n[[zone]]\nname = \"a.test\"\nmaster = [\"198.18.0.1\"]\n\
             [[zone]]\nname = \"b.test\"\nmaster = [\"198.18.0.1\"]\n",
        )
        .unwrap();
        assert_eq!(check(&config).unwrap(), "2 secondary zone(s), 0 with a copy");
        let relay = std::fs::read_to_string(&config).unwrap()
            + "acl = [\"out\"]\n[[acl]]\nid = \"out\"\naddress = \"198.18.0.0/24\"\naction = \"transfer\"\n";
        std::fs::write(&config, relay).unwrap();
        assert_eq!(check(&config).unwrap(), "2 secondary zone(s), 0 with a copy; 1 zone(s) sent out (acl/notify)");
        std::fs::create_dir_all(dir.path().join("copies")).unwrap();
        std::fs::write(dir.path().join("copies/b.test.zone"), "b.test. 60 IN A 198.18.0.1\n").unwrap();
        let errors = check(&config).unwrap_err();
        assert!(errors[0].starts_with("secondary zone b.test.: its copy does not load:"), "{errors:#?}");
    }

    #[test]
    fn the_example_configuration_is_good() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/responder.toml");
        let summary = check(&example).unwrap_or_else(|e| panic!("{e:#?}"));
        assert!(summary.starts_with("1 zone(s), "), "{summary}");
    }
}
