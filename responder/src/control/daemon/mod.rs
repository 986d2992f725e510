//! `responder serve`'s life cycle: everything that runs while the server
//! does. [`serve`] starts it and waits for signals; the rest are its parts.

mod clients;
mod control_socket;
mod health;
pub mod http;
mod incremental;
mod metrics;
mod privileges;
mod reload;
mod runtime;
mod secondary;
pub mod serve;
mod served;
mod signals;
mod snapshot;
mod socket_path;
mod systemd;
mod table_check;
mod tier0;
mod tier0_learn;
mod xdp;
mod zone_set;
