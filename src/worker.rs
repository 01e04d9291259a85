//! Long-lived workers with deep stacks. Every stage recurses over the expression tree, whose
//! depth the parser bounds by [`crate::parse::MAX_DEPTH`]; that needs more stack than a caller's
//! thread may have (a Python or browser thread, a test harness thread). Instead of a thread per
//! call (tens of microseconds of system time for its stack), derivations run on a pool of
//! workers started once, each with [`STACK_BYTES`] of stack (committed only when touched).
//! WebAssembly has no threads: there the work runs inline, on a stack the module sets.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Stack for one worker.
pub const STACK_BYTES: usize = 512 << 20;

/// `work` on a deep-stack worker: its value, or its panic caught. The caller waits; calls from
/// a worker run inline.
pub fn run<T: Send>(work: impl FnOnce() -> T + Send) -> std::thread::Result<T> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(pool) = pool() {
        return pool.install(|| catch_unwind(AssertUnwindSafe(work)));
    }
    catch_unwind(AssertUnwindSafe(work))
}

/// Runs `work` on every item on all workers, the results in the items' order.
pub fn map<I: Sync, T: Send>(items: &[I], work: impl Fn(&I) -> T + Sync) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(pool) = pool() {
        use rayon::prelude::*;
        return pool.install(|| items.par_iter().map(&work).collect());
    }
    items.iter().map(work).collect()
}

/// The workers, one per core, started on first use; `None` where no thread can be started
/// (the work then runs on the caller's thread).
#[cfg(not(target_arch = "wasm32"))]
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("nabla-worker-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}
