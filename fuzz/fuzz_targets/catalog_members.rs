//! `transfer::catalog::members` over a catalog zone as a primary might send
//! it (read as master-file text, the form the copy is checked in): no
//! panic; each member zone once, in canonical order, never the catalog
//! itself; and the copy file each member would get is a plain name in the
//! template's directory, whatever the member's name.
//!
//! Inputs containing `$INCLUDE` are skipped, as in `zone_parser`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use responder::transfer::catalog::{self, CatalogConfig, MemberTemplate};
use responder::zone::{parse_str, Name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if data.windows(8).any(|w| w.eq_ignore_ascii_case(b"$include")) {
        return;
    }
    let Some(origin) = Name::parse("cat.test.", None).ok().flatten() else { return };
    let Ok(zone) = parse_str(text, "fuzz.zone", Some(&origin)) else { return };
    let Ok(set) = catalog::members(&origin, &zone.records) else { return };
    let templates = vec![MemberTemplate { id: None, primaries: vec![], notify_from: vec![], storage: "/copies".into() }];
    let config = CatalogConfig { templates };
    for pair in set.members.windows(2) {
        assert!(pair[0].zone < pair[1].zone, "members sorted and each once");
    }
    for m in &set.members {
        assert!(m.zone != origin, "the catalog is not its own member");
        let file = config.member_config(m).expect("a template").file;
        assert_eq!(file.parent(), Some(Path::new("/copies")), "{}", file.display());
        assert!(file.file_name().is_some_and(|n| n != ".." && n != "."), "{}", file.display());
    }
});
