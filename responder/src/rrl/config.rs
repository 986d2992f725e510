//! What a rate limiter is asked to do, checked before any memory is taken.

/// Largest accepted rate. Beyond a million responses a second from one
/// prefix, per worker, there is nothing left to limit; the bound also keeps
/// a full bucket (in thousandths of a response) within a `u32`.
pub const MAX_RATE: u32 = 1_000_000;

/// Largest accepted slip. Knot accepts 0–100 as well; a slip beyond that
/// sends so few truncated answers that it is the same as 0 (drop all).
pub const MAX_SLIP: u32 = 100;

/// Largest table: 16 Mi buckets of 40 bytes is 640 MiB per worker, far more
/// than any host needs (one bucket per active prefix and response class).
pub const MAX_BUCKETS: u32 = 1 << 24;

/// Smallest table: one probe window. See `limiter.rs` for the window.
pub const MIN_BUCKETS: u32 = 64;

/// Response rate limiting settings, one set for every worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrlConfig {
    /// Responses per second allowed to one client prefix and response class,
    /// per worker; also the burst (one second's worth).
    pub rate: u32,
    /// Of the limited responses of one bucket, every `slip`-th is sent
    /// truncated and the others dropped; 0 drops them all, 1 truncates all.
    pub slip: u32,
    /// IPv4 clients sharing this many leading bits share buckets.
    pub ipv4_prefix: u8,
    /// IPv6 clients sharing this many leading bits share buckets.
    pub ipv6_prefix: u8,
    /// Buckets per worker; fixes the limiter's memory.
    pub buckets: u32,
}

impl RrlConfig {
    /// The defaults of `responder serve` with rate limiting turned on at
    /// `rate`: slip 2, /24 and /56 prefixes (as Knot, NSD and BIND), 65,536
    /// buckets (2.5 MiB per worker).
    pub fn with_rate(rate: u32) -> RrlConfig {
        RrlConfig { rate, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56, buckets: 65_536 }
    }

    /// Every setting within range, or the first one that is not.
    pub fn validate(&self) -> Result<(), RrlError> {
        if self.rate == 0 || self.rate > MAX_RATE {
            return Err(RrlError::Rate(self.rate));
        }
        if self.slip > MAX_SLIP {
            return Err(RrlError::Slip(self.slip));
        }
        if self.ipv4_prefix > 32 {
            return Err(RrlError::Ipv4Prefix(self.ipv4_prefix));
        }
        if self.ipv6_prefix > 128 {
            return Err(RrlError::Ipv6Prefix(self.ipv6_prefix));
        }
        if !(MIN_BUCKETS..=MAX_BUCKETS).contains(&self.buckets) {
            return Err(RrlError::Buckets(self.buckets));
        }
        Ok(())
    }
}

/// Why a rate limiter cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RrlError {
    #[error(
        "RRL rate {0} is out of range 1..={MAX_RATE} responses per second (rate limiting off is no limiter at all)"
    )]
    Rate(u32),
    #[error("RRL slip {0} is out of range 0..={MAX_SLIP}")]
    Slip(u32),
    #[error("RRL IPv4 prefix /{0} is longer than 32 bits")]
    Ipv4Prefix(u8),
    #[error("RRL IPv6 prefix /{0} is longer than 128 bits")]
    Ipv6Prefix(u8),
    #[error("RRL table size {0} is out of range {MIN_BUCKETS}..={MAX_BUCKETS} buckets")]
    Buckets(u32),
    #[error("cannot allocate {0} RRL buckets")]
    OutOfMemory(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RrlConfig::with_rate(100).validate(), Ok(()));
    }

    #[test]
    fn each_setting_out_of_range_is_named() {
        let ok = RrlConfig::with_rate(100);
        let cases = [
            (RrlConfig { rate: 0, ..ok }, RrlError::Rate(0)),
            (RrlConfig { rate: MAX_RATE + 1, ..ok }, RrlError::Rate(MAX_RATE + 1)),
            (RrlConfig { slip: MAX_SLIP + 1, ..ok }, RrlError::Slip(MAX_SLIP + 1)),
            (RrlConfig { ipv4_prefix: 33, ..ok }, RrlError::Ipv4Prefix(33)),
            (RrlConfig { ipv6_prefix: 129, ..ok }, RrlError::Ipv6Prefix(129)),
            (RrlConfig { buckets: MIN_BUCKETS - 1, ..ok }, RrlError::Buckets(MIN_BUCKETS - 1)),
            (RrlConfig { buckets: MAX_BUCKETS + 1, ..ok }, RrlError::Buckets(MAX_BUCKETS + 1)),
        ];
        for (config, error) in cases {
            assert_eq!(config.validate(), Err(error), "{config:?}");
        }
    }

    #[test]
    fn range_ends_are_accepted() {
        let ok = RrlConfig::with_rate(1);
        for config in [
            RrlConfig { rate: MAX_RATE, slip: 0, ipv4_prefix: 0, ipv6_prefix: 0, buckets: MIN_BUCKETS },
            RrlConfig { slip: MAX_SLIP, ipv4_prefix: 32, ipv6_prefix: 128, buckets: MAX_BUCKETS, ..ok },
        ] {
            assert_eq!(config.validate(), Ok(()), "{config:?}");
        }
    }
}
