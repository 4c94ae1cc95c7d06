//! `outbound`: the operator's command line for a deployment of the module. Each subcommand is a
//! module taking the resolved [`deployment::Deployment`] and the AWS [`deployment::Clients`], so
//! the tests run them against moto as the binary does.

pub mod cli;
pub mod control;
pub mod deployment;
pub mod dnc;
pub mod error;
pub mod plan;
pub mod report;
pub mod results;
pub mod schedule;
pub mod status;
pub mod upload;

use cli::{Cli, Command};
use deployment::{Clients, Deployment};
use error::Result;

pub async fn run(cli: Cli) -> Result<()> {
    // A report from a results file needs no deployment and no AWS access.
    if let Command::Report(args) = &cli.command {
        if args.from.is_some() {
            return report::run(args, None, None).await;
        }
    }
    if let Command::Upload(args) = &cli.command {
        if upload::offline(args) {
            return upload::run_offline(args);
        }
    }
    let d = Deployment::resolve(&cli.deployment)?;
    let clients = Clients::new(&cli.deployment).await?;
    match &cli.command {
        Command::Upload(args) => upload::run(args, &d, &clients).await,
        Command::Status(args) => status::run(args, &d, &clients).await,
        Command::Stop => control::stop(&d, &clients).await,
        Command::Resume => control::resume(&d, &clients).await,
        Command::Results(args) => results::run(args, &d, &clients).await,
        Command::Report(args) => report::run(args, Some(&d), Some(&clients)).await,
        Command::Dnc(cmd) => dnc::run(cmd, &d, &clients).await,
        Command::Schedule(args) => schedule::run(args, &d, &clients).await,
        Command::Plan(args) => plan::run(args, &d, &clients).await,
    }
}
