//! The AF_XDP data plane: an XDP program steers DNS queries on each NIC queue
//! into that queue's AF_XDP socket, and a worker pinned to a CPU rewrites
//! each query frame into its answer in place and sends it from the same
//! UMEM frame.
//!
//! - [`program`]: the XDP steering program and its maps.
//! - [`umem`]: frame memory and the ledger of who owns each frame.
//! - [`ring`]: the fill, RX, TX and completion rings shared with the kernel.
//! - [`pool`]: the worker's frames and the only moves between owners; RX
//!   yields an [`pool::RxFrame`] that is transmitted or recycled.
//! - [`socket`]: one AF_XDP socket: UMEM registration, rings, bind.
//! - [`queues`]: which queues and CPUs to use.
//! - [`worker`]: the per-queue loop and its counters.
//! - [`liveness`]: each worker's heartbeat, which the program checks before steering.
//! - [`engine_handler`]: the answer engine as a worker's frame handler.
//! - [`plane`]: all of it started and stopped in order ([`DataPlane`]).
//! - [`tier0`]: answers the program gives itself, precompiled from the engine.
//! - [`reflect`]: the bench's in-kernel floor, a program that reflects every
//!   query with XDP_TX and no DNS work (the upper bound for tier 0).
//! - [`own_addresses`], [`netlink`], [`address_watch`]: the interface's MAC
//!   and addresses, read from netlink and followed, for the program's maps.

pub mod address_watch;
pub mod engine_handler;
pub mod ethtool;
pub mod liveness;
pub mod netlink;
pub mod own_addresses;
pub mod plane;
pub mod pool;
pub mod program;
pub mod queues;
pub mod reflect;
pub mod ring;
pub mod socket;
pub mod stall_watch;
pub mod tier0;
pub mod umem;
pub mod worker;

#[cfg(test)]
mod plane_tests;

pub use engine_handler::EngineHandler;
pub use plane::{DataPlane, DataPlaneConfig, DataPlaneError};
pub use queues::{CpuSelection, QueueSelection};
pub use socket::{BindMode, BusyPoll, ZeroCopy};
pub use worker::{FrameHandler, QueueStats, WorkerCounters};
