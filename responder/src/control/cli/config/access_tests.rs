//! `[[key]]`, `[[remote]]`, `[[acl]]`: read, cross-checked, refused at the
//! entry's line.

use std::path::Path;

use super::*;
use crate::access::Action;

const FILE: &str = "r.toml";

fn parse(text: &str, base: &Path) -> Result<Settings, String> {
    parse_str(text, Path::new(FILE), base)
}

const GOOD: &str = r#"
[[key]]
id = "xfr.example"
algorithm = "hmac-sha256"
secret = "c2VjcmV0"

[[remote]]
id = "sec1"
address = "198.18.0.2@5300"
key = "xfr.example"

[[acl]]
id = "xfr"
address = ["198.18.0.0/24", "fd00::/8"]
key = "xfr.example"
action = ["transfer", "notify"]

[[acl]]
id = "open-notify"
action = "notify"
"#;

#[test]
fn keys_remotes_and_acls_are_read() {
    let s = parse(GOOD, Path::new("/")).unwrap();
    let access = s.access.expect("access");
    assert_eq!(access.keys.len(), 1);
    let key = access.keys.by_id("xfr.example").unwrap();
    let remote = access.remote("sec1").unwrap();
    assert_eq!(remote.addresses, vec!["198.18.0.2:5300".parse().unwrap()]);
    assert_eq!(remote.key.as_deref(), Some("xfr.example"));
    let ids = vec!["xfr".to_string()];
    assert!(access.allows(&ids, "198.18.0.9".parse().unwrap(), Some(key), Action::Transfer));
    assert!(!access.allows(&ids, "198.18.0.9".parse().unwrap(), None, Action::Transfer));
    let open = vec!["open-notify".to_string()];
    assert!(access.allows(&open, "203.0.113.1".parse().unwrap(), None, Action::Notify));
    assert!(!access.allows(&open, "203.0.113.1".parse().unwrap(), None, Action::Transfer));
    assert!(parse("", Path::new("/")).unwrap().access.is_none());
}

#[test]
fn a_secret_can_come_from_its_own_file_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xfr.key"), "c2VjcmV0\n").unwrap();
    let text = "[[key]]\nid = \"k\"\nalgorithm = \"hmac-sha512\"\nsecret-file = \"xfr.key\"\n";
    let s = parse(text, dir.path()).unwrap();
    assert_eq!(s.access.unwrap().keys.by_id("k").unwrap().algorithm(), crate::tsig::Algorithm::HmacSha512);
    let missing = "[[key]]\nid = \"k\"\nalgorithm = \"hmac-sha512\"\nsecret-file = \"nope.key\"\n";
    let e = parse(missing, dir.path()).unwrap_err();
    assert!(e.starts_with("r.toml:1:1: ") && e.contains("cannot read"), "{e}");
}

/// Each bad entry is refused at its own line with the reason.
#[test]
fn bad_entries_are_refused_at_their_line() {
    let cases: [(&str, &str, &[&str]); 9] = [
        ("[[key]]\nid = \"k\"\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"\n", "1:1", &["unknown algorithm", "hmac-md5"]),
        ("[[key]]\nid = \"k\"\nalgorithm = \"hmac-sha1\"\nsecret = \"!!\"\n", "1:1", &["base64"]),
        ("[[key]]\nid = \"k\"\nalgorithm = \"hmac-sha1\"\n", "1:1", &["secret-file"]),
        (
            "[[key]]\nid = \"k\"\nalgorithm = \"hmac-sha1\"\nsecret = \"c2VjcmV0\"\n[[key]]\nid = \"K.\"\nalgorithm = \"hmac-sha1\"\nsecret = \"c2VjcmV0\"\n",
            "5:1",
            &["twice"],
        ),
        ("[[remote]]\nid = \"r\"\naddress = \"198.18.0.2\"\nkey = \"none\"\n", "1:1", &["remote r", "\"none\"", "[[key]]"]),
        ("\n[[remote]]\nid = \"r\"\naddress = \"host@53\"\n", "2:1", &["remote r", "IP@PORT"]),
        ("[[acl]]\nid = \"a\"\naddress = \"198.18.0.0/40\"\naction = \"transfer\"\n", "1:1", &["acl a", "prefix length"]),
        ("[[acl]]\nid = \"a\"\naction = \"update\"\n", "1:1", &["acl a", "unknown action"]),
        ("[[acl]]\nid = \"a\"\naction = \"transfer\"\nkey = [\"x\"]\n", "1:1", &["acl a", "\"x\""]),
    ];
    for (text, line_col, words) in cases {
        let error = parse(text, Path::new("/")).expect_err(text);
        assert!(error.starts_with(&format!("{FILE}:{line_col}: ")), "{text:?}: {error}");
        for word in words {
            assert!(error.contains(word), "{text:?}: {word:?} not in {error}");
        }
    }
    let unknown = parse("[[acl]]\nid = \"a\"\naction = \"transfer\"\ndeny = true\n", Path::new("/")).unwrap_err();
    assert!(unknown.contains("deny"), "{unknown}");
}
