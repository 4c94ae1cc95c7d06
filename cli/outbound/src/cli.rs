//! The command line (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Operate an outbound voice campaign of a deployment of the module: load contact lists, watch,
/// stop and resume, fetch the results and an HTML report, manage the do-not-call list.
///
/// The deployment's names come from `terraform output -json` (in --terraform-dir), from a file
/// (--outputs) or from flags; credentials and region from the AWS SDK's default chain.
#[derive(Debug, Parser)]
#[command(name = "outbound", version)]
pub struct Cli {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the deployment is and how to reach AWS.
#[derive(Debug, Args, Clone, Default)]
pub struct DeploymentArgs {
    /// Directory where `terraform output -json` gives the deployment's outputs.
    #[arg(
        long,
        global = true,
        default_value = ".",
        env = "OUTBOUND_TERRAFORM_DIR"
    )]
    pub terraform_dir: PathBuf,
    /// A file holding the outputs (`terraform output -json > outputs.json`), read instead of
    /// running terraform.
    #[arg(long, global = true, env = "OUTBOUND_OUTPUTS")]
    pub outputs: Option<PathBuf>,
    /// AWS region (default: the SDK's chain, AWS_REGION or the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint for every AWS service (the local stack); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// The input bucket (overrides the output `input_bucket_name`).
    #[arg(long, global = true)]
    pub input_bucket: Option<String>,
    /// The results bucket (overrides `results_bucket_name`).
    #[arg(long, global = true)]
    pub results_bucket: Option<String>,
    /// The campaign ledger table (overrides `campaign_ledger_table_name`).
    #[arg(long, global = true)]
    pub ledger_table: Option<String>,
    /// The contact queue's URL (overrides `queue_url`).
    #[arg(long, global = true)]
    pub queue_url: Option<String>,
    /// The dialer state machine (overrides `state_machine_arn`).
    #[arg(long, global = true)]
    pub state_machine_arn: Option<String>,
    /// The SSM parameter prefix (overrides `ssm_prefix`).
    #[arg(long, global = true)]
    pub ssm_prefix: Option<String>,
    /// The KMS HMAC key of contact keys (overrides `contact_key_kms_key_arn`).
    #[arg(long, global = true)]
    pub contact_key_kms_key_arn: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a contact list with the intake's own parser, then upload it to start (or join) a
    /// campaign.
    Upload(UploadArgs),
    /// How a campaign is going: loaded, due, deferred, dialing, final by reason, pace, finish.
    Status(StatusArgs),
    /// Stop dialing: every lane ends after its current call (activeBlaster = False).
    Stop,
    /// Resume dialing (activeBlaster = True) and start a run if none is running.
    Resume,
    /// A campaign's results records merged into one JSON Lines (or CSV) file.
    Results(ResultsArgs),
    /// A self-contained HTML report of a campaign (charts as inline SVG).
    Report(ReportArgs),
    /// The do-not-call list.
    #[command(subcommand)]
    Dnc(DncCommand),
    /// A campaign's schedule: show it, or set its start and end (RFC 3339), or clear it.
    Schedule(ScheduleArgs),
    /// The plan load-list wrote for a campaign's latest file (or --file's): loaded, rejected,
    /// do-not-call hits, callable now and deferred, the estimated finish against the end.
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The campaign.
    pub campaign: String,
    /// The uploaded file whose plan to show (its object key, or its file name); default: the
    /// campaign's latest plan.
    #[arg(long)]
    pub file: Option<String>,
    /// Print the plan's JSON instead of its text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The campaign.
    pub campaign: String,
    /// The first moment calls may be placed (RFC 3339 with an offset, `2026-12-08T09:00:00-05:00`),
    /// or `none` to remove the start. Not given: the stored start is kept.
    #[arg(long, allow_hyphen_values = true)]
    pub start: Option<String>,
    /// When the campaign ends: contacts still due then are made final as `campaign_ended`
    /// (RFC 3339 with an offset), or `none` to remove the end. Not given: the stored end is kept.
    #[arg(long, allow_hyphen_values = true)]
    pub end: Option<String>,
    /// Remove the schedule: the campaign calls whenever contacts are due.
    #[arg(long, conflicts_with_all = ["start", "end"])]
    pub clear: bool,
    /// Print the schedule as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The CSV contact list (header with custID and phone).
    pub file: PathBuf,
    /// The campaign the list loads into (letters, digits, '-', '_'; at most 64).
    #[arg(long)]
    pub campaign: String,
    /// Only check the file: show the rejects, upload nothing.
    #[arg(long, conflicts_with = "plan_only")]
    pub dry_run: bool,
    /// Upload the file as a dry run (object metadata `dry-run: true`): load-list checks it and
    /// writes its plan, admits nothing and dials nothing; the plan is printed once written.
    #[arg(long)]
    pub plan_only: bool,
    /// With --plan-only: seconds to wait for the plan.
    #[arg(long, default_value_t = 120, requires = "plan_only", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait: u64,
    /// With --plan-only: print the plan's JSON instead of its text.
    #[arg(long, requires = "plan_only")]
    pub json: bool,
    /// Destination countries allowed (ISO codes, `GB,IE`); default: the deployment's
    /// (load-list's ALLOWED_COUNTRIES).
    #[arg(long)]
    pub allowed_countries: Option<String>,
    /// Region of numbers written without `+`; default: the `isocountrycode` parameter.
    #[arg(long)]
    pub default_region: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One campaign (default: every campaign in the ledger).
    #[arg(long)]
    pub campaign: Option<String>,
    /// Refresh until every contact is final (Ctrl-C to leave).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    #[arg(long)]
    pub campaign: String,
    /// CSV instead of JSON Lines.
    #[arg(long)]
    pub csv: bool,
    /// Output file (default: standard output).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long)]
    pub campaign: String,
    /// Output file (default: report-<campaign>.html).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Build the report from a results file written by `outbound results` (JSON Lines) instead
    /// of the results bucket; finals and rejects are then not shown.
    #[arg(long)]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DncCommand {
    /// List numbers as not to be called.
    Add {
        /// Numbers (E.164, or national in the deployment's default region).
        numbers: Vec<String>,
        /// A CSV file with a `phone` column (as a list uploaded under dnc/).
        #[arg(long)]
        file: Option<PathBuf>,
        /// With --file: destination countries (default: the deployment's, as load-list reads
        /// a list uploaded under dnc/).
        #[arg(long, requires = "file")]
        allowed_countries: Option<String>,
    },
    /// Take numbers off the list.
    Remove {
        #[arg(required = true)]
        numbers: Vec<String>,
    },
    /// Whether numbers are listed (exit 0 either way; `listed`/`not listed` per number).
    Check {
        #[arg(required = true)]
        numbers: Vec<String>,
    },
}
