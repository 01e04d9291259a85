//! `cargo bench`: every row of the classic table in-process, each pipeline stage separately,
//! the command line from process start to finish, and the three scaling families.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

#[allow(dead_code)] // the timing helpers are for the distribution report
mod workloads;

fn quick<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(400));
    group
}

fn table(c: &mut Criterion) {
    let mut group = quick(c, "table");
    for row in workloads::table() {
        let (wrt, options) = workloads::options(&row.wrt);
        group.bench_function(&row.name, |b| {
            b.iter(|| {
                nabla::diff_on_current_thread(black_box(&row.input), wrt, &options)
                    .expect("derives")
            })
        });
    }
    group.finish();
}

fn stages(c: &mut Criterion) {
    let mut group = quick(c, "stages");
    for (name, wrt, input) in [
        ("quadratic-form", "x", "x'*A*x"),
        ("linear-regression", "w", "norm2(X*w - y)^2"),
        (
            "logistic-loss",
            "w",
            "X: R^(m x n); y: R^m; sum(log(1 + exp(-y.*(X*w))))",
        ),
    ] {
        let program = nabla::parse::parse_program(input).expect("parses");
        let typed = nabla::infer::infer(&program, input).expect("types");
        let x = typed.variable(wrt).expect("variable").clone();
        let df = nabla::differentiate::differential(&typed.expr, x.name).expect("differential");
        let layout = nabla::Layout::Numerator;
        let raw =
            nabla::identify::identify(&df, typed.expr.shape, x.shape, layout).expect("identifies");
        let limits = nabla::simplify::Limits::default();
        let d = nabla::diff_on_current_thread(input, wrt, &Default::default()).expect("derives");
        group.bench_function(BenchmarkId::new("parse", name), |b| {
            b.iter(|| nabla::parse::parse_program(black_box(input)))
        });
        group.bench_function(BenchmarkId::new("shapes", name), |b| {
            b.iter(|| nabla::infer::infer(black_box(&program), input))
        });
        group.bench_function(BenchmarkId::new("differentiate", name), |b| {
            b.iter(|| nabla::differentiate::differential(black_box(&typed.expr), x.name))
        });
        group.bench_function(BenchmarkId::new("identify", name), |b| {
            b.iter(|| nabla::identify::identify(black_box(&df), typed.expr.shape, x.shape, layout))
        });
        group.bench_function(BenchmarkId::new("simplify", name), |b| {
            b.iter(|| nabla::simplify::simplify(black_box(&raw), limits))
        });
        group.bench_function(BenchmarkId::new("print", name), |b| {
            b.iter(|| black_box(&d).format(nabla::Format::Latex))
        });
        group.bench_function(BenchmarkId::new("whole", name), |b| {
            b.iter(|| nabla::diff_on_current_thread(black_box(input), wrt, &Default::default()))
        });
    }
    group.finish();
}

fn command_line(c: &mut Criterion) {
    let mut group = quick(c, "cli");
    group.bench_function("diff x'*A*x", |b| {
        b.iter(|| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_nabla"))
                .args(["diff", "x'*A*x", "--wrt", "x"])
                .output()
                .expect("nabla runs");
            assert!(out.status.success());
        })
    });
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = quick(c, "scaling");

    for family in workloads::families() {
        for &k in family.sizes {
            let input = (family.make)(k);
            group.bench_with_input(BenchmarkId::new(family.name, k), &input, |b, input| {
                b.iter(|| {
                    nabla::diff(black_box(input), family.wrt, &Default::default()).expect("derives")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, table, stages, command_line, scaling);
criterion_main!(benches);
