//! Giving memory back after a burst. Every service runs on a runtime from
//! [`runtime`]: when one of its worker threads goes idle, at most once a
//! second, it asks the allocator (mimalloc) to collect that thread's heap,
//! returning the pages freed by the burst to the operating system. Without
//! it, memory freed on a thread that then stays idle stays resident until
//! the thread allocates again. (Transparent huge pages are off in the
//! allocator for the same reason: a 2 MB page is only given back whole.)

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The least time between two collections on one thread.
pub const COLLECT_EVERY: Duration = Duration::from_secs(1);

/// A multi-threaded tokio runtime (all drivers on) whose idle workers give
/// freed memory back.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(collect_when_due)
        .build()
}

/// Collect this thread's heap if it has not been collected for
/// [`COLLECT_EVERY`]: a thread-local read when not due.
fn collect_when_due() {
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    LAST.with(|last| {
        let now = Instant::now();
        if last.get().is_some_and(|at| now - at < COLLECT_EVERY) {
            return;
        }
        last.set(Some(now));
        collect();
    });
}

#[allow(unsafe_code)]
fn collect() {
    // SAFETY: `mi_collect` takes no pointers and only walks the calling
    // thread's heap and the allocator's own bookkeeping; it is safe to call
    // from any thread at any time (mimalloc's documented contract).
    unsafe { libmimalloc_sys::mi_collect(false) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_runtime_from_here_runs_tasks_and_collects_when_idle() {
        let rt = super::runtime().unwrap();
        let total: usize = rt.block_on(async {
            let tasks =
                (0..64).map(|i| tokio::spawn(async move { vec![0u8; 64 * 1024 + i].len() }));
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap();
            }
            tokio::time::sleep(super::COLLECT_EVERY * 2).await;
            sum
        });
        assert_eq!(total, 64 * 64 * 1024 + (0..64).sum::<usize>());
    }
}
