//! Two things for the WebAssembly build: a stack deep enough for the parser's nesting, and the
//! native table snapshots for the browser tests to compare with.
use std::fmt::Write;
use std::path::Path;

fn main() {
    // WebAssembly's default stack is 1 MiB, which traps at about 800 levels of nesting; the
    // parser accepts 1,000 (`nabla::parse::MAX_DEPTH`), and every stage recurses over the tree.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=-zstack-size=8388608");
    }
    table_snapshots();
}

/// `$OUT_DIR/table_snapshots.rs`: `(row name, snapshot text)` for every `table__*.snap` of the
/// top-level snapshots/ folder, the forms the native tests accept (tests/browser.rs).
fn table_snapshots() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
    println!("cargo:rerun-if-changed={}", folder.display());
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the snapshots folder")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let row = name.strip_prefix("table__")?.strip_suffix(".snap")?;
            Some(row.to_string())
        })
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for name in names {
        let path = folder.join(format!("table__{name}.snap"));
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("table_snapshots.rs");
    std::fs::write(target, out).expect("the snapshot list is written");
}
