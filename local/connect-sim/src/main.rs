//! `connect-sim`: the Amazon Connect simulator of the local stack (test infrastructure only).

use connect_sim::config::SimConfig;
use connect_sim::server::{self, App};
use serde_json::{json, Value};
use std::process::ExitCode;

const HELP: &str = "\
connect-sim - Amazon Connect simulator for the LOCAL STACK.
TEST INFRASTRUCTURE ONLY: never deploy it, never point real traffic at it.

Serves on 127.0.0.1 the Connect REST-JSON operations the functions call
(StartOutboundVoiceContact, DescribeContact, DescribeQueue, DescribeHoursOfOperation,
GetContactAttributes, StopContact) for AWS_ENDPOINT_URL_CONNECT, simulates each call and
sends its Amazon Connect Contact Event to EventBridge (moto) with PutEvents.
Control API on the same port under /_sim/ (see local/connect-sim/README.md).

USAGE: connect-sim [OPTIONS]
  --port N              port on 127.0.0.1 (default 5050; 0 = any free port)
  --events-endpoint URL EventBridge endpoint for PutEvents, e.g. http://127.0.0.1:5000
  --config FILE         JSON configuration merged over the defaults (same keys as /_sim/config)
  --seed N              seed of every draw (default 42)
  --time-scale X        real seconds per simulated second (default 1; 0.05 = 20x faster)
  --quota-rate X        StartOutboundVoiceContact calls/s (default 2; 0 = no quota)
  --quota-burst N       quota burst (default 5)
  --region R            region in ARNs and PutEvents (default us-east-1)
  --account-id A        account in ARNs (default 123456789012)
  --instance-id ID      answer ResourceNotFoundException for other instance ids
  --ready-file PATH     write {\"endpoint\":...,\"port\":...} there once listening
  --stats-file PATH     write the final /_sim/stats there on shutdown
  --verbose             one line per placed call on stderr
  -h, --help            this text
";

struct Args {
    port: u16,
    patch: serde_json::Map<String, Value>,
    config_file: Option<String>,
    ready_file: Option<String>,
    stats_file: Option<String>,
    verbose: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        port: 5050,
        patch: serde_json::Map::new(),
        config_file: None,
        ready_file: None,
        stats_file: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| -> Result<Value, String> {
            v.parse::<f64>()
                .map(|n| json!(n))
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                let v = value("--port")?;
                args.port = v.parse().map_err(|_| format!("--port: not a port: {v}"))?;
            }
            "--events-endpoint" => {
                args.patch
                    .insert("eventsEndpoint".into(), json!(value("--events-endpoint")?));
            }
            "--config" => args.config_file = Some(value("--config")?),
            "--seed" => {
                let v = value("--seed")?;
                let seed: u64 = v
                    .parse()
                    .map_err(|_| format!("--seed: not an integer: {v}"))?;
                args.patch.insert("seed".into(), json!(seed));
            }
            "--time-scale" => {
                let v = number("--time-scale", value("--time-scale")?)?;
                args.patch.insert("timeScale".into(), v);
            }
            "--quota-rate" => {
                let v = number("--quota-rate", value("--quota-rate")?)?;
                args.patch.insert("quotaRate".into(), v);
            }
            "--quota-burst" => {
                let v = number("--quota-burst", value("--quota-burst")?)?;
                args.patch.insert("quotaBurst".into(), v);
            }
            "--region" => {
                args.patch
                    .insert("region".into(), json!(value("--region")?));
            }
            "--account-id" => {
                args.patch
                    .insert("accountId".into(), json!(value("--account-id")?));
            }
            "--instance-id" => {
                args.patch
                    .insert("instanceId".into(), json!(value("--instance-id")?));
            }
            "--ready-file" => args.ready_file = Some(value("--ready-file")?),
            "--stats-file" => args.stats_file = Some(value("--stats-file")?),
            "--verbose" => args.verbose = true,
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    Ok(Some(args))
}

/// Defaults, then the --config file, then the individual flags.
fn build_config(args: &Args) -> Result<SimConfig, String> {
    let mut config = SimConfig::default();
    if let Some(path) = &args.config_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--config {path}: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("--config {path}: {e}"))?;
        config = config
            .merged(&v)
            .map_err(|e| format!("--config {path}: {e}"))?;
    }
    config.merged(&Value::Object(args.patch.clone()))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("connect-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match build_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect-sim: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("connect-sim: cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::from(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    let endpoint = format!("http://127.0.0.1:{port}");
    if config.events_endpoint.is_none() {
        eprintln!("connect-sim: no --events-endpoint: contact events are not delivered");
    }
    let app = App::new(config, args.verbose);
    if let Some(path) = &args.ready_file {
        let ready = json!({"endpoint": endpoint, "port": port, "pid": std::process::id()});
        // Write then rename, so a script polling the file never reads half of it.
        let tmp = format!("{path}.tmp");
        if let Err(e) =
            std::fs::write(&tmp, ready.to_string()).and_then(|_| std::fs::rename(&tmp, path))
        {
            eprintln!("connect-sim: cannot write {path}: {e}");
            return ExitCode::from(1);
        }
    }
    println!("connect-sim ready on {endpoint} (test infrastructure only)");
    if let Err(e) = server::serve(app.clone(), listener, shutdown_signal()).await {
        eprintln!("connect-sim: server error: {e}");
        return ExitCode::from(1);
    }
    if let Some(path) = &args.stats_file {
        if let Err(e) = std::fs::write(path, app.stats().to_string()) {
            eprintln!("connect-sim: cannot write {path}: {e}");
        }
    }
    eprintln!("connect-sim: stopped");
    ExitCode::SUCCESS
}
