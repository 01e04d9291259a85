fn main() {
    std::process::exit(nabla::cli::run());
}
