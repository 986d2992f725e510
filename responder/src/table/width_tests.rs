//! The template layout's 16-bit counts (format 5): whatever a template
//! holds within them, the view reads back exactly what `serialize` wrote.
//! Format 4 kept patch and chunk counts in a byte, so a template with 256
//! pointers (an RRset of 256 records owned by the query name) could not be
//! written at all.

use proptest::prelude::*;

use super::format::{PLACEHOLDER, TARGET_QNAME};
use super::template::{Chunk, Encoded, Template};
use super::view::ResponseView;
use crate::wire::checksum;

/// `placeholders` pointers, each at the query name, then `tail` bytes.
fn encoded(placeholders: usize, tail: usize, count: u16) -> Encoded {
    let mut e = Encoded { count, ..Encoded::default() };
    for i in 0..placeholders {
        e.patches.push(((2 * i) as u16, TARGET_QNAME));
        e.bytes.extend_from_slice(&PLACEHOLDER);
    }
    e.bytes.extend((0..tail).map(|i| i as u8));
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn templates_round_trip_at_any_count_the_layout_holds(
        body_patches in 0usize..=32_767,
        body_tail in 0usize..2,
        ancount in any::<u16>(),
        chunks in prop::collection::vec((0usize..300, 0usize..40, any::<u16>(), any::<bool>()), 0..300),
        many_chunks in 0usize..2_000,
    ) {
        let mut t = Template {
            aa: true,
            rcode: 3,
            ancount,
            nscount: ancount / 2,
            body: encoded(body_patches, body_tail, 0),
            ..Template::default()
        };
        for &(patches, tail, arcount, required) in &chunks {
            t.chunks.push(Chunk { enc: encoded(patches, tail, arcount), required });
        }
        // Past 255 chunks, as a record-per-chunk additional section has.
        for _ in 0..many_chunks {
            t.chunks.push(Chunk { enc: encoded(1, 4, 1), required: false });
        }
        prop_assert!(t.fits_layout());
        let mut bytes = Vec::new();
        t.serialize(&mut bytes);
        let r = ResponseView::parse(&bytes, 0).expect("parses");
        prop_assert_eq!((r.ancount, r.nscount, r.rcode(), r.authoritative()), (t.ancount, t.nscount, 3, true));
        prop_assert!(!r.too_big());
        prop_assert_eq!(r.body, &t.body.bytes[..]);
        prop_assert_eq!(r.patches.len(), 4 * t.body.patches.len());
        prop_assert_eq!(r.body_sum, checksum::from_stored(super::template::stored_sum(&t.body.bytes)));
        prop_assert_eq!(r.chunk_count(), t.chunks.len());
        let mut read = 0;
        for (view, chunk) in r.chunks().zip(&t.chunks) {
            prop_assert_eq!(view.bytes, &chunk.enc.bytes[..]);
            prop_assert_eq!(view.patches.len(), 4 * chunk.enc.patches.len());
            prop_assert_eq!((view.arcount, view.required), (chunk.enc.count, chunk.required));
            read += 1;
        }
        prop_assert_eq!(read, t.chunks.len());
    }
}

#[test]
fn a_too_big_template_is_flagged_and_empty() {
    let t = Template { aa: true, too_big: true, ..Template::default() };
    let mut bytes = Vec::new();
    t.serialize(&mut bytes);
    let r = ResponseView::parse(&bytes, 0).expect("parses");
    assert!(r.too_big() && r.authoritative() && r.body.is_empty() && r.chunk_count() == 0);
}
