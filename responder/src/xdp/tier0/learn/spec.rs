//! The `--xdp-answers` value: the names chosen from the zone ([`Selection`])
//! and how many learned keys to add (`top=N`), e.g. `apex+delegations+top=64`.

use crate::xdp::tier0::Selection;

/// Most learned keys: one generation's room (`layout::MAX_ENTRIES / 2`) is
/// shared with the zone's own, and a refresh republishes all of them.
pub const TOP_MAX: u32 = 16384;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Answers {
    pub selection: Selection,
    /// Learned keys (0: none).
    pub top: u32,
}

impl Answers {
    /// Whether the program answers anything itself.
    pub fn is_off(&self) -> bool {
        self.selection == Selection::Off && self.top == 0
    }
}

impl std::str::FromStr for Answers {
    type Err = String;
    fn from_str(s: &str) -> Result<Answers, String> {
        let usage = || {
            format!("--xdp-answers must be off, apex, apex+delegations, top=N or one of the two with +top=N, not {s:?}")
        };
        let (base, top) = match s.rfind("top=") {
            Some(at) => {
                let n: u32 = s[at + 4..].parse().map_err(|_| usage())?;
                if n == 0 || n > TOP_MAX {
                    return Err(format!("--xdp-answers top={n}: N must be 1 to {TOP_MAX}"));
                }
                let base = &s[..at];
                let base = if base.is_empty() {
                    "off"
                } else {
                    base.strip_suffix('+').filter(|b| *b != "off").ok_or_else(usage)?
                };
                (base, n)
            }
            None => (s, 0),
        };
        let selection = base.parse().map_err(|_| usage())?;
        Ok(Answers { selection, top })
    }
}

impl std::fmt::Display for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.selection, self.top) {
            (s, 0) => write!(f, "{s}"),
            (Selection::Off, n) => write!(f, "top={n}"),
            (s, n) => write!(f, "{s}+top={n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_parses_and_prints_back() {
        for (text, selection, top) in [
            ("off", Selection::Off, 0),
            ("apex", Selection::Apex, 0),
            ("apex+delegations", Selection::ApexAndDelegations, 0),
            ("top=8", Selection::Off, 8),
            ("apex+top=100", Selection::Apex, 100),
            ("apex+delegations+top=16384", Selection::ApexAndDelegations, 16384),
        ] {
            let a: Answers = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(a, Answers { selection, top }, "{text}");
            assert_eq!(a.to_string(), text);
            assert_eq!(a.is_off(), text == "off");
        }
        for bad in
            ["all", "top=0", "top=16385", "top=", "top=x", "off+top=8", "+top=8", "apextop=8", "apex+top=8+top=9", ""]
        {
            assert!(bad.parse::<Answers>().is_err(), "{bad:?} accepted");
        }
    }
}
