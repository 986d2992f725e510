//! RRSIG validity: warnings for signatures out of date, and their times
//! written as in zone files.

use super::*;

/// Warns, once per zone, of RRSIGs that have expired or are not valid yet
/// at `now` (serial arithmetic, RFC 4034 §3.1.5). The zone is loaded and
/// served anyway, as Knot does: refusing it would take the whole zone down
/// at a reload, while validators reject only the out-of-date RRsets.
pub(super) fn signatures_out_of_date(z: &Lent, now: u32, warnings: &mut Vec<String>) {
    let after = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
    let mut bad = z.records().filter(|r| r.rtype == RType::RRSIG && r.rdata.len() >= 16).filter_map(|r| {
        let expiration = u32::from_be_bytes([r.rdata[8], r.rdata[9], r.rdata[10], r.rdata[11]]);
        let inception = u32::from_be_bytes([r.rdata[12], r.rdata[13], r.rdata[14], r.rdata[15]]);
        if after(now, expiration) {
            Some((r, "expired", expiration))
        } else if after(inception, now) {
            Some((r, "is not valid until", inception))
        } else {
            None
        }
    });
    let Some((first, what, when)) = bad.next() else { return };
    let more = bad.count();
    let covered = covered(&first.rdata).unwrap_or(RType(0));
    warnings.push(format!(
        "{}: the RRSIG over {} {covered} {what} {} (and {more} more RRSIGs of {} out of date): the zone is \
         served anyway, as Knot does, but validating resolvers will reject those answers",
        first.location,
        first.owner,
        rrsig_time(when),
        z.origin,
    ));
}

/// An RRSIG time as the zone file writes it, YYYYMMDDHHmmSS (UTC).
pub fn rrsig_time(t: u32) -> String {
    let (days, secs) = (t as i64 / 86_400, t as i64 % 86_400);
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
