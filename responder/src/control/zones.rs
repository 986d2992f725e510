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
}
