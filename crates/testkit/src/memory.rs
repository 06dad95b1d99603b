//! This process's resident memory, and turns for the tests that measure it:
//! tests of one binary share a process, so a test that measures memory runs
//! alone ([`Turn::alone`]) while every other test holds a shared turn.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static PROCESS: RwLock<()> = RwLock::const_new(());

/// Held for the life of a test; dropping it lets the next one in.
#[derive(Debug)]
pub enum Turn {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

impl Turn {
    /// A turn beside other shared turns.
    pub async fn shared() -> Turn {
        Turn::Shared(PROCESS.read().await)
    }

    /// A turn with no other test running meanwhile.
    pub async fn alone() -> Turn {
        Turn::Alone(PROCESS.write().await)
    }
}

/// This process's resident set in bytes (`VmRSS`); 0 where `/proc` has none.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}
