//! The `plera` command line (DESIGN §8): argument parsing, logging, the async runtime, and one
//! module per subcommand. `main` turns every failure into one line on stderr and an exit code.

mod accounts;
pub mod args;
mod audit;
mod db;
pub mod error;
mod export;
mod funnel;
mod inbox;
mod output;
mod replay;
mod serve;
mod simulate;
mod views;

pub use args::Cli;
pub use error::CliError;

use clap::Parser;
use std::process::ExitCode;

use args::Command;
use output::Output;

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Done; every invariant checked holds.
    Ok,
    /// Done, and an invariant does not hold (exit code 1).
    InvariantBroken,
}

/// Exit code of a failure (bad input, unreachable database, I/O); clap uses it for usage errors.
const FAILURE: u8 = 2;

/// The `plera` binary: parses the arguments, runs the command, maps the outcome to an exit code
/// (0 success, 1 an invariant broken, 2 bad input or failure).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&CliError::Runtime(e.to_string())),
    };
    match runtime.block_on(run(&cli)) {
        Ok(Finished::Ok) => ExitCode::SUCCESS,
        Ok(Finished::InvariantBroken) => ExitCode::from(1),
        Err(e) => fail(&e),
    }
}

/// Runs a parsed command line.
pub async fn run(cli: &Cli) -> Result<Finished, CliError> {
    let out = Output { json: cli.json };
    let url = cli.db.as_str();
    match &cli.command {
        Command::Simulate(args) => simulate::run(url, args, out).await,
        Command::Audit(args) => audit::run(url, args, out).await,
        Command::Export(args) => export::run(url, args, out).await,
        Command::Replay(args) => replay::run(url, args, out).await,
        Command::Inbox(args) => inbox::run(url, args, out).await,
        Command::Accounts(args) => accounts::run(url, args, out).await,
        Command::Funnel(args) => funnel::run(url, args, out).await,
        Command::Serve(args) => serve::run(url, args, out).await,
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("error: {}", e.one_line());
    ExitCode::from(FAILURE)
}

/// Help and version print as clap renders them; a usage error is squeezed onto one line.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(FAILURE)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("{line} (see --help)");
    ExitCode::from(FAILURE)
}

/// Logs to stderr, filtered by `RUST_LOG` (warnings only by default). By default actix's
/// connection-level errors stay quiet: they are a client that went away (or, in `simulate
/// --via-http --faults`, the sandbox dropping answers on purpose), nothing to act on.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,actix_http::h1::dispatcher=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
