//! The figures of the README: median times (release build) of every table row in-process, of
//! the command line from process start to finish, and of the three scaling families with their
//! output sizes and e-graph sizes. `cargo run --release --example timings`.

use std::time::Duration;

#[path = "../benches/workloads.rs"]
mod workloads;

fn main() {
    let mut per_row: Vec<(Duration, String, usize, usize)> = Vec::new();
    for row in workloads::table() {
        let (wrt, options) = workloads::options(&row.wrt);
        let time = workloads::median(31, || {
            nabla::diff_on_current_thread(&row.input, wrt, &options).expect("derives");
        });
        let typed = nabla::read(&row.input).expect("reads");
        let x = typed.variable(wrt).expect("variable").clone();
        let df = nabla::differentiate::differential(&typed.expr, x.name).expect("differential");
        let raw = nabla::identify::identify(&df, typed.expr.shape, x.shape, options.layout)
            .expect("identifies");
        let (_, report) = nabla::simplify::simplify(&raw, Default::default());
        per_row.push((time, row.name, report.nodes, report.iterations));
    }
    per_row.sort();
    let n = per_row.len();
    println!(
        "table: {n} rows; median {} per derivation, max {} ({})",
        workloads::micros(per_row[n / 2].0),
        workloads::micros(per_row[n - 1].0),
        per_row[n - 1].1
    );
    println!("every row (time, e-nodes, iterations), slowest first:");
    for (time, name, nodes, iterations) in per_row.iter().rev() {
        println!(
            "  {name}: {}, {nodes} nodes, {iterations} iterations",
            workloads::micros(*time)
        );
    }
    let nodes: Vec<usize> = per_row.iter().map(|r| r.2).collect();
    println!(
        "e-graph nodes per row: median {}, max {}",
        {
            let mut s = nodes.clone();
            s.sort();
            s[n / 2]
        },
        nodes.iter().max().unwrap()
    );

    let exe = std::env::current_exe()
        .expect("path")
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join("nabla");
    let cli = workloads::median(21, || {
        let out = std::process::Command::new(&exe)
            .args(["diff", "x'*A*x", "--wrt", "x"])
            .output()
            .expect("nabla runs");
        assert!(out.status.success());
    });
    println!(
        "command line, process start to finish: median {}",
        workloads::micros(cli)
    );

    for family in workloads::families() {
        println!(
            "\n{}\n| k | time | output (chars) |\n|---|---|---|",
            family.name
        );
        for &k in family.sizes {
            let input = (family.make)(k);
            let mut text = String::new();
            let time = workloads::median(5, || {
                text = nabla::diff(&input, family.wrt, &Default::default())
                    .expect("derives")
                    .text()
            });
            println!("| {k} | {} | {} |", workloads::micros(time), text.len());
        }
    }
}
