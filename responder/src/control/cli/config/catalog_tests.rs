//! `catalog-role`, `catalog-template` and `[[template]]`: read, checked, and
//! refused at the entry's line.

use std::path::{Path, PathBuf};

use super::*;

fn parse(text: &str) -> Result<Settings, String> {
    parse_str(text, Path::new("c.toml"), Path::new("/etc/responder"))
}

const REMOTES: &str = "[[remote]]\nid = \"p\"\naddress = \"198.18.0.1@5300\"\n\n\
                       [[remote]]\nid = \"q\"\naddress = \"198.18.0.2\"\n\n";

#[test]
fn a_catalog_gives_its_members_a_template_or_its_own_settings() {
    let text = format!(
        "{REMOTES}[[template]]\nid = \"blue\"\nmaster = [\"q\"]\nstorage = \"blue\"\n\n\
         [[template]]\nid = \"plain\"\n\n\
         [[zone]]\nname = \"cat.test\"\nmaster = [\"p\"]\nfile = \"cats/cat.zone\"\ncatalog-role = \"interpret\"\n\
         catalog-template = [\"plain\", \"blue\"]\n\n\
         [[zone]]\nname = \"own.test\"\nmaster = [\"p\"]\nfile = \"own/own.zone\"\ncatalog-role = \"interpret\"\n\n\
         [[zone]]\nname = \"plain.test\"\nmaster = [\"p\"]\nfile = \"x.zone\"\ncatalog-role = \"none\"\n"
    );
    let s = parse(&text).unwrap();
    let zones = s.secondaries.unwrap();
    let cat = zones[0].catalog.as_ref().expect("a catalog");
    let ids: Vec<_> = cat.templates.iter().map(|t| t.id.as_deref()).collect();
    assert_eq!(ids, [Some("plain"), Some("blue")]);
    assert_eq!(cat.templates[0].primaries, zones[0].primaries, "no master: the catalog's");
    assert_eq!(cat.templates[0].storage, PathBuf::from("/etc/responder/cats"), "no storage: beside the catalog");
    assert_eq!(cat.templates[1].primaries[0].address, "198.18.0.2:53".parse().unwrap());
    assert_eq!(cat.templates[1].storage, PathBuf::from("/etc/responder/blue"));
    let own = zones[1].catalog.as_ref().expect("a catalog");
    assert_eq!((own.templates.len(), own.templates[0].id.as_ref()), (1, None));
    assert_eq!(own.templates[0].storage, PathBuf::from("/etc/responder/own"));
    assert!(zones[2].catalog.is_none());
}

#[test]
fn catalog_mistakes_are_refused_where_they_are() {
    let cases = [
        (
            "[[zone]]\nname = \"c.test\"\nfile = \"c.zone\"\ncatalog-role = \"interpret\"\n",
            "c.toml:1:1: a catalog (catalog-role = \"interpret\") needs `master`",
        ),
        (
            "[[zone]]\nname = \"c.test\"\nmaster = [\"198.18.0.1\"]\nfile = \"c\"\ncatalog-role = \"interpret\"\ncatalog-template = [\"nope\"]\n",
            "c.toml:6:21: template \"nope\" is not defined",
        ),
        (
            "[[zone]]\nname = \"c.test\"\nmaster = [\"198.18.0.1\"]\nfile = \"c\"\ncatalog-role = \"generate\"\n",
            "c.toml:5:16: catalog-role \"generate\" is not supported",
        ),
        ("[[zone]]\nname = \"c.test\"\nmaster = [\"198.18.0.1\"]\nfile = \"c\"\ncatalog-role = \"x\"\n", "use \"interpret\" or \"none\""),
        (
            "[[zone]]\nname = \"c.test\"\nmaster = [\"198.18.0.1\"]\nfile = \"c\"\ncatalog-template = [\"t\"]\n",
            "c.toml:5:20: `catalog-template` needs catalog-role = \"interpret\"",
        ),
        ("[[template]]\nid = \"t\"\n[[template]]\nid = \"t\"\n", "c.toml:4:6: template \"t\" is defined twice"),
        ("[[template]]\nid = \"t\"\nmaster = [\"nowhere\"]\n", "is neither a [[remote]] id nor an address"),
        ("[[template]]\nid = \"t\"\nacl = [\"a\"]\n", "unknown field `acl`"),
    ];
    for (text, expected) in cases {
        let error = parse(text).unwrap_err();
        assert!(error.contains(expected), "{text}\n→ {error}\nwanted {expected}");
    }
}
