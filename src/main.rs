fn main() -> std::process::ExitCode {
    raftsim::cli::main()
}
