//! The command line: clap subcommands that call the app layer and print tables, CSV or JSON.

mod agenda;
mod clv;
mod config;
mod demo;
mod export;
mod forecast;
mod import;
mod migrate;
mod needs;
mod outfile;
mod output;
mod pipeline;
mod plan;
mod progress;
mod recommend;
mod recompute;
pub mod report;
mod rows;
mod rules;
mod safety;
mod score;
mod segments;
pub mod targets;

use crate::app::{self, AppError, ImportRequest};
use crate::domain::audit::Actor;
use crate::domain::import::ImportKind;
use crate::domain::{Cell, Money, Table};
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use output::Format;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "funnel",
    version,
    about = "A keyboard-driven sales CRM for the terminal"
)]
pub struct Cli {
    /// The database file (else $FUNNEL_DB, else funnel.db in the platform data directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output format for anything that prints data (default: table on a terminal, else csv).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// TUI theme: dark, light, high-contrast, or one of yours in the config dir's themes/.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Treat this date (YYYY-MM-DD) as today: reports, targets and forecasts as of then.
    #[arg(long, global = true, value_name = "DATE", env = "FUNNEL_TODAY")]
    pub today: Option<String>,
    /// The encryption key of an encrypted database: the first line of FILE, which only its
    /// owner may read (else $FUNNEL_KEY, else asked for on a terminal).
    #[arg(long, global = true, value_name = "FILE", env = "FUNNEL_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A row `funnel delete` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RowKind {
    Customer,
    Contact,
    Deal,
    Activity,
}

impl RowKind {
    fn entity(self) -> app::Entity {
        match self {
            RowKind::Customer => app::Entity::Customer,
            RowKind::Contact => app::Entity::Contact,
            RowKind::Deal => app::Entity::Deal,
            RowKind::Activity => app::Entity::Activity,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fill the database with realistic, deterministic demo data.
    Demo {
        /// Seed of the generator: the same seed and --as-of give the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// How many customers.
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        /// How many deals (open, won and lost).
        #[arg(long, default_value_t = 10000)]
        deals: usize,
        /// Months of history up to --as-of.
        #[arg(long, default_value_t = 36)]
        months: u32,
        /// Replace the data in a non-empty database.
        #[arg(long)]
        force: bool,
        /// Last day of the generated history, YYYY-MM-DD (default: today).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
    },
    /// Import a CSV file (KIND: customers, contacts, deals, activities, orders, targets,
    /// teams, reps, products, stages, stage_changes), or `import revert BATCH` to undo one.
    Import {
        /// customers, contacts, deals, activities, orders, targets, teams, reps, products,
        /// stages, stage_changes, or revert
        #[arg(value_parser = import_kinds())]
        kind: String,
        /// The CSV file (or, after `revert`, the batch number).
        file: String,
        /// A TOML mapping of columns and values (see README).
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Report what would be inserted, updated and rejected; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the good rows and report the bad ones.
        #[arg(long)]
        skip_invalid: bool,
        /// Create customers, reps, products and stages the file names but the database lacks.
        #[arg(long)]
        create_missing: bool,
        /// How dates are written: dmy, mdy, iso, or a strftime pattern such as %d.%m.%Y.
        #[arg(long, value_name = "FMT")]
        date_format: Option<String>,
        /// Round amounts with more than two decimals to the cent (else such rows are refused).
        #[arg(long)]
        round: bool,
        /// On an update, what an empty cell does to the stored value: keeps it (default) or
        /// clears it. A column the file does not have never changes anything.
        #[arg(long, value_name = "keeps|clears", value_parser = ["keeps", "clears"], default_value = "keeps")]
        blank: String,
        /// With `revert`: also remove the rows written later that hang on the batch's rows
        /// (their links cleared where they only point at them); each is audited, and a
        /// backup is written first.
        #[arg(long)]
        cascade: bool,
    },
    /// Export an entity as CSV (re-importable) or JSON.
    Export {
        /// customers, contacts, deals, activities, orders, targets, teams, reps, products,
        /// stages, stage_changes, target_revisions, import_batches, audit_log
        #[arg(value_parser = PossibleValuesParser::new(app::EXPORT_KINDS.iter().copied()))]
        kind: String,
        /// Write to this file instead of standard output (never over the database, through
        /// a symlink, or over an existing file without --force; mode 0600).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        /// Write cells that begin with =, +, -, @, tab or carriage return as they are
        /// (by default they get a leading ' so a spreadsheet shows them as text; import
        /// removes it again).
        #[arg(long)]
        raw: bool,
    },
    /// The funnel by stage: deals, value and weighted value, its analysis and the pipeline
    /// forecast (Monte Carlo P10–P50–P90).
    Pipeline {
        /// Check the simulation on history instead: at each of the last 24 month starts,
        /// simulate the pipeline as it stood that morning and see where the month's actual
        /// revenue from it fell (share inside P10–P90, pinball loss).
        #[arg(long)]
        backtest: bool,
    },
    /// Encrypt the database (SQLCipher, AES-256) with the key from --key-file, $FUNNEL_KEY or
    /// a prompt. In place (refused while another funnel has it open), or into --output.
    Encrypt {
        /// Write an encrypted copy here instead; the database stays as it is.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Decrypt an encrypted database (its key as for any command). In place, or into --output.
    Decrypt {
        /// Write a plain copy here instead; the database stays as it is.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a verified copy of the database to FILE (safe while the TUI or others write;
    /// encrypted with the same key when the database is).
    Backup {
        /// The new file (never replaced).
        file: PathBuf,
    },
    /// Replace the database with the backup FILE, after checking it; the current contents
    /// are kept beside the database first.
    Restore {
        /// A backup made with `funnel backup`.
        file: PathBuf,
    },
    /// Check the database: integrity, foreign keys, the WAL, the ledger, the stage history.
    Doctor,
    /// Copy a whole database between a SQLite file and PostgreSQL (either way), every table
    /// with its audit trail, verified by counts and sums before it is kept.
    Migrate {
        /// The database to copy: a SQLite file or postgres://user@host:port/dbname.
        #[arg(long, value_name = "DB")]
        from: String,
        /// Where to: a new (or empty) SQLite file, or an empty PostgreSQL database.
        #[arg(long, value_name = "DB")]
        to: String,
    },
    /// The audit trail, newest first: who changed what, when (JSON adds before and after).
    Audit {
        /// Only this entity (customer, deal, team, …, or database for whole-database events).
        #[arg(long, value_parser = audit_entities())]
        entity: Option<String>,
        /// Only entries at or after this date (YYYY-MM-DD) or time.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only entries by this OS account (or display name).
        #[arg(long)]
        user: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Delete a customer, contact, deal or activity with what belongs to it (a customer's
    /// contacts, deals, activities and orders; a deal's stage history and order), every row
    /// audited. Without --yes nothing is written: it says what would go.
    Delete {
        /// What to delete.
        #[arg(value_enum)]
        kind: RowKind,
        /// The row: its external id (C-000012, D-0005225, …), its name (customers,
        /// contacts, deals) or its row id.
        row: String,
        /// Delete even when the revenue ledger holds its orders (their revenue leaves
        /// targets, forecasts and reports).
        #[arg(long)]
        force: bool,
        /// Delete; without it nothing is written.
        #[arg(long)]
        yes: bool,
    },
    /// Merge customer GONE into customer KEEP: GONE's contacts, deals, activities and
    /// orders move to KEEP, fields KEEP leaves empty take GONE's values, GONE is deleted;
    /// every row audited. Without --yes nothing is written: it says what would happen.
    Merge {
        /// The customer that stays (external id, name or row id).
        keep: String,
        /// The customer merged into it and deleted.
        gone: String,
        /// Merge; without it nothing is written.
        #[arg(long)]
        yes: bool,
    },
    /// Revenue forecasts. With --series FILE: forecasts a long-format CSV of monthly
    /// series (series,period,value) and prints series,period,forecast,lo,hi,model.
    Forecast {
        /// `accuracy`: stored forecasts against what happened (MASE, WAPE per run).
        #[arg(value_parser = ["accuracy"])]
        what: Option<String>,
        /// A CSV of monthly series: series,period (YYYY-MM),value.
        #[arg(long, value_name = "FILE")]
        series: Option<PathBuf>,
        /// Break the database's won revenue down by company (default), team, rep or product.
        #[arg(long, value_parser = forecast::parse_level)]
        by: Option<crate::app::forecast::Level>,
        /// month (default) or quarter.
        #[arg(long, value_parser = ["month", "quarter"])]
        period: Option<String>,
        /// Periods to forecast (default 12 months or 4 quarters).
        #[arg(long)]
        horizon: Option<usize>,
        /// auto (the mean of automatic ETS, automatic ARIMA and Theta, with a
        /// seasonal-naive safeguard), ets, arima, theta, regression, damped-holt, ses,
        /// seasonal-naive or naive.
        #[arg(long, default_value = "auto", value_parser = forecast::parse_method)]
        method: crate::app::forecast::Method,
    },
    /// Follow-ups due and overdue, and customers past their contact interval, for you (the
    /// rep in config.toml or $FUNNEL_REP), a rep, a team or everyone; `--format ics` for a
    /// calendar; `done`, `snooze`, `reassign` an activity (audited).
    Agenda {
        #[command(subcommand)]
        action: Option<agenda::AgendaAction>,
        /// A rep's agenda (by name).
        #[arg(long, global = false)]
        rep: Option<String>,
        /// A team's agenda (its reps and the teams under it).
        #[arg(long)]
        team: Option<String>,
        /// Everyone's agenda.
        #[arg(long)]
        all: bool,
        /// Only what is overdue (due before today).
        #[arg(long)]
        overdue: bool,
        /// How many days ahead (default 7).
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
    /// A rep's visits and calls for the next working days, drawn by visit probability (a
    /// softmax of each customer's explained priority score), or `--scores` for every
    /// customer's score, probability and reasons.
    Plan {
        #[command(subcommand)]
        action: Option<plan::PlanAction>,
        /// The rep (default: the rep in config.toml or $FUNNEL_REP).
        #[arg(long)]
        rep: Option<String>,
        /// Working days to plan (default 5).
        #[arg(long, default_value_t = 5)]
        days: usize,
        /// Contacts a day (default 4 × the rep's capacity).
        #[arg(long)]
        per_day: Option<usize>,
        /// The softmax temperature (default 5; 0 spreads visits evenly).
        #[arg(long)]
        alpha: Option<f64>,
        /// The draw's seed (the same seed, the same plan).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The top scores instead of a draw.
        #[arg(long)]
        greedy: bool,
        /// Every customer's score, probability and reasons instead of a plan.
        #[arg(long)]
        scores: bool,
        /// Save the plan, to compare it later with what was done (`funnel plan review`).
        #[arg(long, conflicts_with = "scores")]
        save: bool,
    },
    /// Automation rules (rules.toml in the config directory): `run` them (for cron;
    /// idempotent, each action audited with its rule), `list` them with their last runs,
    /// and the `alerts` they raised.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    /// Targets: list with attainment, set, revise, propose.
    Targets {
        #[command(subcommand)]
        command: targets::TargetsCommand,
    },
    /// Reports: `--list` names them; NAME runs one (table, CSV, JSON or Markdown).
    Report {
        /// The report to run (see --list).
        name: Option<String>,
        /// List the reports.
        #[arg(long)]
        list: bool,
        /// Break down by rep, team, product, region, source or segment.
        #[arg(long, value_name = "FIELD",
              value_parser = PossibleValuesParser::new(app::reports::BREAKDOWNS.iter().copied()))]
        by: Option<String>,
        /// The period for reports about a period (2026-03, 2026-Q1, 2026; default this
        /// quarter).
        #[arg(long)]
        period: Option<String>,
        /// associations: the least share of customers a rule's two products share (0.01).
        #[arg(long, value_name = "SHARE")]
        min_support: Option<f64>,
        /// associations: the least share of the first product's buyers who bought the
        /// second (0.1).
        #[arg(long, value_name = "SHARE")]
        min_confidence: Option<f64>,
        /// associations: what a basket is — the products of a customer (default), or of an
        /// order (a customer's lines on one day).
        #[arg(long, value_parser = PossibleValuesParser::new(["customer", "order"]))]
        per: Option<String>,
    },
    /// Recompute and store the forecasts (company and teams, monthly) and the open deals'
    /// win probabilities, with progress.
    Recompute,
    /// Print a completion script for a shell: bash, zsh, fish, elvish or powershell
    /// (e.g. `funnel completions bash > ~/.local/share/bash-completion/completions/funnel`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), made from these definitions (`funnel man | man -l -`).
    Man,
    /// Where funnel keeps its configuration, and whether config.toml is sound.
    Config {
        /// `path`: the files funnel reads; `check`: report unknown keys and bad values.
        #[arg(value_parser = ["path", "check"])]
        what: String,
    },
    /// Customer segments from the order ledger (recency, frequency, spend, tenure,
    /// breadth; k-means with k by silhouette), stored as a run; `--customer` shows one
    /// customer's segment in every run.
    Segments {
        /// Also repeat the clustering with five seeds and report the lowest adjusted Rand
        /// index between them (and the silhouette of each k tried).
        #[arg(long)]
        evaluate: bool,
        /// A customer (external id, name or row id): its segment history instead.
        #[arg(long, value_name = "CUSTOMER")]
        customer: Option<String>,
    },
    /// Customer lifetime value and churn risk: BG/NBD (repeat purchases, P(alive)) and
    /// Gamma-Gamma (spend) fitted on the order ledger; the customers by predicted value
    /// over the next 365 days, with tiers A/B/C. `--evaluate` fits on the orders up to
    /// --calibration-end and scores the prediction on the days after, up to today.
    Clv {
        /// Evaluate on a time split (needs --calibration-end).
        #[arg(long, requires = "calibration_end")]
        evaluate: bool,
        /// The last day of the calibration period, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", value_parser = clv::parse_day)]
        calibration_end: Option<chrono::NaiveDate>,
        /// How many customers the table lists (CSV and JSON list all).
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// The next products to offer a customer (none it has bought), each with its reason:
    /// association rules and item-to-item similarity over what customers buy, else
    /// popularity. `--evaluate` scores hit rates @3 and @5 on a time split.
    Recommend {
        /// The customer: external id, name or row id.
        customer: Option<String>,
        /// How many products.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Evaluate on a time split (needs --calibration-end).
        #[arg(long, requires = "calibration_end")]
        evaluate: bool,
        /// The last day of the calibration period, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", value_parser = clv::parse_day)]
        calibration_end: Option<chrono::NaiveDate>,
    },
    /// The product family each customer is likely to buy next (within 90 days), from a
    /// decision tree over purchase history, industry, segment, region and recent activity.
    /// With CUSTOMER its ranking and the rule that led to it; `--rules` prints the tree;
    /// `--evaluate` scores it on a time split against popularity and "same as last".
    Needs {
        /// A customer: external id, name or row id.
        customer: Option<String>,
        /// Print the tree as rules.
        #[arg(long)]
        rules: bool,
        /// How many conditions the printed rules go down to.
        #[arg(long, default_value_t = 3)]
        depth: usize,
        /// Evaluate on a time-ordered holdout.
        #[arg(long)]
        evaluate: bool,
    },
    /// Win probability of open deals, learned from closed deals.
    Score {
        #[command(subcommand)]
        action: Option<score::ScoreAction>,
        /// Print the holdout's AUC, Brier score, log loss and reliability table.
        #[arg(long)]
        evaluate: bool,
        /// Explain one open deal (external id or id): each factor's contribution.
        #[arg(long, value_name = "DEAL")]
        explain: Option<String>,
    },
}

/// The kinds `funnel import` takes, and `revert`.
fn import_kinds() -> PossibleValuesParser {
    PossibleValuesParser::new(
        crate::domain::import::ImportKind::ALL
            .iter()
            .map(|k| k.as_str())
            .chain(["revert"]),
    )
}

/// The entities `funnel audit --entity` filters by, and `database` (whole-database events).
fn audit_entities() -> PossibleValuesParser {
    PossibleValuesParser::new(
        crate::domain::audit::ALL_ENTITIES
            .iter()
            .map(|e| e.name())
            .chain(["database"]),
    )
}

/// What a command needs of the database file.
enum Need {
    /// Nothing (`report --list`, `forecast --series FILE`).
    None,
    /// An existing database: a missing file is an error naming the path, never a new,
    /// empty database that would then print empty tables.
    Existing,
    /// May create it (demo, import, setting a target, restore).
    Create,
    /// The TUI: asks before creating one.
    Ask,
}

fn database_need(command: &Option<Command>) -> Need {
    match command {
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => Need::Ask,
        None => Need::Existing,
        Some(Command::Report { list: true, .. })
        | Some(Command::Forecast {
            series: Some(_), ..
        })
        | Some(Command::Completions { .. })
        | Some(Command::Migrate { .. })
        | Some(Command::Man)
        | Some(Command::Config { .. }) => Need::None,
        Some(Command::Import { kind, .. }) if kind != "revert" => Need::Create,
        Some(Command::Demo { .. }) | Some(Command::Restore { .. }) => Need::Create,
        Some(Command::Targets {
            command: targets::TargetsCommand::Set { .. },
        }) => Need::Create,
        Some(_) => Need::Existing,
    }
}

/// Asks on the terminal whether to create a new database at `path` (Enter says yes).
fn confirm_new_database(path: &Path) -> anyhow::Result<bool> {
    use std::io::BufRead;
    eprint!(
        "funnel: there is no database at {}. Create a new one there? [Y/n] ",
        path.display()
    );
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "" | "y" | "yes"
    ))
}

/// The key given for the database: `--key-file` / `$FUNNEL_KEY_FILE`, else `$FUNNEL_KEY`.
fn given_key(key_file: Option<&Path>) -> anyhow::Result<Option<String>> {
    if let Some(f) = key_file {
        return Ok(Some(app::read_key_file(f).map_err(anyhow::Error::msg)?));
    }
    Ok(std::env::var("FUNNEL_KEY").ok().filter(|k| !k.is_empty()))
}

/// Asks for a key on the terminal, without echo; `None` when there is no terminal.
fn prompt_key(prompt: &str) -> anyhow::Result<Option<String>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let key = rpassword::prompt_password(prompt)?;
    if key.is_empty() {
        anyhow::bail!("the key is empty");
    }
    Ok(Some(key))
}

/// A mistake in how a command was called (a flag's value, a flag the command does not
/// use, an argument of the wrong kind): exit status 2, like clap's own usage errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error (exit status 2) with this message.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// Whether the error is the database giving up on a lock after the busy timeout.
fn busy(e: &anyhow::Error) -> bool {
    e.chain().any(crate::app::is_busy)
}

/// Runs the command line; returns the process exit status.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    // Aligned tables fit the terminal they are printed on (piped output is never cut).
    if std::io::stdout().is_terminal() {
        if let Ok((columns, _)) = ratatui::crossterm::terminal::size() {
            output::set_terminal_columns(columns as usize);
        }
    }
    let db_path = app::database_path(cli.db.clone()).ok();
    match execute(cli) {
        Ok(code) => code,
        Err(e) if e.chain().any(|c| c.downcast_ref::<Usage>().is_some()) => {
            eprintln!(
                "funnel: {}",
                crate::domain::table::terminal_safe(&format!("{e:#}"))
            );
            2
        }
        Err(e) if e.chain().any(crate::app::is_corrupt) => {
            // Whatever read hit the damage, no later command may write into the file.
            if let Some(p) = &db_path {
                crate::app::mark_damaged_at(p, &format!("{e:#}"));
            }
            eprintln!(
                "funnel: {}\nfunnel: the database is damaged: writes are refused until `funnel doctor` passes or `funnel restore BACKUP` puts back a backup",
                crate::domain::table::terminal_safe(&format!("{e:#}"))
            );
            1
        }
        // A closed pipe (`funnel export deals | head`) is the reader's choice, not an error.
        // A reader that went away (`funnel export deals | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            0
        }
        Err(e) if busy(&e) => {
            eprintln!(
                "funnel: the database is busy: another funnel has been writing to it for more than {} s; nothing was written, try again",
                crate::app::BUSY_TIMEOUT_SECS
            );
            1
        }
        Err(e) => {
            // Messages quote values from files and the database: printed terminal-safe.
            eprintln!(
                "funnel: {}",
                crate::domain::table::terminal_safe(&format!("{e:#}"))
            );
            1
        }
    }
}

fn default_format(explicit: Option<Format>) -> Format {
    explicit.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Csv
    })
}

/// Opens the database a command needs: asks for the key of an encrypted one, says so
/// before a slow upgrade, refuses a missing file for commands that only read, asks before
/// creating one for the TUI (`None`: the user said no) and uses a throwaway in-memory one
/// for commands that need none.
fn open_database(
    command: &Option<Command>,
    path: &Path,
    given: Option<String>,
) -> anyhow::Result<Option<Box<app::Db>>> {
    // `encrypt` opens the database as it is; the key given is the one to encrypt with.
    if !matches!(command, Some(Command::Encrypt { .. })) {
        let key = match given {
            Some(k) => Some(k),
            None if app::looks_encrypted(path) => {
                prompt_key(&format!("key for {}: ", path.display()))?
            }
            None => None,
        };
        if let Some(k) = key {
            app::set_key(k).map_err(anyhow::Error::msg)?;
        }
    }
    if let Some(v) = app::slow_upgrade_pending(path) {
        eprintln!(
            "funnel: upgrading {} from schema {v}: its tables are rebuilt so that ids are never reused (once; about a minute per million deals)",
            path.display()
        );
    }
    // A server database is created (its schema) when first opened, like a new file.
    let missing =
        !app::migrate::is_url(&path.to_string_lossy()) && std::fs::symlink_metadata(path).is_err();
    let store = match database_need(command) {
        Need::None => app::open_in_memory()?,
        Need::Existing if missing => {
            anyhow::bail!(
                "{}: no such database (give --db PATH or set FUNNEL_DB; `funnel demo` or `funnel import` create one)",
                path.display()
            );
        }
        Need::Ask if missing => {
            if !confirm_new_database(path)? {
                return Ok(None);
            }
            app::open(path)?
        }
        _ => app::open(path)?,
    };
    Ok(Some(store))
}

/// `--today` (or `$FUNNEL_TODAY`; empty is unset): a bad date is a usage error (exit 2).
fn parse_today(flag: Option<&str>) -> anyhow::Result<Option<chrono::NaiveDate>> {
    match flag.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| usage(format!("--today: '{d}' is not a date (YYYY-MM-DD)"))),
    }
}

/// What a command module runs with.
struct Ctx<'a> {
    store: &'a mut app::Db,
    out: &'a mut dyn Write,
    format: Format,
    /// The format asked for with --format, if any (`format` falls back by terminal).
    explicit_format: Option<Format>,
    today: chrono::NaiveDate,
    /// The database's path (for messages and files written beside it).
    path: &'a Path,
}

/// `--format ics` is refused for anything but the agenda and the plan.
fn ics_only_for_calendars(format: Option<Format>, command: &Option<Command>) -> anyhow::Result<()> {
    if format == Some(Format::Ics)
        && !matches!(command, Some(Command::Agenda { .. } | Command::Plan { .. }))
    {
        return Err(usage(
            "--format ics goes with `funnel agenda` and `funnel plan` (calendars)",
        ));
    }
    Ok(())
}

fn execute(cli: Cli) -> anyhow::Result<i32> {
    let path = app::database_path(cli.db.clone()).map_err(anyhow::Error::msg)?;
    let explicit_format = cli.format;
    let format = default_format(cli.format);
    let today = app::resolve_today(parse_today(cli.today.as_deref())?);
    app::configure_user_name();
    if !matches!(cli.command, Some(Command::Config { .. })) {
        for p in app::config_problems() {
            eprintln!("funnel: {p}");
        }
    }
    let given = given_key(cli.key_file.as_deref())?;
    ics_only_for_calendars(explicit_format, &cli.command)?;
    // `migrate` names both of its databases itself; --db is not opened.
    if let Some(c @ Command::Migrate { .. }) = cli.command {
        return migrate::run(c, given, format);
    }
    let Some(mut store) = open_database(&cli.command, &path, given.clone())? else {
        eprintln!("funnel: nothing created");
        return Ok(0);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // What every command module gets: the database, where to print and how, the day.
    macro_rules! ctx {
        () => {
            Ctx {
                store: &mut *store,
                out: &mut out,
                format,
                explicit_format,
                today,
                path: &path,
            }
        };
    }
    match cli.command {
        // On a terminal, the TUI; piped or scripted, a summary of the database.
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            drop(out);
            drop(store);
            crate::tui::run(&path, cli.theme.as_deref(), today)?;
        }
        None => print_summary(&mut out, &*store, &path, format)?,
        Some(Command::Targets { command }) => {
            return targets::run(
                &mut *store,
                command,
                today,
                format,
                explicit_format,
                &mut out,
            );
        }
        Some(Command::Report {
            name,
            list,
            by,
            period,
            min_support,
            min_confidence,
            per,
        }) => {
            return report::run(
                &*store,
                name,
                list,
                by,
                period,
                (min_support, min_confidence, per),
                today,
                format,
                explicit_format,
                &mut out,
            );
        }
        Some(c @ Command::Demo { .. }) => return demo::demo(ctx!(), c),
        Some(c @ Command::Agenda { .. }) => return agenda::run(ctx!(), c),
        Some(c @ Command::Plan { .. }) => return plan::run(ctx!(), c),
        Some(c @ Command::Rules { .. }) => return rules::run(ctx!(), c),
        Some(c @ Command::Import { .. }) => return import::import(ctx!(), c),
        Some(c @ Command::Export { .. }) => return export::export(ctx!(), c),
        Some(c @ Command::Recompute) => return recompute::recompute(ctx!(), c),
        Some(c @ Command::Forecast { .. }) => return forecast::forecast(ctx!(), c),
        Some(c @ Command::Score { .. }) => return score::score(ctx!(), c),
        Some(c @ Command::Segments { .. }) => return segments::segments(ctx!(), c),
        Some(c @ Command::Clv { .. }) => return clv::clv(ctx!(), c),
        Some(c @ Command::Needs { .. }) => return needs::needs(ctx!(), c),
        Some(c @ Command::Recommend { .. }) => return recommend::recommend(ctx!(), c),
        Some(c @ Command::Completions { .. }) => return config::completions(ctx!(), c),
        Some(c @ Command::Man) => return config::man(ctx!(), c),
        Some(c @ Command::Config { .. }) => return config::config(ctx!(), c),
        Some(Command::Encrypt { output }) => {
            if app::looks_encrypted(&path) {
                anyhow::bail!(
                    "encrypt: {} is already encrypted (to change its key, decrypt it, then encrypt it)",
                    path.display()
                );
            }
            let key = match given {
                Some(k) => k,
                None => {
                    let Some(k) = prompt_key("new key: ")? else {
                        anyhow::bail!(
                            "encrypt: give the key with --key-file FILE, $FUNNEL_KEY_FILE or $FUNNEL_KEY (there is no terminal to ask on)"
                        );
                    };
                    if prompt_key("the same key again: ")?.as_deref() != Some(k.as_str()) {
                        anyhow::bail!("encrypt: the two keys differ; nothing was changed");
                    }
                    k
                }
            };
            match output {
                Some(o) => {
                    app::write_converted(&*store, &o, Some(&key))?;
                    writeln!(
                        out,
                        "wrote an encrypted copy to {} (checked); {} is unchanged",
                        o.display(),
                        path.display()
                    )?;
                }
                None => {
                    app::convert(store, Some(&key), "encrypted (SQLCipher, AES-256)")?;
                    writeln!(
                        out,
                        "encrypted {}; keep the key safe: without it the data cannot be read. \
                         Backups made from now on are encrypted with it too",
                        path.display()
                    )?;
                }
            }
            return Ok(0);
        }
        Some(Command::Decrypt { output }) => return decrypt(store, &mut out, &path, output),
        Some(c @ Command::Backup { .. }) => return safety::backup(ctx!(), c),
        Some(c @ Command::Restore { .. }) => return safety::restore(ctx!(), c),
        Some(c @ Command::Delete { .. }) => return rows::delete(ctx!(), c),
        Some(c @ Command::Merge { .. }) => return rows::merge(ctx!(), c),
        Some(c @ Command::Audit { .. }) => return safety::audit(ctx!(), c),
        Some(c @ Command::Doctor) => return safety::doctor(ctx!(), c),
        Some(c @ Command::Pipeline { .. }) => return pipeline::pipeline(ctx!(), c),
        Some(Command::Migrate { .. }) => unreachable!("migrate runs before a database is opened"),
    }
    Ok(0)
}

/// `funnel decrypt`: in place, or a plain copy into `output`.
fn decrypt(
    store: Box<app::Db>,
    out: &mut dyn Write,
    path: &Path,
    output: Option<PathBuf>,
) -> anyhow::Result<i32> {
    if app::key().is_none() {
        anyhow::bail!("decrypt: {} is not encrypted", path.display());
    }
    match output {
        Some(o) => {
            app::write_converted(&*store, &o, None)?;
            writeln!(
                out,
                "wrote a plain copy to {} (checked; mode 0600); {} is unchanged",
                o.display(),
                path.display()
            )?;
        }
        None => {
            app::convert(store, None, "decrypted")?;
            writeln!(out, "decrypted {}", path.display())?;
        }
    }
    Ok(0)
}

/// A CSV writer's error as the io error it is (a closed pipe stays a closed pipe).
/// A CSV writer's error as the I/O error it is (a closed pipe stays a closed pipe, which
/// is not reported), anything else as an error of its own.
pub(crate) fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

fn write_export(
    store: &crate::app::Db,
    kind: &str,
    sink: &mut dyn Write,
    format: Format,
    raw: bool,
) -> anyhow::Result<usize> {
    match format {
        Format::Json => {
            let columns = std::cell::RefCell::new(Vec::<String>::new());
            let sink = std::cell::RefCell::new(sink);
            let mut first = true;
            let n = app::export(
                store,
                kind,
                &mut |h| {
                    *columns.borrow_mut() = h.iter().map(|s| s.to_string()).collect();
                    write!(sink.borrow_mut(), "[")
                },
                &mut |row| {
                    let mut s = sink.borrow_mut();
                    write!(
                        s,
                        "{}\n  ",
                        if std::mem::take(&mut first) { "" } else { "," }
                    )?;
                    serde_json::to_writer(&mut *s, &output::json_row(&columns.borrow(), row))?;
                    Ok(())
                },
            )?;
            let mut s = sink.borrow_mut();
            writeln!(s, "{}]", if n > 0 { "\n" } else { "" })?;
            s.flush()?;
            Ok(n)
        }
        Format::Markdown | Format::Ics => {
            anyhow::bail!("export writes CSV (re-importable) or JSON; use --format csv or json")
        }
        Format::Csv | Format::Table => {
            let w = std::cell::RefCell::new(csv::Writer::from_writer(sink));
            let n = app::export(
                store,
                kind,
                &mut |h| w.borrow_mut().write_record(h).map_err(csv_io),
                &mut |row| {
                    // Text that a spreadsheet would run as a formula is written as text.
                    w.borrow_mut()
                        .write_record(row.iter().map(|c| match c {
                            Cell::Text(t) if !raw => crate::domain::table::spreadsheet_safe(t),
                            other => other.to_text(),
                        }))
                        .map_err(csv_io)
                },
            )?;
            w.borrow_mut().flush()?;
            Ok(n)
        }
    }
}

fn print_import(
    out: &mut dyn Write,
    r: &crate::domain::import::ImportReport,
    format: Format,
) -> anyhow::Result<i32> {
    // Bad rows fail the import (and a dry run of it) unless --skip-invalid was given.
    let failed = r.rejected > 0 && !r.skip_invalid;
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, r)?;
        writeln!(out)?;
    } else {
        let safe = |s: &str| crate::domain::table::terminal_safe(s).into_owned();
        for e in &r.errors {
            eprintln!(
                "{}:{}: {}: {}",
                safe(&r.file),
                e.line,
                safe(&e.column),
                safe(&e.reason)
            );
        }
        let what = if r.dry_run {
            "dry run, nothing written"
        } else if r.committed {
            "imported"
        } else {
            "nothing written"
        };
        let source = if r.vendor == "funnel" {
            String::new()
        } else {
            if r.vendor.to_lowercase().contains("export") {
                format!(" ({})", r.vendor)
            } else {
                format!(" ({} export)", r.vendor)
            }
        };
        writeln!(
            out,
            "{} {}{}: {}: {} inserted, {} updated, {} unchanged, {} rejected ({what})",
            r.kind,
            r.file,
            source,
            plural(r.rows, "row"),
            r.inserted,
            r.updated,
            r.unchanged,
            r.rejected
        )?;
        if !r.created.is_empty() {
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for c in &r.created {
                *counts.entry(c.split(':').next().unwrap_or("")).or_default() += 1;
            }
            let parts: Vec<String> = counts
                .iter()
                .map(|(k, n)| format!("{n} {k}{}", if *n == 1 { "" } else { "s" }))
                .collect();
            writeln!(out, "  created: {}", parts.join(", "))?;
            for c in r.created.iter().filter(|c| c.starts_with("stage")) {
                writeln!(out, "    {c}")?;
            }
        }
        if !r.defaulted.is_empty() {
            let parts: Vec<String> = r
                .defaulted
                .iter()
                .map(|(f, n)| format!("{f} {n}"))
                .collect();
            writeln!(
                out,
                "  defaults: {} (rows that took the mapping's default)",
                parts.join(", ")
            )?;
        }
        if r.rounded > 0 {
            writeln!(out, "  {} rounded to the cent", plural(r.rounded, "amount"))?;
        }
        if r.inferred_histories > 0 {
            writeln!(
                out,
                "  {} given a stage history inferred from their dates (import stage_changes to replace it)",
                plural(r.inferred_histories, "deal")
            )?;
        }
        if !r.ignored_columns.is_empty() {
            writeln!(out, "  ignored columns: {}", r.ignored_columns.join(", "))?;
        }
        if !r.ignored_lines.is_empty() {
            let lines: Vec<String> = r.ignored_lines.iter().map(u64::to_string).collect();
            writeln!(out, "  skipped trailer lines: {}", lines.join(", "))?;
        }
        if let Some(b) = r.batch_id {
            writeln!(out, "  batch {b} (undo with: funnel import revert {b})")?;
        }
        if r.rejected > 0 {
            writeln!(out, "  problems by reason:")?;
            for (n, column, reason, line) in group_errors(&r.errors) {
                writeln!(
                    out,
                    "    {n} × {}: {} (first on line {line})",
                    safe(&column),
                    safe(&reason)
                )?;
            }
        }
        if failed {
            writeln!(
                out,
                "  fix the rows above, or use --skip-invalid to import the good rows only"
            )?;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// "1 deal", "2 deals".
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Row errors grouped by column and reason (quoted values and numbers set aside), most
/// frequent first: (count, column, the first reason, its line).
fn group_errors(errors: &[crate::domain::import::RowError]) -> Vec<(usize, String, String, u64)> {
    let shape = |reason: &str| {
        let mut out = String::new();
        let mut quoted = false;
        for c in reason.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    out.push('…');
                }
                _ if quoted => {}
                '0'..='9' => {
                    if !out.ends_with('#') {
                        out.push('#');
                    }
                }
                _ => out.push(c),
            }
        }
        out
    };
    let mut groups: Vec<(usize, String, String, u64, String)> = Vec::new();
    for e in errors {
        let key = shape(&e.reason);
        match groups.iter_mut().find(|g| g.1 == e.column && g.4 == key) {
            Some(g) => g.0 += 1,
            None => groups.push((1, e.column.clone(), e.reason.clone(), e.line, key)),
        }
    }
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.3.cmp(&b.3)));
    groups
        .into_iter()
        .map(|(n, c, r, l, _)| (n, c, r, l))
        .collect()
}

fn print_summary(
    out: &mut dyn Write,
    store: &crate::app::Db,
    path: &std::path::Path,
    format: Format,
) -> anyhow::Result<()> {
    let s = app::summary(store)?;
    if format == Format::Json {
        // Money in units, as every other JSON output gives it.
        let mut v = serde_json::to_value(&s)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("open_pipeline_cents");
            o.remove("revenue_cents");
            o.insert(
                "open_pipeline".into(),
                Money(s.open_pipeline_cents).units().into(),
            );
            o.insert("revenue".into(), Money(s.revenue_cents).units().into());
        }
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "funnel — {}", path.display())?;
    if s.customers == 0 && s.open_deals + s.won_deals + s.lost_deals == 0 {
        writeln!(
            out,
            "\nThe database is empty. Load demo data, or import your own:\n"
        )?;
        writeln!(out, "  funnel demo                                   realistic demo data (2,000 customers, 10,000 deals)")?;
        writeln!(out, "  funnel import customers customers.csv         your customers (see README for the columns)")?;
        writeln!(out, "  funnel import deals export.csv --create-missing   a Salesforce, HubSpot or Pipedrive deal export")?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "  customers   {:>10}   contacts {:>8}   reps {:>5}   teams {:>4}   products {:>4}",
        s.customers, s.contacts, s.reps, s.teams, s.products
    )?;
    writeln!(
        out,
        "  deals open  {:>10}   won {:>13}   lost {:>5}",
        s.open_deals, s.won_deals, s.lost_deals
    )?;
    writeln!(
        out,
        "  open pipeline {:>15}",
        Money(s.open_pipeline_cents).to_string()
    )?;
    writeln!(
        out,
        "  orders      {:>10}   revenue {:>15}   {} to {}",
        s.orders,
        Money(s.revenue_cents).to_string(),
        s.first_order.as_deref().unwrap_or("-"),
        s.last_order.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "  activities  {:>10}   targets {:>9}   import batches {}",
        s.activities, s.targets, s.import_batches
    )?;
    writeln!(out, "\nTry:")?;
    writeln!(out, "  funnel pipeline                 the funnel by stage")?;
    writeln!(
        out,
        "  funnel export deals -o d.csv    export any entity as CSV or JSON"
    )?;
    writeln!(
        out,
        "  funnel import deals FILE        import a CSV (add --dry-run to check it first)"
    )?;
    Ok(())
}

/// Forecast figures to four decimals: enough for any currency, short in CSV.
fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}
