//! The printed form depends only on the input and the options: never on the machine's load,
//! the thread a derivation runs on, or how many run at once (issue: a busy machine printed
//! another form of `rayleigh-quotient` when saturation was bounded by the wall clock).

mod common;
use nabla::{Layout, Problem};
use std::sync::atomic::{AtomicBool, Ordering};

/// Every table row in both layouts, derived while two threads keep every core busy, on the
/// caller's thread, on the workers one at a time and as a batch: the same text each way.
#[test]
fn the_table_prints_the_same_forms_under_load_on_any_thread() {
    let stop = AtomicBool::new(false);
    // Stops the busy threads however the checks end: a failed assertion must fail the test,
    // not leave the scope waiting on them forever.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut x: u64 = 1;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            });
        }
        let _stop = StopOnDrop(&stop);
        for layout in [Layout::Numerator, Layout::Denominator] {
            let rows = common::rows();
            let problems: Vec<Problem> = (rows.iter())
                .map(|row| Problem {
                    wrt: row.wrt.clone(),
                    input: row.input.clone(),
                })
                .collect();
            let options = nabla::Options {
                layout,
                second: None,
            };
            let batch = nabla::diff_batch(&problems, &options);
            for (row, batched) in rows.iter().zip(batch) {
                let on_worker = row.diff(layout).expect("derives").text();
                let (wrt, options) = row.options(layout);
                let here = nabla::diff_on_current_thread(&row.input, wrt, &options)
                    .expect("derives")
                    .text();
                assert_eq!(on_worker, here, "{} ({layout:?})", row.name);
                assert_eq!(on_worker, batched.expect("derives").text(), "{}", row.name);
                if layout == Layout::Numerator {
                    assert_eq!(on_worker, row.expected, "{}", row.name);
                }
            }
        }
    });
}
