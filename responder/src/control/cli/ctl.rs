//! `responder ctl`: one request over the server's Unix control socket.
//!
//! The protocol is a single line each way: the command name, then one JSON
//! object with `"ok"` and either the result or `"error"`. A line protocol
//! keeps it usable with `socat` when the binary is not at hand.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::{CtlArgs, CtlCommand};

/// A reload of a large zone set can take seconds; anything beyond this is a
/// server that stopped answering.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(args: &CtlArgs) -> Result<(), String> {
    let request = match &args.command {
        CtlCommand::Reload => "reload".to_string(),
        CtlCommand::Stats => "stats".to_string(),
        CtlCommand::ZoneStatus { zone: None } => "zone-status".to_string(),
        CtlCommand::ZoneStatus { zone: Some(zone) } => format!("zone-status {zone}"),
        CtlCommand::ZoneRefresh { zone } => format!("zone-refresh {zone}"),
        CtlCommand::ZoneReload { zone } => format!("zone-reload {zone}"),
        CtlCommand::ZoneRetransfer { zone } => format!("zone-retransfer {zone}"),
    };
    let path = args.socket.display();
    let mut stream = UnixStream::connect(&args.socket).map_err(|e| format!("cannot connect to {path}: {e}"))?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(|e| format!("{path}: {e}"))?;
    writeln!(stream, "{request}").map_err(|e| format!("cannot send to {path}: {e}"))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| format!("no reply from {path}: {e}"))?;
    let reply: serde_json::Value =
        serde_json::from_str(line.trim_end()).map_err(|e| format!("unreadable reply from {path}: {e}"))?;
    if reply.get("ok") != Some(&serde_json::Value::Bool(true)) {
        let error = reply.get("error").and_then(|e| e.as_str()).unwrap_or("the server gave no reason");
        return Err(format!("{request} failed: {error}"));
    }
    let pretty = serde_json::to_string_pretty(&reply).unwrap_or_else(|_| line.trim_end().to_owned());
    println!("{pretty}");
    Ok(())
}
