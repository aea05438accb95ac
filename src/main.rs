fn main() {
    std::process::exit(funnel::cli::run());
}
