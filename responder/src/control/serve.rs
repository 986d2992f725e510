//! `responder serve`: load the table, start the kernel-socket server and,
//! with --iface, the AF_XDP data plane; stop cleanly on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::ServeArgs;
use super::signals::{Signal, Signals};
use super::zones;
use crate::engine::{Engine, Options};
use crate::server::{Server, ServerConfig};
use crate::table::Table;

pub fn run(args: ServeArgs) -> Result<(), String> {
    // Before any thread exists, so that all of them inherit the mask.
    let signals = Signals::block().map_err(|e| format!("cannot block signals: {e}"))?;
    if args.listen.is_empty() && args.xdp.iface.is_none() {
        return Err("nothing to serve on: give --listen ADDR:PORT and/or --iface IFACE".into());
    }
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
        let server = Server::start(config, engine.clone()).map_err(|e| e.to_string())?;
        tracing::info!("kernel sockets: UDP and TCP on {:?}", server.local_addrs());
        Some(server)
    };

    let data_plane = match &args.xdp.iface {
        Some(_) => Some(super::xdp::start(&args, engine.clone())?),
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
