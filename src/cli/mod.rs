//! The command line: clap subcommands that call the app layer and print tables, CSV or JSON.

mod outfile;
mod output;
pub mod report;
pub mod targets;

use crate::app::{self, demo, AppError, ImportRequest};
use crate::domain::audit::Actor;
use crate::domain::import::ImportKind;
use crate::domain::{Cell, Money, Table};
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
    /// The funnel by stage: deals, value and weighted value.
    Pipeline,
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
    /// The audit trail, newest first: who changed what, when (JSON adds before and after).
    Audit {
        /// Only this entity (customer, deal, team, …, or database for whole-database events).
        #[arg(long)]
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
        what: Option<String>,
        /// A CSV of monthly series: series,period (YYYY-MM),value.
        #[arg(long, value_name = "FILE")]
        series: Option<PathBuf>,
        /// Break the database's won revenue down by company (default), team, rep or product.
        #[arg(long)]
        by: Option<String>,
        /// month (default) or quarter.
        #[arg(long)]
        period: Option<String>,
        /// Periods to forecast (default 12 months or 4 quarters).
        #[arg(long)]
        horizon: Option<usize>,
        /// auto (the average of automatic ETS and Theta), ets, theta, regression,
        /// damped-holt, ses, seasonal-naive or naive.
        #[arg(long, default_value = "auto")]
        method: String,
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
        #[arg(long, value_name = "FIELD")]
        by: Option<String>,
        /// The period for reports about a period (2026-03, 2026-Q1, 2026; default this
        /// quarter).
        #[arg(long)]
        period: Option<String>,
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
    /// Win probability of open deals, learned from closed deals.
    Score {
        /// Print the holdout's AUC, Brier score, log loss and reliability table.
        #[arg(long)]
        evaluate: bool,
        /// Explain one open deal (external id or id): each factor's contribution.
        #[arg(long, value_name = "DEAL")]
        explain: Option<String>,
    },
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
        Err(e) if e.chain().any(|c| c.to_string().contains("Broken pipe")) => 0,
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

fn execute(cli: Cli) -> anyhow::Result<i32> {
    let path = app::database_path(cli.db.clone()).map_err(anyhow::Error::msg)?;
    let explicit_format = cli.format;
    let format = default_format(cli.format);
    let today = app::resolve_today(cli.today.as_deref()).map_err(anyhow::Error::msg)?;
    app::configure_user_name();
    if !matches!(cli.command, Some(Command::Config { .. })) {
        for p in app::config_problems() {
            eprintln!("funnel: {p}");
        }
    }
    let given = given_key(cli.key_file.as_deref())?;
    // `encrypt` opens the database as it is; the key given is the one to encrypt with.
    if !matches!(cli.command, Some(Command::Encrypt { .. })) {
        let key = match given.clone() {
            Some(k) => Some(k),
            None if app::looks_encrypted(&path) => {
                prompt_key(&format!("key for {}: ", path.display()))?
            }
            None => None,
        };
        if let Some(k) = key {
            app::set_key(k).map_err(anyhow::Error::msg)?;
        }
    }
    if let Some(v) = app::slow_upgrade_pending(&path) {
        eprintln!(
            "funnel: upgrading {} from schema {v}: its tables are rebuilt so that ids are never reused (once; about a minute per million deals)",
            path.display()
        );
    }
    let missing = std::fs::symlink_metadata(&path).is_err();
    let mut store = match database_need(&cli.command) {
        Need::None => app::open_in_memory()?,
        Need::Existing if missing => {
            anyhow::bail!(
                "{}: no such database (give --db PATH or set FUNNEL_DB; `funnel demo` or `funnel import` create one)",
                path.display()
            );
        }
        Need::Ask if missing => {
            if !confirm_new_database(&path)? {
                eprintln!("funnel: nothing created");
                return Ok(0);
            }
            app::open(&path)?
        }
        _ => app::open(&path)?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        // On a terminal, the TUI; piped or scripted, a summary of the database.
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            drop(out);
            drop(store);
            crate::tui::run(&path, cli.theme.as_deref(), today)?;
        }
        None => print_summary(&mut out, &store, &path, format)?,
        Some(Command::Targets { command }) => {
            return targets::run(
                &mut store,
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
        }) => {
            return report::run(
                &store,
                name,
                list,
                by,
                period,
                today,
                format,
                explicit_format,
                &mut out,
            );
        }
        Some(Command::Demo {
            seed,
            customers,
            deals,
            months,
            force,
            as_of,
        }) => {
            let as_of = match as_of {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| anyhow::anyhow!("--as-of: '{d}' is not a date (YYYY-MM-DD)"))?,
                None => today,
            };
            let opts = demo::DemoOptions {
                seed,
                customers,
                deals,
                months,
                force,
                as_of,
            };
            if force {
                // Replacing the data: a verified backup first (the newest few are kept).
                if let Some(b) = app::rolling_backup(&store, "demo-force")? {
                    eprintln!(
                        "kept a backup of the data being replaced at {}",
                        b.display()
                    );
                }
            }
            let show = std::io::stderr().is_terminal();
            let started = std::time::Instant::now();
            let report =
                demo::generate(&mut store, &opts, &Actor::current(), &mut |phase, done| {
                    if show {
                        eprint!("\r\x1b[2K{:>3.0}% {phase}", done * 100.0);
                        if done >= 1.0 {
                            eprintln!();
                        }
                    }
                })?;
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "demo data in {} ({:.1}s): {} customers, {} contacts, {} reps in {} teams, {} products, \
                     {} deals ({} won, {} lost, {} open), {} stage changes, {} activities, {} orders, {} targets",
                    path.display(),
                    started.elapsed().as_secs_f64(),
                    report.customers,
                    report.contacts,
                    report.reps,
                    report.teams,
                    report.products,
                    report.deals,
                    report.won,
                    report.lost,
                    report.open,
                    report.stage_changes,
                    report.activities,
                    report.orders,
                    report.targets
                )?;
                for a in &report.anomalies {
                    writeln!(out, "  anomaly: {a}")?;
                }
            }
        }
        Some(Command::Import {
            kind,
            file,
            mapping,
            dry_run,
            skip_invalid,
            create_missing,
            date_format,
            round,
            blank,
            cascade,
        }) => {
            if cascade && kind != "revert" {
                return Err(usage("--cascade goes with `import revert BATCH`"));
            }
            if kind == "revert" {
                let batch: i64 = file.parse().map_err(|_| {
                    usage(format!("import revert: '{file}' is not a batch number (`funnel export import_batches` lists them)"))
                })?;
                let (r, backup) = app::revert_import(&mut store, batch, cascade)?;
                if let Some(b) = &backup {
                    eprintln!(
                        "funnel: backup of the data before the revert: {}",
                        b.display()
                    );
                }
                if format == Format::Json {
                    serde_json::to_writer_pretty(&mut out, &r)?;
                    writeln!(out)?;
                } else {
                    write!(
                        out,
                        "reverted import batch {batch}: {} removed, {} restored",
                        plural(r.deleted, "row"),
                        plural(r.restored, "row")
                    )?;
                    if cascade {
                        write!(
                            out,
                            ", {} later rows removed or unlinked with them",
                            r.cascaded
                        )?;
                    }
                    writeln!(out)?;
                }
                return Ok(0);
            }
            let Some(kind) = ImportKind::parse(&kind) else {
                eprintln!(
                    "funnel: import: '{kind}' is not a kind: use {} or revert",
                    ImportKind::names()
                );
                return Ok(2);
            };
            let file = PathBuf::from(file);
            let req = ImportRequest {
                kind,
                file: &file,
                mapping: mapping.as_deref(),
                dry_run,
                skip_invalid,
                create_missing,
                date_format: date_format.as_deref(),
                round,
                blank_clears: blank == "clears",
                today: Some(today),
            };
            let report = match app::import(&mut store, &req) {
                Ok(r) => r,
                Err(AppError::Usage(m)) => {
                    eprintln!("funnel: {m}");
                    return Ok(2);
                }
                Err(e) => return Err(e.into()),
            };
            return print_import(&mut out, &report, format);
        }
        Some(Command::Export {
            kind,
            output,
            force,
            raw,
        }) => match &output {
            _ if matches!(explicit_format, Some(Format::Table | Format::Markdown)) => {
                return Err(usage(
                    "export writes CSV (re-importable) or JSON: give --format csv or --format json",
                ));
            }
            Some(p) => {
                let mut file = outfile::OutFile::create(p, &path, force)?;
                let n = export(&store, &kind, &mut file, format, raw)?;
                file.commit()?;
                eprintln!("exported {n} {kind} to {}", p.display());
            }
            None => {
                let mut sink = std::io::BufWriter::new(std::io::stdout());
                export(&store, &kind, &mut sink, format, raw)?;
            }
        },
        Some(Command::Recompute) => {
            let show = std::io::stderr().is_terminal();
            // Forecasts and scores are stored together or not at all.
            let r = crate::app::forecast::recompute_all(&mut store, today, &mut |phase, done| {
                if show {
                    eprint!("\r\x1b[2K{:>3.0}% {phase}", done * 100.0);
                    if done >= 1.0 {
                        eprintln!();
                    }
                }
            })?;
            if let Some(f) = explicit_format.filter(|f| *f != Format::Table) {
                let mut t = Table::new(&[
                    "forecast_run",
                    "model_run",
                    "open_deals_scored",
                    "holdout_auc",
                    "model_used",
                    "note",
                ]);
                let (model_run, scored, auc, used) = match &r.model {
                    Some((run, s)) => (
                        Cell::Int(*run),
                        Cell::Int(s.open.len() as i64),
                        Cell::Real(round4(s.trained.logistic.auc)),
                        s.trained.useful(),
                    ),
                    None => (Cell::Null, Cell::Int(0), Cell::Null, false),
                };
                t.rows.push(vec![
                    Cell::Int(r.forecast_run),
                    model_run,
                    scored,
                    auc,
                    Cell::Text(if used { "yes" } else { "no" }.into()),
                    r.not_scored.clone().map(Cell::Text).unwrap_or(Cell::Null),
                ]);
                output::write_table(&mut out, &t, f)?;
                return Ok(0);
            }
            writeln!(
                out,
                "stored forecast run {} (company and teams, monthly)",
                r.forecast_run
            )?;
            match (&r.model, &r.not_scored) {
                (Some((run, scored)), _) if scored.trained.useful() => writeln!(
                    out,
                    "stored model run {run}: {} open deals scored (holdout AUC {:.3})",
                    scored.open.len(),
                    scored.trained.logistic.auc
                )?,
                (Some((run, scored)), _) => writeln!(
                    out,
                    "model run {run} is no better than the base rate on the holdout (AUC {:.3}); \
                     deals keep their stage probabilities",
                    scored.trained.logistic.auc
                )?,
                (None, why) => writeln!(
                    out,
                    "win probabilities not learned: {}; deals keep their stage probabilities",
                    why.as_deref().unwrap_or("no model")
                )?,
            }
        }
        Some(Command::Forecast {
            what,
            series,
            by,
            period,
            horizon,
            method,
        }) => {
            if series.is_some() || what.is_some() {
                // These forecast the database's revenue; a file or the accuracy table has
                // nothing for them to do.
                if let Some(b) = &by {
                    return Err(usage(format!(
                        "forecast: --by {b} is for forecasts of the database's revenue, not {}",
                        if series.is_some() {
                            "--series"
                        } else {
                            "accuracy"
                        }
                    )));
                }
                if period.is_some() && series.is_some() {
                    return Err(usage(
                        "forecast: --period is for forecasts of the database's revenue; a --series file is monthly",
                    ));
                }
            }
            let by = by.unwrap_or_else(|| "company".into());
            let period = period.unwrap_or_else(|| "month".into());
            let Some(method) = crate::app::forecast::Method::parse(&method) else {
                let names: Vec<&str> = crate::app::forecast::Method::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect();
                eprintln!(
                    "funnel: forecast: --method '{method}': use one of {}",
                    names.join(", ")
                );
                return Ok(2);
            };
            let quarterly = match period.as_str() {
                "month" => false,
                "quarter" => true,
                other => {
                    eprintln!("funnel: forecast: --period '{other}': use month or quarter");
                    return Ok(2);
                }
            };
            let horizon = horizon.unwrap_or(if quarterly { 4 } else { 12 });
            if horizon == 0 || horizon > 120 {
                eprintln!("funnel: forecast: --horizon must be from 1 to 120");
                return Ok(2);
            }
            match what.as_deref() {
                Some("accuracy") => {
                    let rows = crate::app::forecast::accuracy(&store, today)?;
                    let mut t = Table::new(&[
                        "run",
                        "created_at",
                        "level",
                        "period",
                        "series",
                        "points",
                        "mase",
                        "wape",
                    ]);
                    for a in rows {
                        t.rows.push(vec![
                            Cell::Int(a.run_id),
                            Cell::Text(a.created_at),
                            Cell::Text(a.level),
                            Cell::Text(a.period_kind),
                            Cell::Int(a.series as i64),
                            Cell::Int(a.points as i64),
                            a.mase.map(|v| Cell::Real(round4(v))).unwrap_or(Cell::Null),
                            a.wape.map(Cell::Ratio).unwrap_or(Cell::Null),
                        ]);
                    }
                    output::write_table(&mut out, &t, format)?;
                    return Ok(0);
                }
                Some(other) => {
                    eprintln!(
                        "funnel: forecast: '{other}' is not known: use `funnel forecast accuracy`"
                    );
                    return Ok(2);
                }
                None => {}
            }
            let Some(file) = series else {
                let Some(level) = crate::app::forecast::Level::parse(&by) else {
                    eprintln!("funnel: forecast: --by '{by}': use company, team, rep or product");
                    return Ok(2);
                };
                let id = crate::app::forecast::run(
                    &mut store,
                    level,
                    quarterly,
                    horizon,
                    method,
                    today,
                    &mut |_, _| {},
                )?;
                let run = store
                    .forecast_run(id)?
                    .ok_or_else(|| anyhow::anyhow!("run {id} vanished"))?;
                let mut t = Table::new(&["series", "period", "forecast", "lo", "hi", "model"]);
                for s in &run.series {
                    for (p, v, lo, hi) in &s.points {
                        t.rows.push(vec![
                            Cell::Text(s.key.clone()),
                            Cell::Text(p.clone()),
                            Cell::Money(crate::domain::Money::from_units(*v)),
                            Cell::Money(crate::domain::Money::from_units(lo.max(0.0))),
                            Cell::Money(crate::domain::Money::from_units(*hi)),
                            Cell::Text(s.model.clone()),
                        ]);
                    }
                }
                output::write_table(&mut out, &t, format)?;
                let season = if quarterly { 4 } else { 12 };
                for s in run.series.iter().filter(|s| s.history.len() < 2 * season) {
                    eprintln!(
                        "{}: {} {} of history from {}; seasonal methods need {}, so the forecast is {}",
                        s.key,
                        s.history.len(),
                        if quarterly { "quarters" } else { "months" },
                        s.history.first().map(|h| h.0.as_str()).unwrap_or("-"),
                        2 * season,
                        s.model
                    );
                }
                eprintln!("stored as forecast run {id}; `funnel forecast accuracy` compares runs with what happened");
                return Ok(0);
            };
            let (forecasts, errors) = crate::app::forecast::forecast_file(&file, horizon, method)?;
            if !errors.is_empty() {
                for e in &errors {
                    eprintln!("{}:{}: {}: {}", file.display(), e.line, e.column, e.reason);
                }
                return Ok(1);
            }
            for f in forecasts.iter().filter(|f| f.filled > 0) {
                eprintln!(
                    "{}: series {}: {} missing months filled by linear interpolation",
                    file.display(),
                    f.key,
                    f.filled
                );
            }
            let mut t = Table::new(&["series", "period", "forecast", "lo", "hi", "model"]);
            for f in &forecasts {
                for (p, v, lo, hi) in &f.points {
                    t.rows.push(vec![
                        Cell::Text(f.key.clone()),
                        Cell::Text(p.to_string()),
                        Cell::Real(round4(*v)),
                        Cell::Real(round4(*lo)),
                        Cell::Real(round4(*hi)),
                        Cell::Text(f.method.to_string()),
                    ]);
                }
            }
            output::write_table(&mut out, &t, format)?;
        }
        Some(Command::Score { evaluate, explain }) => {
            // Evaluating or explaining only reads: the model is learned, not stored.
            let (run, scored) = if evaluate || explain.is_some() {
                let scored =
                    crate::app::scoring::score(&store, today).map_err(anyhow::Error::msg)?;
                (None, scored)
            } else {
                let (run, scored) = crate::app::scoring::recompute(&mut store, today)
                    .map_err(anyhow::Error::msg)?;
                (Some(run), scored)
            };
            let _ = run;
            if evaluate {
                let t = &scored.trained;
                let mut m = Table::new(&["learner", "holdout_deals", "auc", "brier", "log_loss"]);
                for (name, x) in crate::app::scoring::evaluation(&scored) {
                    m.rows.push(vec![
                        Cell::Text(name.into()),
                        Cell::Int(x.n as i64),
                        Cell::Real(round4(x.auc)),
                        Cell::Real(round4(x.brier)),
                        Cell::Real(round4(x.log_loss)),
                    ]);
                }
                let mut r =
                    Table::new(&["predicted", "mean_predicted", "observed_win_rate", "deals"]);
                for (i, (p, o, c)) in t.logistic.reliability.iter().enumerate() {
                    r.rows.push(vec![
                        Cell::Text(format!("{}-{}%", i * 10, i * 10 + 10)),
                        if *c > 0 { Cell::Ratio(*p) } else { Cell::Null },
                        if *c > 0 { Cell::Ratio(*o) } else { Cell::Null },
                        Cell::Int(*c as i64),
                    ]);
                }
                if format == Format::Json {
                    let table_json = |t: &Table| -> serde_json::Value {
                        let mut buf = Vec::new();
                        output::write_table(&mut buf, t, Format::Json).ok();
                        serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null)
                    };
                    let v = serde_json::json!({
                        "trained_snapshots": t.train,
                        "calibration_snapshots": t.calibration,
                        "holdout_deals": t.logistic.n,
                        "learners": table_json(&m),
                        "base_rate_log_loss": round4(t.base_log_loss),
                        "model_used": t.useful(),
                        "reliability": table_json(&r),
                    });
                    serde_json::to_writer_pretty(&mut out, &v)?;
                    writeln!(out)?;
                    return Ok(0);
                }
                if format == Format::Table {
                    writeln!(
                        out,
                        "trained on {} snapshots of closed deals, calibrated on {}, tested on the {} most recent \
                         (time-ordered); not stored (`funnel score` or `recompute` stores scores)\n",
                        t.train, t.calibration, t.logistic.n
                    )?;
                }
                output::write_table(&mut out, &m, format)?;
                if format == Format::Table {
                    writeln!(
                        out,
                        "\nbase rate (always the training win rate): log loss {:.4}; {}",
                        t.base_log_loss,
                        if t.useful() {
                            "the model beats it, so its scores are used"
                        } else {
                            "the model does not beat it, so its scores are not used"
                        }
                    )?;
                    writeln!(
                        out,
                        "\nreliability of the calibrated logistic model on the holdout"
                    )?;
                    output::write_table(&mut out, &r, format)?;
                }
                return Ok(0);
            }
            if let Some(which) = explain {
                let Some(x) = crate::app::scoring::explain_deal(&scored, &which) else {
                    anyhow::bail!("no open deal '{which}' (give its external id or id; closed deals are not scored)");
                };
                // A sentence and its reasons, unless a format was asked for.
                if let Some(format) = explicit_format.filter(|f| *f != Format::Table) {
                    let mut t = Table::new(&["factor", "log_odds", "effect"]);
                    for (text, c, effect) in &x.factors {
                        t.rows.push(vec![
                            Cell::Text(text.clone()),
                            Cell::Real(round4(*c)),
                            Cell::Text((*effect).into()),
                        ]);
                    }
                    if format == Format::Json {
                        let mut buf = Vec::new();
                        output::write_table(&mut buf, &t, Format::Json)?;
                        let factors: serde_json::Value = serde_json::from_slice(&buf)?;
                        let v = serde_json::json!({
                            "deal_id": x.deal_id,
                            "headline": x.headline,
                            "factors": factors,
                            "note": x.note,
                        });
                        serde_json::to_writer_pretty(&mut out, &v)?;
                        writeln!(out)?;
                    } else {
                        output::write_table(&mut out, &t, format)?;
                    }
                    return Ok(0);
                }
                // The explanation quotes the deal's own data: printed terminal-safe.
                let safe = |s: &str| crate::domain::table::terminal_safe(s).into_owned();
                writeln!(out, "{}\n", safe(&x.headline))?;
                writeln!(out, "what moves it, against an average deal (log-odds; + raises, - lowers the chance):")?;
                for (text, c, effect) in &x.factors {
                    writeln!(out, "  {c:>+6.2}  {} — {}", safe(text), safe(effect))?;
                }
                if let Some(note) = &x.note {
                    writeln!(out, "\nnote: {}", safe(note))?;
                }
                return Ok(0);
            }
            let mut rows: Vec<&(crate::domain::scoring::DealFacts, f64)> =
                scored.open.iter().collect();
            rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
            let limit = if format == Format::Table {
                50
            } else {
                usize::MAX
            };
            let mut t = Table::new(&[
                "deal",
                "name",
                "customer",
                "stage",
                "amount",
                "win_probability",
                "expected_value",
            ]);
            for (d, p) in rows.iter().take(limit) {
                t.rows.push(vec![
                    Cell::Text(d.external_id.clone().unwrap_or_else(|| d.id.to_string())),
                    Cell::Text(d.name.clone()),
                    Cell::Text(d.customer.clone()),
                    Cell::Text(d.stage.clone()),
                    Cell::Money(crate::domain::Money(d.amount_cents)),
                    Cell::Ratio(*p),
                    Cell::Money(crate::domain::Money(
                        (d.amount_cents as f64 * p).round() as i64
                    )),
                ]);
            }
            output::write_table(&mut out, &t, format)?;
            if format == Format::Table && rows.len() > limit {
                writeln!(
                    out,
                    "… {} more open deals (use --format csv or json for all)",
                    rows.len() - limit
                )?;
            }
        }
        Some(Command::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "funnel", &mut out);
        }
        Some(Command::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut out)?;
        }
        Some(Command::Config { what }) => {
            let files = app::config_files();
            if what == "path" {
                writeln!(out, "config   {}", files.config.display())?;
                writeln!(out, "keymap   {}", files.keymap.display())?;
                writeln!(out, "themes   {}", files.themes.display())?;
                writeln!(out, "database {}", path.display())?;
            } else {
                let problems = app::config_problems();
                if problems.is_empty() {
                    writeln!(out, "{}: ok", files.config.display())?;
                } else {
                    for p in &problems {
                        writeln!(out, "{p}")?;
                    }
                    return Ok(1);
                }
            }
        }
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
                    app::write_converted(&store, &o, Some(&key))?;
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
        Some(Command::Decrypt { output }) => {
            if app::key().is_none() {
                anyhow::bail!("decrypt: {} is not encrypted", path.display());
            }
            match output {
                Some(o) => {
                    app::write_converted(&store, &o, None)?;
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
            return Ok(0);
        }
        Some(Command::Backup { file }) => {
            let bytes = app::backup(&store, &file)?;
            writeln!(
                out,
                "backed up to {} ({bytes} bytes; integrity checked)",
                file.display()
            )?;
        }
        Some(Command::Restore { file }) => {
            let aside = app::restore(&mut store, &file)?;
            writeln!(
                out,
                "restored from {}; the contents before were kept at {}",
                file.display(),
                aside.display()
            )?;
        }
        Some(Command::Delete {
            kind,
            row,
            force,
            yes,
        }) => {
            let entity = kind.entity();
            let id = app::find_row(&store, entity, &row)?;
            let planned = app::removal_plan(&store, entity, id)?;
            if let (Some(w), true, false) = (planned.ledger_warning(), yes, force) {
                anyhow::bail!(
                    "delete: not deleted: {w}. Add --force to delete it anyway (`funnel merge` keeps the revenue when it is a duplicate customer)"
                );
            }
            let plan = if yes {
                app::remove(&mut store, entity, id, force)?
            } else {
                planned
            };
            let warning = plan.ledger_warning();
            if format == Format::Json {
                let with: serde_json::Map<String, serde_json::Value> = plan
                    .with
                    .iter()
                    .map(|(t, n)| (t.to_string(), (*n).into()))
                    .collect();
                let v = serde_json::json!({
                    "deleted": yes,
                    "entity": entity.name(),
                    "id": id,
                    "label": plan.label,
                    "with": with,
                    "ledger_orders": plan.ledger.map(|l| l.0),
                    "ledger_revenue": plan.ledger.map(|l| l.1.to_string()),
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else if yes {
                writeln!(out, "deleted {} (audited)", plan.describe())?;
            } else {
                writeln!(out, "would delete {}", plan.describe())?;
                if let Some(w) = &warning {
                    writeln!(out, "refused without --force: {w}")?;
                }
                writeln!(out, "nothing was deleted: add --yes to delete")?;
            }
        }
        Some(Command::Merge { keep, gone, yes }) => {
            let keep_id = app::find_row(&store, app::Entity::Customer, &keep)?;
            let gone_id = app::find_row(&store, app::Entity::Customer, &gone)?;
            if keep_id == gone_id {
                return Err(usage(format!(
                    "merge: '{keep}' and '{gone}' are the same customer"
                )));
            }
            if !yes {
                let plan = app::removal_plan(&store, app::Entity::Customer, gone_id)?;
                let kept = app::removal_plan(&store, app::Entity::Customer, keep_id)?;
                writeln!(
                    out,
                    "would merge {} into {}: its {} move over and it is deleted",
                    plan.label,
                    kept.label,
                    if plan.with.is_empty() {
                        "fields".to_string()
                    } else {
                        plan.with
                            .iter()
                            .filter(|(t, _)| *t != "stage_changes")
                            .map(|(t, n)| app::count_of(*n, t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )?;
                writeln!(out, "nothing was merged: add --yes to merge")?;
            } else {
                let m = app::merge_customers(&mut store, keep_id, gone_id)?;
                let moved: Vec<String> =
                    m.moved.iter().map(|(t, n)| app::count_of(*n, t)).collect();
                if format == Format::Json {
                    let v = serde_json::json!({
                        "kept": m.kept, "removed": m.removed,
                        "moved": m.moved.iter().map(|(t, n)| (t.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
                        "filled": m.filled,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                } else {
                    writeln!(
                        out,
                        "merged {} into {}: moved {}{} (audited)",
                        m.removed,
                        m.kept,
                        if moved.is_empty() {
                            "nothing".to_string()
                        } else {
                            moved.join(", ")
                        },
                        if m.filled.is_empty() {
                            String::new()
                        } else {
                            format!("; filled {}", m.filled.join(", "))
                        }
                    )?;
                }
            }
        }
        Some(Command::Audit {
            entity,
            since,
            user,
            limit,
        }) => {
            if let Some(s) = &since {
                if chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").is_err()
                {
                    eprintln!("funnel: audit: --since '{s}' is not a date (YYYY-MM-DD)");
                    return Ok(2);
                }
            }
            let filter = crate::domain::audit::AuditFilter {
                entity,
                since,
                user,
                before_id: None,
                limit,
            };
            let entries = match app::audit(&store, &filter) {
                Ok(e) => e,
                Err(AppError::Usage(m)) => {
                    eprintln!("funnel: audit: {m}");
                    return Ok(2);
                }
                Err(e) => return Err(e.into()),
            };
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &entries)?;
                writeln!(out)?;
            } else {
                let mut t = Table::new(&[
                    "id", "at", "user", "action", "entity", "ids", "batch", "note",
                ]);
                for e in &entries {
                    t.rows.push(vec![
                        Cell::Int(e.id),
                        Cell::Text(e.at.clone()),
                        Cell::Text(match &e.display_name {
                            Some(n) => format!("{} ({n})", e.os_user),
                            None => e.os_user.clone(),
                        }),
                        Cell::Text(e.action.clone()),
                        Cell::Text(e.entity.clone()),
                        Cell::Text(match e.entity_id_last {
                            Some(last) if last != e.entity_id => format!("{}..{last}", e.entity_id),
                            _ => e.entity_id.to_string(),
                        }),
                        e.batch_id.map(Cell::Int).unwrap_or(Cell::Null),
                        e.note.clone().map(Cell::Text).unwrap_or(Cell::Null),
                    ]);
                }
                output::write_table(&mut out, &t, format)?;
            }
        }
        Some(Command::Doctor) => {
            let h = app::health(&store)?;
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut out, &h)?;
                writeln!(out)?;
            } else {
                let mut t = Table::new(&["check", "result"]);
                let row = |name: &str, v: String| vec![Cell::Text(name.into()), Cell::Text(v)];
                t.rows
                    .push(row("schema version", h.schema_version.to_string()));
                t.rows.push(row("integrity", h.integrity.join("; ")));
                t.rows.push(row(
                    "foreign keys",
                    match h.foreign_key_violations {
                        0 => "ok".into(),
                        1 => "1 row points at nothing".into(),
                        n => format!("{n} rows point at nothing"),
                    },
                ));
                t.rows
                    .push(row("write-ahead log", format!("{} bytes", h.wal_bytes)));
                t.rows.push(row(
                    "ledger",
                    if h.won_without_order + h.orders_of_unwon_deals == 0 {
                        "ok: every won deal has its order, and only won deals".into()
                    } else {
                        format!(
                            "{} won deals without an order, {} orders of deals not won",
                            h.won_without_order, h.orders_of_unwon_deals
                        )
                    },
                ));
                t.rows.push(row(
                    "stage history",
                    format!(
                        "{} recorded, {} inferred from deals' dates",
                        h.history_real, h.history_inferred
                    ),
                ));
                output::write_table(&mut out, &t, format)?;
            }
            if !h.healthy() {
                eprintln!("funnel: the database has problems (above); `funnel restore FILE` puts back a backup");
                return Ok(1);
            }
        }
        Some(Command::Pipeline) => {
            let report = app::pipeline_report(&store, today)?;
            let (f, fa) = (&report.stages, &report.funnel);
            let by_stage: std::collections::HashMap<&str, &crate::app::funnel::StageRow> =
                fa.stages.iter().map(|s| (s.name.as_str(), s)).collect();
            let rich = matches!(format, Format::Table | Format::Markdown);
            if format == Format::Json {
                serde_json::to_writer_pretty(
                    &mut out,
                    &serde_json::json!({
                        "stages": f.stages.iter().map(|s| serde_json::json!({
                            "stage": s.stage,
                            "kind": s.kind,
                            "probability": s.probability,
                            "deals": s.count,
                            "value": s.value.units(),
                            "weighted_value": s.weighted_value.units(),
                            "conversion": by_stage.get(s.stage.as_str()).and_then(|r| r.conversion.rate()),
                            "median_days": by_stage.get(s.stage.as_str()).and_then(|r| r.median_days),
                            "p90_days": by_stage.get(s.stage.as_str()).and_then(|r| r.p90_days).map(|d| (d * 10.0).round() / 10.0),
                            "stale_after_days": by_stage.get(s.stage.as_str()).and_then(|r| r.stale_after),
                            "stale_deals": by_stage.get(s.stage.as_str()).map(|r| r.stale_now),
                        })).collect::<Vec<_>>(),
                        "funnel": {
                            "cohort_from": fa.cohort_from,
                            "cohort_to": fa.cohort_to,
                            "cohort_deals": fa.cohort_deals,
                            "sample_every": fa.sample_every,
                            "velocity": fa.velocity,
                            "bottleneck": fa.bottleneck,
                            "weakest_team": fa.weakest_team,
                        },
                        "open": {
                            "deals": f.open_count,
                            "value": f.open_value.units(),
                            "weighted_value": f.open_weighted_value.units(),
                        },
                        "forecast": &report.forecast,
                    }),
                )?;
                writeln!(out)?;
            } else {
                let mut t = Table::new(&[
                    "stage",
                    "kind",
                    "probability",
                    "deals",
                    "value",
                    "weighted_value",
                    "conversion",
                    "median_days",
                    "p90_days",
                    "stale_after_days",
                    "stale_deals",
                ]);
                let opt = |v: Option<f64>| v.map(|x| Cell::Real(round4(x))).unwrap_or(Cell::Null);
                for s in &f.stages {
                    let r = by_stage.get(s.stage.as_str());
                    t.rows.push(vec![
                        Cell::Text(s.stage.clone()),
                        Cell::Text(s.kind.to_string()),
                        Cell::Ratio(s.probability),
                        Cell::Int(s.count),
                        Cell::Money(s.value),
                        Cell::Money(s.weighted_value),
                        r.and_then(|r| r.conversion.rate())
                            .map(Cell::Ratio)
                            .unwrap_or(Cell::Null),
                        opt(r.and_then(|r| r.median_days)),
                        opt(r.and_then(|r| r.p90_days)),
                        opt(r.and_then(|r| r.stale_after)),
                        r.map(|r| Cell::Int(r.stale_now as i64))
                            .unwrap_or(Cell::Null),
                    ]);
                }
                if rich {
                    t.rows.push(vec![
                        Cell::Text("open pipeline".into()),
                        Cell::Text(String::new()),
                        Cell::Null,
                        Cell::Int(f.open_count),
                        Cell::Money(f.open_value),
                        Cell::Money(f.open_weighted_value),
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                        Cell::Null,
                        Cell::Int(fa.stale.len() as i64),
                    ]);
                }
                output::write_table(&mut out, &t, format)?;
                if rich {
                    writeln!(
                        out,
                        "\nconversion: of {} deals created {} to {}{}, advanced / (advanced + lost) per stage, from the stage history; \
                         stale after: 80th percentile of the days winners spent in the stage (`funnel report stale-deals` lists them)",
                        fa.cohort_deals, fa.cohort_from, fa.cohort_to,
                        if fa.sample_every > 1 { format!(" (every {}th deal)", fa.sample_every) } else { String::new() }
                    )?;
                    if let Some(v) = &fa.velocity {
                        writeln!(
                            out,
                            "velocity: {} open deals x {:.1}% win rate x {} average won / {:.0}-day cycle = {} a day",
                            v.open_deals,
                            v.win_rate * 100.0,
                            crate::domain::Money::from_units(v.average_won),
                            v.cycle_days,
                            crate::domain::Money::from_units(v.per_day)
                        )?;
                    }
                    match &fa.bottleneck {
                        Some(b) => writeln!(
                            out,
                            "bottleneck: {} converts {:.1}% in the recent cohort against {:.1}% before",
                            b.stage,
                            b.now * 100.0,
                            b.before * 100.0
                        )?,
                        None => writeln!(out, "bottleneck: none (no stage converts worse than in the trailing cohort)")?,
                    }
                    if let Some((team, b)) = &fa.weakest_team {
                        writeln!(
                            out,
                            "weakest team: {team} converts {:.1}% at {} against {:.1}% for the rest",
                            b.now * 100.0,
                            b.stage,
                            b.before * 100.0
                        )?;
                    }
                    if let Some(end) = crate::app::dashboard::data_ends(&store, today)? {
                        writeln!(
                            out,
                            "the data ends {end}: nothing closed in the {} days before {today}; give --today {end} to see it as of then",
                            crate::app::dashboard::STALE_DAYS
                        )?;
                    }
                    let unlearned: Vec<&str> = fa
                        .stages
                        .iter()
                        .filter(|s| s.stale_after.is_none())
                        .map(|s| s.name.as_str())
                        .collect();
                    if !unlearned.is_empty() {
                        writeln!(
                            out,
                            "stale thresholds: not enough history for {} (a stage needs {} stays of deals that went on to win)",
                            unlearned.join(", "),
                            crate::app::funnel::MIN_STAYS
                        )?;
                    }
                    let pf = &report.forecast;
                    if !pf.no_slip_history.is_empty() {
                        writeln!(
                            out,
                            "close-date slips: not enough history for {} (no deal won from it in the last year): their expected close dates are taken as given",
                            pf.no_slip_history.join(", ")
                        )?;
                    }
                    writeln!(out, "\nweighted pipeline by expected close month (overdue deals count in this month)")?;
                    let mut w = Table::new(&["month", "weighted_value"]);
                    for (m, v) in &pf.weighted_by_month {
                        w.rows.push(vec![Cell::Text(m.clone()), Cell::Money(*v)]);
                    }
                    let u = &pf.unknown_close;
                    if u.deals > 0 {
                        w.rows.push(vec![
                            Cell::Text("close date unknown".into()),
                            Cell::Money(u.weighted),
                        ]);
                    }
                    output::write_table(&mut out, &w, format)?;
                    if u.deals > 0 {
                        writeln!(
                            out,
                            "close date unknown: {} open deal{} worth {} have no expected close; they are in no month or category{}",
                            u.deals,
                            if u.deals == 1 { "" } else { "s" },
                            crate::domain::Money(u.value.cents()),
                            if u.not_simulated > 0 {
                                format!(
                                    "; {} of them are left out of the simulation (not enough history: no won deals from their stage in the last year)",
                                    u.not_simulated
                                )
                            } else {
                                "; the simulation draws their close from the time won deals took from their stage".into()
                            }
                        )?;
                    }
                    writeln!(out, "\nforecast categories by expected close (cumulative: closed, +commit, +best case, +pipeline)")?;
                    let mut c = Table::new(&[
                        "period",
                        "closed",
                        "commit",
                        "best_case",
                        "pipeline",
                        "to_commit",
                        "to_best_case",
                        "to_pipeline",
                    ]);
                    let unknown_row =
                        (pf.unknown_close.deals > 0).then_some(&pf.unknown_close.categories);
                    for r in pf.categories.iter().chain(unknown_row) {
                        let cum = r.cumulative();
                        c.rows.push(vec![
                            Cell::Text(r.period.clone()),
                            Cell::Money(r.closed),
                            Cell::Money(r.commit),
                            Cell::Money(r.best_case),
                            Cell::Money(r.pipeline),
                            Cell::Money(cum[1]),
                            Cell::Money(cum[2]),
                            Cell::Money(cum[3]),
                        ]);
                    }
                    output::write_table(&mut out, &c, format)?;
                    writeln!(
                        out,
                        "\nMonte Carlo, {} runs: each open deal wins with its {} probability; close dates slip as \
                         that stage's deals did over the last year",
                        pf.runs,
                        if pf.learned_probabilities { "learned win" } else { "stage" }
                    )?;
                    let mut m = Table::new(&["period", "closed", "p10", "p50", "p90"]);
                    for r in &pf.simulation {
                        m.rows.push(vec![
                            Cell::Text(r.name.clone()),
                            Cell::Money(crate::domain::Money::from_units(r.closed)),
                            Cell::Money(crate::domain::Money::from_units(r.p10)),
                            Cell::Money(crate::domain::Money::from_units(r.p50)),
                            Cell::Money(crate::domain::Money::from_units(r.p90)),
                        ]);
                    }
                    output::write_table(&mut out, &m, format)?;
                }
            }
        }
    }
    Ok(0)
}

fn export(
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
        Format::Markdown => {
            anyhow::bail!("export writes CSV (re-importable) or JSON; use --format csv or json")
        }
        Format::Csv | Format::Table => {
            let w = std::cell::RefCell::new(csv::Writer::from_writer(sink));
            let n = app::export(
                store,
                kind,
                &mut |h| {
                    w.borrow_mut()
                        .write_record(h)
                        .map_err(std::io::Error::other)
                },
                &mut |row| {
                    // Text that a spreadsheet would run as a formula is written as text.
                    w.borrow_mut()
                        .write_record(row.iter().map(|c| match c {
                            Cell::Text(t) if !raw => crate::domain::table::spreadsheet_safe(t),
                            other => other.to_text(),
                        }))
                        .map_err(std::io::Error::other)
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
