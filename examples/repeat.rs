//! One problem derived N times on this thread, for profiling (`valgrind --tool=callgrind`
//! counts its instructions repeatably; N runs less one run is the cost of N - 1 derivations):
//! `cargo run --release --example repeat -- VAR INPUT [N]` prints the derivative, and with
//! TIME set, the median times of the derivation and of printing it.
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (wrt, input) = (&args[1], &args[2]);
    let n: usize = args.get(3).map_or(1, |s| s.parse().unwrap());
    let opts = Default::default();
    let mut out = String::new();
    let (mut derive, mut print) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let start = Instant::now();
        let d = nabla::diff_on_current_thread(input, wrt, &opts);
        let mid = Instant::now();
        out = match d {
            Ok(d) => d.format(nabla::Format::Text),
            Err(e) => format!("error: {e}"),
        };
        print.push(mid.elapsed());
        derive.push(mid - start);
    }
    derive.sort();
    print.sort();
    println!("{out}");
    if std::env::var("TIME").is_ok() {
        eprintln!("derive {:?}  print {:?}", derive[n / 2], print[n / 2]);
    }
}
