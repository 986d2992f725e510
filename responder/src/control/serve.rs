//! `responder serve`: load the table, start the kernel-socket server and,
//! with --iface, the AF_XDP data plane; stop cleanly on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::{RrlArgs, ServeArgs};
use super::signals::{Signal, Signals};
use super::zones;
use crate::engine::{Engine, Options};
use crate::rrl::RrlConfig;
use crate::server::{Server, ServerConfig};
use crate::table::Table;

pub fn run(args: ServeArgs) -> Result<(), String> {
    // Before any thread exists, so that all of them inherit the mask.
    let signals = Signals::block().map_err(|e| format!("cannot block signals: {e}"))?;
    if args.listen.is_empty() && args.xdp.iface.is_none() {
        return Err("nothing to serve on: give --listen ADDR:PORT and/or --iface IFACE".into());
    }
    let rrl = rrl_config(&args.rrl)?;
    let engine = Arc::new(load_engine(&args)?);

    let server = if args.listen.is_empty() {
        None
    } else {
        let mut config = ServerConfig::new(args.listen.clone());
        if let Some(n) = args.udp_workers {
            config.udp_workers = n;
        }
        config.tcp.idle_timeout = Duration::from_secs(args.tcp_idle_timeout);
        config.tcp.max_connections = args.tcp_max_connections;
        config.rrl = rrl;
        let server = Server::start(config, engine.clone()).map_err(|e| e.to_string())?;
        tracing::info!("kernel sockets: UDP and TCP on {:?}", server.local_addrs());
        Some(server)
    };

    let data_plane = match &args.xdp.iface {
        Some(_) => Some(super::xdp::start(&args, engine.clone(), rrl)?),
        None => None,
    };

    loop {
        match signals.wait() {
            Signal::Stop => break,
            Signal::Reload => tracing::warn!("SIGHUP: live reload is not available yet; keep serving the loaded zones"),
        }
    }
    tracing::info!("stopping");
    if let Some(dp) = data_plane {
        super::xdp::stop(dp);
    }
    if let Some(s) = server {
        s.shutdown();
    }
    Ok(())
}

/// Rate limiting as the flags ask: `None` with --rrl-rate 0 (the default).
fn rrl_config(args: &RrlArgs) -> Result<Option<RrlConfig>, String> {
    if args.rrl_rate == 0 {
        return Ok(None);
    }
    let config = RrlConfig {
        rate: args.rrl_rate,
        slip: args.rrl_slip,
        ipv4_prefix: args.rrl_ipv4_prefix,
        ipv6_prefix: args.rrl_ipv6_prefix,
        buckets: args.rrl_table_size,
    };
    config.validate().map_err(|e| e.to_string())?;
    tracing::info!(
        "RRL: {} responses/s per /{} (IPv4) or /{} (IPv6) prefix and class, per worker; slip {}; {} buckets per worker",
        config.rate,
        config.ipv4_prefix,
        config.ipv6_prefix,
        config.slip,
        config.buckets
    );
    Ok(Some(config))
}

fn load_engine(args: &ServeArgs) -> Result<Engine, String> {
    let started = Instant::now();
    let (table, what) = match &args.table {
        Some(path) => (Table::open(path).map_err(|e| format!("{}: {e}", path.display()))?, path.display().to_string()),
        None => {
            let loaded = zones::load_all(&args.zones)?;
            let names: Vec<String> = loaded.zones.iter().map(|z| z.origin.to_string()).collect();
            (Table::compile(&loaded.zones).map_err(|e| e.to_string())?, names.join(" "))
        }
    };
    tracing::info!(
        "loaded {} zone(s) ({what}), table {} bytes, in {:.2?}",
        table.zone_count(),
        table.as_bytes().len(),
        started.elapsed()
    );
    let options = Options {
        edns_udp_size: args.edns_size,
        identity: args.identity.clone(),
        hostname: args.chaos_hostname.clone(),
        version: args.chaos_version.clone(),
    };
    Ok(Engine::new(table, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{Cli, Command};
    use clap::Parser;

    fn rrl(args: &[&str]) -> Result<Option<RrlConfig>, String> {
        let argv = ["responder", "serve", "--listen", "127.0.0.1:53"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(argv).map_err(|e| e.to_string())?.command {
            Command::Serve(s) => rrl_config(&s.rrl),
            _ => Err("not serve".into()),
        }
    }

    #[test]
    fn rate_limiting_is_off_by_default_and_on_with_a_rate() {
        assert_eq!(rrl(&[]), Ok(None));
        assert_eq!(rrl(&["--rrl-rate", "100"]), Ok(Some(RrlConfig::with_rate(100))));
        let custom = ["--rrl-rate", "5", "--rrl-slip", "0", "--rrl-ipv4-prefix", "20", "--rrl-ipv6-prefix", "48"];
        let config = RrlConfig { rate: 5, slip: 0, ipv4_prefix: 20, ipv6_prefix: 48, buckets: 65_536 };
        assert_eq!(rrl(&custom), Ok(Some(config)));
    }

    #[test]
    fn out_of_range_settings_are_refused_with_their_name() {
        let error = rrl(&["--rrl-rate", "100", "--rrl-slip", "500"]).unwrap_err();
        assert!(error.contains("slip 500"), "{error}");
        let error = rrl(&["--rrl-rate", "2000000"]).unwrap_err();
        assert!(error.contains("rate 2000000"), "{error}");
    }
}
