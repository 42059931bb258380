//! The command line as DESIGN §8 fixes it, in clap's derive form: every flag documented here is
//! what `--help` shows.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// plera: LinkedIn + email outreach sequences on an event-sourced engine.
///
/// Every subcommand works on one database (--db) and prints tables and progress on stderr; with
/// --json, stdout carries the machine-readable result and nothing else. Logs go to stderr, filtered
/// by RUST_LOG (e.g. RUST_LOG=info or RUST_LOG=plera_actors=debug).
///
/// Exit codes: 0 success, 1 an invariant does not hold (audit, simulate), 2 bad input or failure.
#[derive(Debug, Parser)]
#[command(name = "plera", version, propagate_version = true)]
pub struct Cli {
    /// Database URL: sqlite://PATH (the file is created when missing), sqlite::memory:, or
    /// postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "sqlite://plera.db"
    )]
    pub db: String,

    /// Machine output: the result as JSON on stdout and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the deterministic simulation (the real engine against a simulated LinkedIn and
    /// mailbox, on a virtual clock) into the database, then audit it.
    Simulate(SimulateArgs),
    /// Check the invariants of the event log (limits, working hours, pauses, stop on reply,
    /// messages only to connections, no double sends, note lengths) and of the views (every
    /// reply once in the inbox, views equal to their rebuild); exit 1 on any violation.
    Audit(AuditArgs),
    /// Write the whole event log to stdout in global order.
    Export(ExportArgs),
    /// Rebuild every projection (inbox, senders, funnels) from position 0 of the log.
    Replay(ReplayArgs),
    /// Show the unified inbox: one thread per lead and sender, both channels, newest first.
    Inbox(InboxArgs),
    /// Show the senders: status, pause reason, today's use against each limit.
    Accounts(AccountsArgs),
    /// Show each campaign's funnel per step: started, invited, accepted, messaged, emailed,
    /// replied, stopped by a reply.
    Funnel(FunnelArgs),
    /// Run the engine against a real provider as plera.toml describes it (senders, mailboxes,
    /// campaigns, webhook endpoint), on the system clock, until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
}

/// `plera simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Seed of everything drawn: the company, the leads' behaviour, faults and crashes. The same
    /// seed and flags give the same event log, byte for byte.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// Simulated days to run (from Monday 2 March 2026, 00:00 UTC).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,

    /// Leads to enroll, spread over the first days (up to a week).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub leads: u32,

    /// LinkedIn sender accounts (mixed tiers, time zones and working hours); every sender serves
    /// at least two campaigns.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub accounts: u32,

    /// Share of sends (0 to 1) that fail like a flaky provider: half answer 5xx having done
    /// nothing, half do the action and time out (the engine must reconcile, never resend).
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = parse_share)]
    pub faults: f64,

    /// How many times the engine crashes mid-step (at instants drawn from the seed) and is
    /// rebuilt from the log, the store reopened.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub crashes: u32,

    /// Engine instances sharing the database, each with its own actor system and connections;
    /// senders are spread over them by leases. More than one needs PostgreSQL (`--db
    /// postgres://...`). With `--crashes`, a crash kills one node, which stays down for a while
    /// (its senders move to the others once their leases lapse) and then rejoins.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub nodes: u32,

    /// Write the simulated provider's record of every action it really performed to PATH, as
    /// JSON lines { at, account_id, lead_id, action, key, ... }.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,

    /// Put the wire between the engine and the simulated world: the world is served on
    /// 127.0.0.1 as the provider's HTTP API and an SMTP relay, the engine uses its HTTP and
    /// SMTP clients, and notifications come back as webhook POSTs.
    #[arg(long)]
    pub via_http: bool,

    /// Start from an empty database: a SQLite file is deleted (with its -wal and -shm files)
    /// and recreated; on PostgreSQL plera's tables are dropped and created again (other tables
    /// are left alone). Without it, a database that already holds events is refused.
    #[arg(long)]
    pub reset: bool,
}

/// `plera serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file: provider, webhook endpoint, SMTP, mailboxes, senders,
    /// campaigns (examples/plera.toml is a commented sample). A bad file is refused with a
    /// one-line error naming the setting.
    #[arg(long, value_name = "PATH", default_value = "plera.toml")]
    pub config: PathBuf,
}

/// `plera audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Also check the provider's ledger (written by `simulate --ledger`): no action performed
    /// twice, all within limits and working hours, every action recorded in the log and every
    /// recorded send performed.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
}

/// `plera export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// jsonl: one JSON object per line { position, aggregate_type, aggregate_id, sequence,
    /// event_type, event_version, payload }; csv: the same columns with a header, the payload as
    /// a JSON string.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
}

/// How `plera export` writes the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// JSON lines.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `plera replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {}

/// `plera inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Only the threads of this sender account.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// Only threads with unread messages.
    #[arg(long)]
    pub unread: bool,

    /// At most N threads, newest first.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

/// `plera accounts`.
#[derive(Debug, Args)]
pub struct AccountsArgs {}

/// `plera funnel`.
#[derive(Debug, Args)]
pub struct FunnelArgs {}

/// A share between 0 and 1.
fn parse_share(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["plera", "--json", "audit", "--db", "sqlite://x.db"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.db, "sqlite://x.db");
        assert!(matches!(
            cli.command,
            Command::Audit(AuditArgs { ledger: None })
        ));
    }

    #[test]
    fn simulate_has_its_defaults_and_refuses_bad_values() {
        let cli = Cli::try_parse_from(["plera", "simulate"]).unwrap();
        let Command::Simulate(args) = cli.command else {
            panic!("simulate expected");
        };
        assert_eq!(
            (args.seed, args.days, args.leads, args.accounts),
            (7, 30, 2000, 8)
        );
        assert_eq!(cli.db, "sqlite://plera.db");
        for bad in [
            vec!["--faults", "1.5"],
            vec!["--faults", "x"],
            vec!["--days", "0"],
            vec!["--accounts", "0"],
            vec!["--bogus"],
        ] {
            let mut argv = vec!["plera", "simulate"];
            argv.extend(bad.iter());
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn export_formats_are_jsonl_and_csv_only() {
        let cli = Cli::try_parse_from(["plera", "export", "--format", "csv"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Export(ExportArgs {
                format: ExportFormat::Csv
            })
        ));
        assert!(Cli::try_parse_from(["plera", "export", "--format", "xml"]).is_err());
    }
}
