//! A wall-clock bound on one derivation. The e-graph has limits of its own; every other stage
//! builds expression nodes as it works, so the clock is read as nodes are built (once every
//! 1024 of them) and a derivation past its deadline is abandoned, as a clear error.

use crate::error::{Error, Result};
use std::cell::Cell;
use std::time::Duration;
// std's Instant traps in the browser; web-time is std's on native targets.
use web_time::Instant;

/// The time one derivation may take: generous for anything a person writes (the classic table
/// takes at most 35 ms), short enough that no input hangs nabla. Debug builds run about ten
/// times slower.
pub const TIME_LIMIT: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(60)
} else {
    Duration::from_secs(5)
};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static TICKS: Cell<u32> = const { Cell::new(0) };
}

/// What unwinds a derivation past its deadline.
struct OutOfTime;

/// Runs `work` with a deadline `limit` from now; past it, [`Error::Time`].
pub fn within<T>(limit: Duration, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let outer = DEADLINE.get();
    let deadline = Instant::now() + limit;
    DEADLINE.set(Some(outer.map_or(deadline, |o| o.min(deadline))));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    DEADLINE.set(outer);
    match run {
        Ok(result) => result,
        Err(payload) if payload.is::<OutOfTime>() && outer.is_none() => Err(Error::Time {
            seconds: limit.as_secs_f64(),
        }),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Counts one unit of work; past the deadline, unwinds to [`within`].
pub fn tick() {
    let ticks = TICKS.get().wrapping_add(1);
    TICKS.set(ticks);
    if ticks.is_multiple_of(1024) {
        check();
    }
}

/// Past the deadline, unwinds to [`within`]: for loops that build no nodes (saturation rounds).
pub fn check() {
    if let Some(deadline) = DEADLINE.get()
        && Instant::now() > deadline
    {
        std::panic::resume_unwind(Box::new(OutOfTime));
    }
}
