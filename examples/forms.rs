//! Every printed form, one line each: the derivative (or the error) of every table row and of
//! the 10,000 generated problems (benches/problems.txt). A change meant only to be faster must
//! leave the output as it was: `cargo run --release --example forms > before.txt`, again after
//! the change, then `cmp` the two.
fn main() {
    let table = include_str!("../rules/table.txt");
    let mut problems = Vec::new();
    for l in table.lines() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split('|').map(str::trim).collect();
        problems.push(nabla::Problem {
            wrt: f[1].into(),
            input: f[2].into(),
        });
    }
    for l in include_str!("../benches/problems.txt").lines() {
        if let Ok(p) = nabla::Problem::from_line(l) {
            problems.push(p);
        }
    }
    for chunk in problems.chunks(64) {
        for r in nabla::diff_batch(chunk, &Default::default()) {
            match r {
                Ok(d) => println!("{}", d.format(nabla::Format::Text).replace('\n', " ; ")),
                Err(e) => println!("error: {}", e.to_string().replace('\n', " ; ")),
            }
        }
    }
}
