//! Values that need more than serde's own checks: strings parsed by the very
//! `FromStr` the command line uses, integers held to the command line's
//! ranges, and the log level. Each check runs inside deserialisation, so the
//! toml crate reports a failure at the value's own line and column.

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, Error};

/// A string parsed by `T::from_str`: the parser clap runs on the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Parsed).map_err(|e| D::Error::custom(format!("invalid value {text:?}: {e}")))
    }
}

/// `ADDR:PORT`, as `--metrics` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(pub SocketAddr);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_address(&String::deserialize(deserializer)?).map(Address).map_err(D::Error::custom)
    }
}

/// `ADDR:PORT`, as `--listen` and `--metrics` take it. (`listen` is a list
/// read as strings first: the toml crate places an error raised inside a
/// list element at the whole list, and this one should point at the entry.)
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("invalid address {text:?}: expected ADDR:PORT, like \"192.0.2.1:53\" or \"[::1]:53\""))
}

/// An integer the command line holds to `MIN..=MAX` (the bounds come from
/// `cli::limits`, which the flag's `value_parser` uses too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<T, const MIN: i64, const MAX: i64>(pub T);

impl<'de, T: TryFrom<i64>, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<T, MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        if !(MIN..=MAX).contains(&value) {
            // The wording of clap's range error, so both read alike.
            return Err(D::Error::custom(format!("{value} is not in {MIN}..={MAX}")));
        }
        T::try_from(value).map(Bounded).map_err(|_| D::Error::custom(format!("{value} is out of range")))
    }
}

/// A size in bytes: an integer, or a string with K, M or G as
/// `--zone-max-size` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Size;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size: bytes, or a string like \"64M\"")
            }
            fn visit_i64<E: Error>(self, v: i64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: Error>(self, v: u64) -> Result<Size, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Size, E> {
                crate::zone::parse_size(v).map(Size).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `[log] level`: the levels of `-q`, default, `-v` and `-vv`, plus `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    const ALL: [LogLevel; 5] = [LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace];

    /// The directive for tracing's `EnvFilter`, and the name in the file.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<LogLevel, String> {
        LogLevel::ALL
            .into_iter()
            .find(|level| level.as_filter() == s)
            .ok_or_else(|| "the log level must be error, warn, info, debug or trace".to_string())
    }
}

/// `--stall-threshold` in the file: milliseconds, 0 (off) or within the
/// limits, checked by the flag's own parser so both refuse the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallThreshold(pub u64);

impl<'de> Deserialize<'de> for StallThreshold {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        crate::control::cli::parse_stall_threshold(&value.to_string()).map(StallThreshold).map_err(D::Error::custom)
    }
}

/// `[capture] ring-size`: a size as [`Size`], held to --capture-ring-size's
/// limits by its own parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSize(pub u64);

impl<'de> Deserialize<'de> for RingSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Size(bytes) = Size::deserialize(deserializer)?;
        crate::control::cli::parse_capture_ring_size(&bytes.to_string()).map(RingSize).map_err(D::Error::custom)
    }
}
