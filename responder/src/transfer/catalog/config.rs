//! What a catalog (`catalog-role = "interpret"`) gives its members: the
//! settings of a `[[template]]` (Knot's `catalog-template`), chosen by the
//! member's `group` property, else the first.

use std::path::PathBuf;

use super::members::Member;
use crate::access::AddressRange;
use crate::transfer::inbound::{Primary, SecondaryConfig};
use crate::zone::Name;

/// The settings one template gives a member zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberTemplate {
    /// The `[[template]]` id, which a member's `group` names; `None` for the
    /// catalog's own settings, used when it names no template.
    pub id: Option<String>,
    pub primaries: Vec<Primary>,
    pub notify_from: Vec<AddressRange>,
    /// Where members keep their copies, as `ZONE.zone`.
    pub storage: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// Never empty: the first serves members with no group, or a group no
    /// template here is named after (as Knot does).
    pub templates: Vec<MemberTemplate>,
}

impl CatalogConfig {
    /// The secondary zone `member` becomes.
    pub fn member_config(&self, member: &Member) -> Option<SecondaryConfig> {
        let by_group = member.group.as_deref().and_then(|g| self.templates.iter().find(|t| t.id.as_deref() == Some(g)));
        let template = by_group.or(self.templates.first())?;
        Some(SecondaryConfig {
            zone: member.zone.clone(),
            file: template.storage.join(file_name(&member.zone)),
            primaries: template.primaries.clone(),
            notify_from: template.notify_from.clone(),
            catalog: None,
        })
    }
}

/// `NAME.zone` for a name that came from a primary: lower case, and every
/// octet but a letter, digit, `-` or `_` as `%XX`, so no label can climb out
/// of the directory (`..`, `/`) or collide with another name's file.
pub fn file_name(zone: &Name) -> String {
    let mut out = String::new();
    for label in zone.labels() {
        for &b in label {
            let b = b.to_ascii_lowercase();
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out.push('.');
    }
    out.push_str("zone");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text, None).unwrap().unwrap()
    }

    fn template(id: Option<&str>, dir: &str) -> MemberTemplate {
        MemberTemplate { id: id.map(String::from), primaries: vec![], notify_from: vec![], storage: dir.into() }
    }

    #[test]
    fn a_group_picks_its_template_and_anything_else_the_first() {
        let catalog = CatalogConfig { templates: vec![template(None, "/a"), template(Some("blue"), "/b")] };
        let member = |group: Option<&str>| Member {
            zone: name("One.test."),
            unique: b"x".to_vec(),
            group: group.map(String::from),
        };
        assert_eq!(catalog.member_config(&member(Some("blue"))).unwrap().file, PathBuf::from("/b/one.test.zone"));
        assert_eq!(catalog.member_config(&member(Some("red"))).unwrap().file, PathBuf::from("/a/one.test.zone"));
        assert_eq!(catalog.member_config(&member(None)).unwrap().file, PathBuf::from("/a/one.test.zone"));
    }

    #[test]
    fn a_hostile_name_stays_a_plain_file_name() {
        assert_eq!(file_name(&name("\\.\\..x/y.test.")), "%2E%2E.x%2Fy.test.zone");
        assert_eq!(file_name(&name("a\\032b.test.")), "a%20b.test.zone");
        assert!(!file_name(&name("\\.\\..test.")).contains('/'));
    }
}
