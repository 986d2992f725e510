//! The engine being served, replaceable while it serves (live reload).
//!
//! A reload builds a whole new [`Engine`] off the hot path and publishes it
//! with one atomic pointer swap. Each serving thread keeps a [`LocalEngine`]:
//! a cached `Arc` checked against the shared pointer with one plain atomic
//! load per query, with no lock and no reference-count traffic unless the
//! engine changed. A query is answered wholly from one table; the old table
//! is freed when the last thread has moved on (its `Arc` count reaches zero).

use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use super::message::Engine;

/// The engine all serving threads answer from; clones share it.
#[derive(Clone)]
pub struct SharedEngine(Arc<ArcSwap<Engine>>);

impl SharedEngine {
    pub fn new(engine: Engine) -> SharedEngine {
        SharedEngine(Arc::new(ArcSwap::from_pointee(engine)))
    }

    /// The engine now being served.
    pub fn load(&self) -> Arc<Engine> {
        self.0.load_full()
    }

    /// Serves `engine` from the next batch of every thread on.
    pub fn replace(&self, engine: Engine) {
        self.0.store(Arc::new(engine));
    }

    /// A view for one serving thread.
    pub fn local(&self) -> LocalEngine {
        LocalEngine { cache: Cache::new(Arc::clone(&self.0)) }
    }
}

/// One thread's view of a [`SharedEngine`].
pub struct LocalEngine {
    cache: Cache<Arc<ArcSwap<Engine>>, Arc<Engine>>,
}

impl LocalEngine {
    /// The current engine: one atomic load when nothing changed.
    #[inline]
    pub fn current(&mut self) -> &Engine {
        self.cache.load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Options;
    use crate::table::Table;

    fn engine(edns: u16) -> Engine {
        let options = Options { edns_udp_size: edns, ..Options::default() };
        Engine::new(Table::compile::<crate::zone::Zone>(&[]).expect("an empty table compiles"), options)
    }

    #[test]
    fn a_local_view_follows_replacements() {
        let shared = SharedEngine::new(engine(1232));
        let mut local = shared.local();
        assert_eq!(local.current().options().edns_udp_size, 1232);
        shared.replace(engine(1400));
        assert_eq!(local.current().options().edns_udp_size, 1400);
        assert_eq!(shared.load().options().edns_udp_size, 1400);
    }

    #[test]
    fn the_old_engine_is_freed_once_every_view_moved_on() {
        let shared = SharedEngine::new(engine(1232));
        let mut local = shared.local();
        let old = Arc::downgrade(&shared.load());
        local.current();
        shared.replace(engine(1400));
        assert!(old.upgrade().is_some(), "the view still holds the engine it last served from");
        local.current();
        assert!(old.upgrade().is_none(), "nobody holds the old engine any more");
    }
}
