//! Prints, for every row of the classic table, the e-graph's size and why saturation stopped.
fn main() {
    let table = include_str!("../rules/table.txt");
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        let typed = nabla::read(f[2]).expect("row parses");
        let x = typed.variable(f[1]).expect("variable").clone();
        let df = nabla::differentiate::differential(&typed.expr, x.name).expect("differential");
        let raw = nabla::identify::identify(&df, typed.expr.shape, x.shape, Default::default())
            .expect("identify");
        let start = std::time::Instant::now();
        let (out, report) = nabla::simplify::simplify(&raw, Default::default());
        println!(
            "{:24} nodes {:6} iterations {:2} {:>8.2?} {:?} {}",
            f[0],
            report.nodes,
            report.iterations,
            start.elapsed(),
            report.stop,
            out
        );
    }
}
