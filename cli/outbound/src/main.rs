//! `outbound`: the operator's command line. Everything is in the library (`lib.rs`); this only
//! parses the arguments and turns the outcome into an exit code (0 ok, 1 failure, 2 usage).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = outbound::cli::Cli::parse();
    match outbound::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outbound: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}
