//! `outbound stop` / `outbound resume`: the `activeBlaster` parameter under the deployment's
//! prefix (README, "Operations"). Resume also starts the state machine when no execution runs:
//! the activation rule does it when `start_on_activation` is on, and a second execution is
//! harmless (it finds the run claimed and ends), so starting one is always safe.

use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use aws_sdk_sfn::types::ExecutionStatus;

/// The stop switch's name under the prefix.
pub const ACTIVE_PARAMETER: &str = "activeBlaster";

/// A parameter of the deployment, `None` when it does not exist.
pub async fn parameter(clients: &Clients, d: &Deployment, name: &str) -> Result<Option<String>> {
    let full = d.parameter(name)?;
    match clients.ssm.get_parameter().name(&full).send().await {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(crate::error::aws(&format!("reading {full}"), &e)),
    }
}

async fn set_active(clients: &Clients, d: &Deployment, active: bool) -> Result<String> {
    let name = d.parameter(ACTIVE_PARAMETER)?;
    if parameter(clients, d, ACTIVE_PARAMETER).await?.is_none() {
        return Err(CliError::failure(format!(
            "{name} does not exist: is this the dialer's deployment (check --terraform-dir/--outputs and the region)?"
        )));
    }
    clients
        .ssm
        .put_parameter()
        .name(&name)
        .value(if active { "True" } else { "False" })
        .overwrite(true)
        .send()
        .await
        .map_err(|e| crate::error::aws(&format!("setting {name}"), &e))?;
    Ok(name)
}

pub async fn stop(d: &Deployment, clients: &Clients) -> Result<()> {
    let name = set_active(clients, d, false).await?;
    println!("{name} = False: every lane ends after its current call; undialed contacts wait in the campaign ledger (`outbound resume` to go on)");
    Ok(())
}

/// The running executions of the state machine.
pub async fn running(clients: &Clients, arn: &str) -> Result<Vec<String>> {
    let out = clients
        .sfn
        .list_executions()
        .state_machine_arn(arn)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .map_err(|e| crate::error::aws("listing the state machine's executions", &e))?;
    Ok(out
        .executions()
        .iter()
        .map(|e| e.name().to_string())
        .collect())
}

pub async fn resume(d: &Deployment, clients: &Clients) -> Result<()> {
    let name = set_active(clients, d, true).await?;
    println!("{name} = True");
    let arn = Deployment::need(
        &d.state_machine_arn,
        "state_machine_arn",
        "state-machine-arn",
    )?;
    let runs = running(clients, arn).await?;
    if !runs.is_empty() {
        println!(
            "a run is in progress ({}): it dials on at its next wave",
            runs.join(", ")
        );
        return Ok(());
    }
    let out = clients
        .sfn
        .start_execution()
        .state_machine_arn(arn)
        // The input the activation rule gives (events.tf): a new run, nothing else.
        .input("{}")
        .send()
        .await
        .map_err(|e| crate::error::aws("starting the state machine", &e))?;
    println!("started a run: {}", out.execution_arn());
    Ok(())
}
