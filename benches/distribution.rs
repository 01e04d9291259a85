//! `cargo bench --bench distribution`: the distribution of derivation times in-process
//! (parse to print, release build) over the classic table and over 10,000 generated problems
//! (benches/problems.txt, written by the property generator), the split by pipeline stage over
//! the table, and the throughput of a batch of 100,000 problems on all cores. Medians, 90th
//! and 99th percentiles and the maximum, with the slowest problems named.

use nabla::{Format, Options, Problem};
use std::time::{Duration, Instant};

#[allow(dead_code)]
mod workloads;

/// One problem from parse to every printed format, on the calling thread.
fn derive_and_print(problem: &Problem) {
    let (wrt, options) = workloads::options(&problem.wrt);
    if let Ok(d) = nabla::diff_on_current_thread(&problem.input, wrt, &options) {
        std::hint::black_box(d.format(Format::Text));
    }
}

/// Prints the distribution of `times` (named by problem) and the slowest five.
fn report(title: &str, mut times: Vec<(Duration, String)>) {
    times.sort();
    let n = times.len();
    let at = |q: f64| times[((n as f64 * q) as usize).min(n - 1)].0;
    println!(
        "{title}: {n} problems; median {}, p90 {}, p99 {}, max {}",
        workloads::micros(at(0.5)),
        workloads::micros(at(0.9)),
        workloads::micros(at(0.99)),
        workloads::micros(times[n - 1].0)
    );
    for (time, name) in times.iter().rev().take(5) {
        println!("  {}  {name}", workloads::micros(*time));
    }
}

fn problems() -> Vec<Problem> {
    (include_str!("problems.txt").lines())
        .filter_map(|line| Problem::from_line(line).ok())
        .collect()
}

fn table() {
    let times = (workloads::table().into_iter())
        .map(|row| {
            let problem = Problem {
                wrt: row.wrt,
                input: row.input,
            };
            (
                workloads::median(11, || derive_and_print(&problem)),
                row.name,
            )
        })
        .collect();
    report("table", times);
}

fn random() {
    let times = (problems().into_iter())
        .map(|p| {
            let name = format!("{}  {}", p.wrt, p.input);
            (workloads::median(3, || derive_and_print(&p)), name)
        })
        .collect();
    report("generated", times);
}

/// Each stage's share of the table's total time, measured on a deep-stack worker so that
/// reading does not count the hand-off to one.
fn stages() {
    let totals = nabla::with_deep_stack(|| {
        let mut totals = [Duration::ZERO; 6];
        for row in workloads::table() {
            let (wrt, options) = workloads::options(&row.wrt);
            if options.second.is_some() {
                continue;
            }
            let start = Instant::now();
            let typed = nabla::read(&row.input).expect("reads");
            let x = typed.variable(wrt).expect("a variable").clone();
            let parsed = start.elapsed();
            let df = nabla::differentiate::differential(&typed.expr, x.name).expect("differential");
            let differentiated = start.elapsed();
            let raw = nabla::identify::identify(&df, typed.expr.shape, x.shape, options.layout)
                .expect("identifies");
            let raw = nabla::identify::restrict(raw, typed.expr.shape, &x);
            let identified = start.elapsed();
            let simple = nabla::simplify::simplify(&raw, Default::default()).0;
            let saturated = start.elapsed();
            let simple = nabla::simplify::tidied(nabla::rational::normalize(&simple));
            let normalized = start.elapsed();
            std::hint::black_box(nabla::print::print(&simple, Format::Text));
            let printed = start.elapsed();
            let marks = [
                parsed,
                differentiated,
                identified,
                saturated,
                normalized,
                printed,
            ];
            for (i, total) in totals.iter_mut().enumerate() {
                *total += marks[i] - if i == 0 { Duration::ZERO } else { marks[i - 1] };
            }
        }
        totals
    })
    .expect("the table derives");
    let all: Duration = totals.iter().sum();
    let names = [
        "parse and shapes",
        "differentiate",
        "identify",
        "saturate",
        "normal form",
        "print",
    ];
    println!(
        "stages over the table (first derivatives), share of {}:",
        workloads::micros(all)
    );
    for (name, total) in names.iter().zip(totals) {
        let share = 100.0 * total.as_secs_f64() / all.as_secs_f64();
        println!("  {name}: {} ({share:.0}%)", workloads::micros(total));
    }
}

fn batch() {
    let problems: Vec<Problem> = problems().into_iter().cycle().take(100_000).collect();
    let start = Instant::now();
    let mut derived = 0;
    for chunk in problems.chunks(256) {
        let results = nabla::diff_batch(chunk, &Options::default());
        derived += results.iter().filter(|r| r.is_ok()).count();
    }
    let elapsed = start.elapsed();
    println!(
        "batch: {} problems ({derived} derived) in {:.2} s on {} cores: {:.0} problems/s",
        problems.len(),
        elapsed.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        problems.len() as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too, so it stays quick
    // there: the table only.
    let full = std::env::args().any(|a| a == "--bench");
    table();
    if full {
        stages();
        random();
        batch();
    }
}
