//! Turning `--zone [NAME=]FILE` arguments into checked zones.

use std::path::Path;

use crate::zone::{self, Name, ReadLimits, Zone};

pub struct Loaded {
    pub zones: Vec<Zone>,
}

impl Loaded {
    pub fn records(&self) -> usize {
        self.zones.iter().map(|z| z.records.len()).sum()
    }
}

/// Splits `NAME=FILE`; a bare FILE has no given origin. A path may contain
/// '=' only when a name is given first.
pub fn parse_arg(arg: &str) -> Result<(Option<Name>, &str), String> {
    match arg.split_once('=') {
        Some((name, file)) if !name.is_empty() && !name.contains('/') => {
            let absolute = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
            let origin = Name::parse(&absolute, None)
                .map_err(|e| format!("--zone {arg}: bad zone name {name:?}: {e}"))?
                .ok_or_else(|| format!("--zone {arg}: bad zone name {name:?}"))?;
            Ok((Some(origin), file))
        }
        _ => Ok((None, arg)),
    }
}

/// Loads every zone, each read within `limits`; the first error stops,
/// naming file and line.
pub fn load_all(args: &[String], limits: &ReadLimits) -> Result<Loaded, String> {
    if args.is_empty() {
        return Err("no zones given: use --zone FILE (or --table FILE)".into());
    }
    let mut zones = Vec::with_capacity(args.len());
    for arg in args {
        let (origin, file) = parse_arg(arg)?;
        let z = zone::load_file_with(Path::new(file), origin.as_ref(), limits).map_err(|e| e.to_string())?;
        for w in &z.warnings {
            tracing::warn!("{w}");
        }
        zones.push(z);
    }
    Ok(Loaded { zones })
}

/// Loads every zone it can and compiles them as `compile` and `serve` would,
/// for `check` and `check-config`: every file is read even after one fails,
/// so one run reports an error in each bad file (within one file the parser
/// stops at its first). The zones if all is well, else every error.
pub fn check_all(args: &[String], limits: &ReadLimits) -> Result<Vec<Zone>, Vec<String>> {
    if args.is_empty() {
        return Err(vec!["no zones given: use --zone FILE (or --table FILE)".into()]);
    }
    let mut zones = Vec::with_capacity(args.len());
    let mut errors = Vec::new();
    for arg in args {
        let loaded = parse_arg(arg).and_then(|(origin, file)| {
            zone::load_file_with(Path::new(file), origin.as_ref(), limits).map_err(|e| e.to_string())
        });
        match loaded {
            Ok(z) => {
                for w in &z.warnings {
                    tracing::warn!("{w}");
                }
                zones.push(z);
            }
            Err(e) => errors.push(e),
        }
    }
    // The compile's checks span zones (and its errors name no file), so it
    // runs only on a complete set: a missing zone would change its verdict.
    if errors.is_empty() {
        if let Err(e) = crate::table::Table::compile(&zones) {
            errors.push(e.to_string());
        }
    }
    if errors.is_empty() {
        Ok(zones)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_arguments() {
        let (o, f) = parse_arg("example.com=zones/x.zone").unwrap();
        assert_eq!(o.unwrap().to_string(), "example.com.");
        assert_eq!(f, "zones/x.zone");
        assert_eq!(parse_arg("zones/a=b.zone").unwrap(), (None, "zones/a=b.zone"));
        assert!(parse_arg("bad..name=x").is_err());
        assert!(load_all(&[], &ReadLimits::default()).is_err());
    }

    #[test]
    fn check_all_reports_an_error_in_every_file() {
        let dir = std::env::temp_dir().join(format!("responder-check-all-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.zone");
        std::fs::write(&good, "$ORIGIN good.example.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n")
            .unwrap();
        let bad_a = dir.join("a.zone");
        std::fs::write(&bad_a, "$ORIGIN a.example.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nns A not-an-address\n").unwrap();
        let bad_b = dir.join("b.zone");
        std::fs::write(&bad_b, "$ORIGIN b.example.\n$TTL 60\n@ SOA ns hm 1 1 1 1 1\nx BOGUSTYPE 1\n").unwrap();
        let args: Vec<String> = [&bad_a, &good, &bad_b].iter().map(|p| p.display().to_string()).collect();
        let errors = check_all(&args, &ReadLimits::default()).unwrap_err();
        let good_alone = check_all(&[args[1].clone()], &ReadLimits::default());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with(&format!("{}:4", bad_a.display())), "{errors:#?}");
        assert!(errors[1].starts_with(&format!("{}:4", bad_b.display())), "{errors:#?}");
        assert!(good_alone.is_ok(), "{good_alone:?}");
    }
}
