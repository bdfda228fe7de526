fn main() -> std::process::ExitCode {
    scim_bridge::cli::main()
}
