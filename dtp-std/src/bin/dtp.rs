//! The `dtp` command: see `dtp --help` and [`dtp_std::cli`].

fn main() -> std::process::ExitCode {
    dtp_std::cli::main()
}
