//! Every error in a configuration file, not just the first, for
//! `responder check-config`. serde stops at the first bad key, so the file is
//! parsed again with that key's line blanked out (spaces, so every later
//! offset and line number stays the same), until it parses or nothing more
//! can be learnt. A TOML syntax error stops at once: past it the parser cannot
//! tell keys from garbage.

use std::path::Path;

use super::position::located;
use super::settings::Settings;
use super::{base_directory, parse_str, read};

/// Far more than any file has; bounds the re-parsing of a pathological one.
const MAX_ERRORS: usize = 100;

/// Every error found in the file, and the settings it has once the lines in
/// error are taken out (so what they name, such as zones, can be checked too);
/// no settings if that point is not reached.
pub fn load(path: &Path) -> (Option<Settings>, Vec<String>) {
    let text = match read::read_text(path) {
        Ok(text) => text,
        Err(e) => return (None, vec![e]),
    };
    let base = match base_directory(path) {
        Ok(base) => base,
        Err(e) => return (None, vec![e]),
    };
    collect(text, path, &base)
}

/// [`load`] on text already read.
pub fn collect(mut text: String, file: &Path, base: &Path) -> (Option<Settings>, Vec<String>) {
    if let Err(e) = text.parse::<toml::Table>() {
        return (None, vec![located(file, &text, e.span(), e.message())]);
    }
    let mut errors = Vec::new();
    let mut settings = None;
    while errors.len() < MAX_ERRORS {
        let error = match parse_str(&text, file, base) {
            Ok(good) => {
                settings = Some(good);
                break;
            }
            Err(e) => e,
        };
        let line = position_of(&error, file).map(|(line, _)| line);
        errors.push(error);
        // Without a line, or when blanking the line breaks the syntax (a
        // value over several lines), the rest cannot be checked honestly.
        match line.and_then(|line| blank_line(&text, line)) {
            Some(blanked) if blanked.parse::<toml::Table>().is_ok() => text = blanked,
            _ => break,
        }
    }
    // serde finds them in its own order (a section's keys before values
    // checked later); the reader wants the file's.
    errors.sort_by_key(|e| position_of(e, file).unwrap_or((usize::MAX, 0)));
    (settings, errors)
}

/// LINE and COL of an error that starts `FILE:LINE:COL:` (COL 0 if absent).
fn position_of(error: &str, file: &Path) -> Option<(usize, usize)> {
    let rest = error.strip_prefix(&format!("{}:", file.display()))?;
    let mut numbers = rest.split(':').map_while(|n| n.parse::<usize>().ok());
    let line = numbers.next().filter(|&line| line > 0)?;
    Some((line, numbers.next().unwrap_or(0)))
}

/// `text` with line `line` (1-based) made spaces; `None` if it has no such
/// line or the line is already blank (no progress possible).
fn blank_line(text: &str, line: usize) -> Option<String> {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let target = lines.get_mut(line - 1)?;
    if target.trim().is_empty() {
        return None;
    }
    *target = target.chars().map(|c| if c == '\r' { c } else { ' ' }).collect();
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        collect(text.to_string(), Path::new("r.toml"), Path::new("/etc/responder")).1
    }

    #[test]
    fn every_bad_key_is_reported_with_its_line() {
        let text = "[server]\nlisten = [\"127.0.0.1:53\"]\nbogus = 1\n\n[rrl]\nslip = 2\nnonsense = true\n[log]\nlevel = \"loud\"\n";
        let found = errors(text);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("r.toml:3:1: ") && found[0].contains("bogus"), "{found:#?}");
        assert!(found[1].starts_with("r.toml:7:1: ") && found[1].contains("nonsense"), "{found:#?}");
        assert!(found[2].starts_with("r.toml:9:") && found[2].contains("loud"), "{found:#?}");
    }

    #[test]
    fn a_good_file_has_no_errors() {
        let (settings, found) = collect("[server]\nudp-workers = 2\n".into(), Path::new("r.toml"), Path::new("/"));
        assert!(found.is_empty(), "{found:#?}");
        assert_eq!(settings.unwrap().udp_workers, Some(2));
    }

    #[test]
    fn a_syntax_error_is_reported_alone() {
        let found = errors("[server\nbogus = 1\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("r.toml:1:"), "{found:#?}");
    }

    #[test]
    fn a_bad_value_over_several_lines_stops_the_search() {
        // Blanking line 2 would leave `"x"]` alone: not TOML, so the search
        // stops there rather than report a syntax error of its own making.
        let found = errors("[server]\nlisten = [\"nowhere\",\n\"x\"]\nbogus = 1\n");
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].starts_with("r.toml:2:") && found[0].contains("nowhere"), "{found:#?}");
        assert!(found[1].starts_with("r.toml:4:1: ") && found[1].contains("bogus"), "{found:#?}");
        let (settings, _) =
            collect("[server]\nlisten = [\"nowhere\",\n\"x\"]\n".into(), Path::new("r.toml"), Path::new("/"));
        assert!(settings.is_none(), "no settings when the search stops short");
    }
}
