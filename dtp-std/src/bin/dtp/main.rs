//! The `dtp` command: see `dtp --help`. The command line (clap), the progress bar and every
//! printed report live here; the work is done by the `dtp_std` library.

mod cli;
mod commands;
mod int_commands;
mod interrupt;
mod progress;

fn main() -> std::process::ExitCode {
    cli::main()
}
