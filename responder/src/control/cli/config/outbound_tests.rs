//! `[[zone]]` `acl`, `notify` and `journal-max-depth`: read, resolved
//! against `[[acl]]`/`[[remote]]`/`[[key]]`, and refused where they point
//! at nothing.

use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Settings, String> {
    parse_str(text, Path::new("r.toml"), Path::new("/etc/responder"))
}

fn refused(text: &str, line_col: &str, words: &[&str]) {
    let error = parse(text).expect_err(text);
    assert!(error.starts_with(&format!("r.toml:{line_col}: ")), "{error}");
    for word in words {
        assert!(error.contains(word), "{word:?} is not in {error:?}");
    }
}

const ACCESS: &str = "[[key]]\nid = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n\
                      [[remote]]\nid = \"sec\"\naddress = [\"198.18.0.7\", \"fd00::7@5300\"]\nkey = \"xfr\"\n\
                      [[acl]]\nid = \"out\"\naddress = \"198.18.0.0/24\"\nkey = \"xfr\"\naction = \"transfer\"\n";

#[test]
fn a_zone_with_acl_or_notify_is_sent_out() {
    let text = format!(
        "{ACCESS}[[zone]]\nname = \"example.com\"\nfile = \"e.zone\"\nacl = [\"out\"]\nnotify = [\"sec\", \"198.18.0.8@53\"]\n\
         journal-max-depth = 5\n\
         [[zone]]\nname = \"b.example\"\nfile = \"b.zone\"\n"
    );
    let s = parse(&text).unwrap();
    let out = s.outbound.unwrap();
    assert_eq!(out.len(), 1, "a zone without acl or notify costs nothing");
    assert_eq!(out[0].zone.to_string(), "example.com.");
    assert_eq!((out[0].acls.clone(), out[0].journal_depth), (vec!["out".to_string()], 5));
    let targets: Vec<String> = out[0].notify.iter().map(|t| t.to_string()).collect();
    assert_eq!(targets, ["sec (198.18.0.7:53)", "sec ([fd00::7]:5300)", "198.18.0.8:53 (198.18.0.8:53)"]);
    assert!(out[0].notify[0].key.is_some() && out[0].notify[2].key.is_none());
    assert_eq!(s.zones.unwrap().len(), 2, "both zones still serve");

    // A secondary can be sent on (the middle of a distribution tree).
    let text = format!(
        "{ACCESS}[[zone]]\nname = \"example.com\"\nfile = \"copy.zone\"\nmaster = [\"198.18.0.1\"]\nacl = [\"out\"]\n"
    );
    let s = parse(&text).unwrap();
    assert_eq!((s.secondaries.unwrap().len(), s.outbound.unwrap()[0].journal_depth), (1, 20));
}

#[test]
fn references_to_nothing_are_refused_where_they_are() {
    refused(
        "[[zone]]\nname = \"a.example\"\nfile = \"a\"\nacl = [\"nobody\"]\n",
        "4:8",
        &["acl \"nobody\" is not defined"],
    );
    refused(
        "[[zone]]\nname = \"a.example\"\nfile = \"a\"\nnotify = [\"nobody\"]\n",
        "4:11",
        &["\"nobody\" is neither a [[remote]] id"],
    );
    refused("[[zone]]\nfile = \"a\"\nacl = []\n", "1:1", &["needs its `name`"]);
    refused(
        "[[zone]]\nname = \"a.example\"\nfile = \"a\"\njournal-max-depth = 3\n",
        "4:21",
        &["`journal-max-depth` is for a zone sent out"],
    );
    refused(
        "[[zone]]\nname = \"a.example\"\nfile = \"a\"\nacl = []\njournal-max-depth = 5000\n",
        "5:21",
        &["at most 1000"],
    );
}
