//! Starting and stopping the AF_XDP data plane from `serve`.

use std::sync::Arc;

use super::cli::ServeArgs;
use crate::engine::Engine;

pub struct Running;

pub fn start(args: &ServeArgs, _engine: Arc<Engine>) -> Result<Running, String> {
    Err(format!(
        "--iface {}: the AF_XDP data plane is not in this build; serve with --listen on kernel sockets",
        args.xdp.iface.as_deref().unwrap_or("")
    ))
}

pub fn stop(_: Running) {}
