use super::*;
use crate::stats::DnsCounters;

fn about(qtype: u16, zone: u16, dnssec_ok: bool) -> About {
    About { qtype, zone, dnssec_ok }
}

#[test]
fn each_response_lands_in_its_type_zone_and_rcode_cells() {
    let b = Breakdown::default();
    b.response(&about(1, 0, false), 0);
    b.response(&about(28, 0, true), 3);
    b.response(&about(99, 5, true), 16);
    b.response(&about(1, zones::NO_ZONE, false), 5);
    b.response(&about(1, u16::MAX, false), 9);
    let c = b.read();
    let qtype = |name: &str| c.qtype[qtype::QTYPES.iter().position(|q| *q == name).unwrap()];
    assert_eq!((qtype("A"), qtype("AAAA"), qtype("other")), (3, 1, 1));
    let rcode = |name: &str| DnsCounters::RCODES.iter().position(|r| *r == name).unwrap();
    assert_eq!(c.zone_rcode[0][rcode("noerror")], 1);
    assert_eq!(c.zone_rcode[0][rcode("nxdomain")], 1);
    assert_eq!(c.zone_rcode[5][rcode("badvers")], 1);
    assert_eq!(c.zone_rcode[zones::NO_ZONE as usize][rcode("refused")], 1);
    // An out-of-range slot is clamped to the last one, NO_ZONE: never out of bounds.
    assert_eq!(c.zone_rcode[zones::NO_ZONE as usize][rcode("other")], 1);
    assert_eq!(c.zone_rcode.iter().flatten().sum::<u64>(), 5);
    assert_eq!((c.dnssec_ok, c.responses()), (2, 5));
}

#[test]
fn messages_fill_the_size_histograms_and_count_tc() {
    let b = Breakdown::default();
    let mut answer = vec![0u8; 100];
    b.message(29, Some(&answer));
    answer[2] = 0x82; // QR and TC
    b.message(40, Some(&answer[..20]));
    b.message(5000, None);
    let c = b.read();
    assert_eq!(c.query_size.buckets, [0, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!((c.query_size.sum, c.query_size.count()), (5069, 3));
    assert_eq!(c.response_size.buckets, [0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!((c.response_size.sum, c.tc), (120, 1));
    b.message(10, Some(&[]));
    assert_eq!(b.read().response_size.buckets[0], 1, "an empty answer is counted, without a TC bit");
}

#[test]
fn counts_are_summed_by_path_and_protocol() {
    let registry = Breakdowns::default();
    let (a, b, c) = (Arc::new(Breakdown::default()), Arc::new(Breakdown::default()), Arc::new(Breakdown::default()));
    registry.register(Where::XDP, Arc::clone(&a));
    registry.register(Where::XDP, Arc::clone(&b));
    registry.register(Where::KERNEL_UDP, Arc::clone(&c));
    a.response(&about(1, 0, false), 0);
    b.response(&about(1, 0, true), 0);
    c.message(30, None);
    let read = registry.read();
    assert_eq!(read.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [Where::KERNEL_UDP, Where::XDP]);
    assert_eq!((read[1].1.zone_rcode[0][0], read[1].1.dnssec_ok), (2, 1));
    assert_eq!(read[0].1.query_size.count(), 1);
}
