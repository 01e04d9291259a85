//! WebAssembly's default stack is 1 MiB, which traps at about 800 levels of nesting; the
//! parser accepts 1,000 (`nabla::parse::MAX_DEPTH`), and every stage recurses over the tree.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=-zstack-size=8388608");
    }
}
