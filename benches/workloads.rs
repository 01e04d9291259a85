//! Inputs shared by the benchmarks and the timing report: the classic table and the three
//! scaling families of the issue (deep network, sum of quadratic forms, trace of a product chain).

/// A table row: name, variable (`x` or `x,y`), input.
pub struct Row {
    pub name: String,
    pub wrt: String,
    pub input: String,
}

/// Every row of rules/table.txt.
pub fn table() -> Vec<Row> {
    (include_str!("../rules/table.txt").lines())
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            Row {
                name: f[0].into(),
                wrt: f[1].into(),
                input: f[2].into(),
            }
        })
        .collect()
}

/// The options and variable of a row.
pub fn options(wrt: &str) -> (&str, nabla::Options) {
    match wrt.split_once(',') {
        Some((x, y)) => (
            x,
            nabla::Options {
                second: Some(y.into()),
                ..Default::default()
            },
        ),
        None => (wrt, nabla::Options::default()),
    }
}

/// sum(tanh(W_L*tanh(...tanh(W_1*x + b_1)...) + b_L)), by W1.
pub fn network(layers: usize) -> String {
    let mut decls = String::from("x: R^n; ");
    let mut e = String::from("x");
    for i in 1..=layers {
        decls.push_str(&format!("W{i}: R^(n x n); b{i}: R^n; "));
        e = format!("tanh(W{i}*{e} + b{i})");
    }
    format!("{decls}sum({e})")
}

/// x'*A_1*x + ... + x'*A_k*x, by x.
pub fn quadratic_forms(k: usize) -> String {
    let decls: String = (1..=k).map(|i| format!("A{i}: R^(n x n); ")).collect();
    let terms: Vec<String> = (1..=k).map(|i| format!("x'*A{i}*x")).collect();
    format!("x: R^n; {decls}{}", terms.join(" + "))
}

/// tr(A_1*X*A_2*X*...*A_k*X), by X.
pub fn product_chain(k: usize) -> String {
    let decls: String = (1..=k).map(|i| format!("A{i}: R^(n x n); ")).collect();
    let factors: Vec<String> = (1..=k).map(|i| format!("A{i}*X")).collect();
    format!("X: R^(n x n); {decls}tr({})", factors.join("*"))
}

/// A scaling family: inputs of growing size k.
pub struct Family {
    pub name: &'static str,
    pub make: fn(usize) -> String,
    pub wrt: &'static str,
    pub sizes: &'static [usize],
}

/// The three scaling families of the benchmarks.
pub fn families() -> [Family; 3] {
    [
        Family {
            name: "network",
            make: network,
            wrt: "W1",
            sizes: &[1, 2, 4, 8, 16, 32],
        },
        Family {
            name: "quadratic-forms",
            make: quadratic_forms,
            wrt: "x",
            sizes: &[1, 4, 16, 64, 256],
        },
        Family {
            name: "product-chain",
            make: product_chain,
            wrt: "X",
            sizes: &[1, 2, 4, 8, 16, 32],
        },
    ]
}

/// The median of `runs` timings of `work`.
pub fn median(runs: usize, mut work: impl FnMut()) -> std::time::Duration {
    let mut times: Vec<std::time::Duration> = (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// A duration in whole microseconds, for reports.
pub fn micros(d: std::time::Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}
