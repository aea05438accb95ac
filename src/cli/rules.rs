//! `funnel rules`: automation rules from rules.toml — run them (for cron), list them with
//! their last runs, and the alerts they raised.

use super::*;

/// What `funnel rules` does.
#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Evaluate every rule and act on what no earlier run acted on (idempotent: run it
    /// from cron as often as you like). With --dry-run, say what would be done.
    Run {
        #[arg(long)]
        dry_run: bool,
        /// The rules file (default: rules.toml in the config directory).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Each rule with its last run and what it did.
    List {
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The alerts rules raised, newest first; --dismiss ID clears one.
    Alerts {
        #[arg(long)]
        dismiss: Option<i64>,
    },
}

/// `funnel rules`.
pub(super) fn run(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Command::Rules { command } = command else {
        unreachable!("execute routes only Rules here")
    };
    let Ctx {
        store,
        out,
        format,
        today,
        ..
    } = ctx;
    match command {
        RulesCommand::Run { dry_run, file } => {
            let (path, rules) = app::rules::load(file.as_deref()).map_err(usage)?;
            if rules.is_empty() {
                writeln!(
                    out,
                    "no rules in {} (see `funnel rules --help` and the README)",
                    path.display()
                )?;
                return Ok(0);
            }
            let actor = crate::domain::audit::Actor::current();
            let outcomes = app::rules::run(&mut *store, &rules, today, dry_run, &actor)?;
            let mut t = Table::new(&["rule", "then", "status", "what"]);
            for o in &outcomes {
                for (message, new) in &o.hits {
                    let status = match (new, dry_run) {
                        (true, true) => "would act",
                        (true, false) => "done",
                        (false, _) => "acted on before",
                    };
                    t.rows.push(vec![
                        Cell::Text(o.rule.clone()),
                        Cell::Text(o.then.into()),
                        Cell::Text(status.into()),
                        Cell::Text(message.clone()),
                    ]);
                }
            }
            if format == Format::Table {
                for o in &outcomes {
                    writeln!(
                        out,
                        "{} ({} → {}): {}{}",
                        o.rule,
                        o.when,
                        o.then,
                        o.summary,
                        if dry_run {
                            " — dry run, nothing written"
                        } else {
                            ""
                        }
                    )?;
                }
                writeln!(out)?;
            }
            output::write_table(out, &t, format)?;
        }
        RulesCommand::List { file } => {
            let (path, rules) = app::rules::load(file.as_deref()).map_err(usage)?;
            let runs = store.last_rule_runs()?;
            let mut t = Table::new(&[
                "rule", "when", "then", "line", "last run", "as of", "found", "acted", "summary",
            ]);
            for r in &rules {
                let last = runs.iter().find(|x| x.rule == r.name);
                t.rows.push(vec![
                    Cell::Text(r.name.clone()),
                    Cell::Text(r.when.name().into()),
                    Cell::Text(r.then.name().into()),
                    Cell::Int(r.line as i64),
                    last.map(|l| Cell::Text(l.ran_at.clone()))
                        .unwrap_or(Cell::Null),
                    last.map(|l| Cell::Text(l.as_of.clone()))
                        .unwrap_or(Cell::Null),
                    last.map(|l| Cell::Int(l.matched)).unwrap_or(Cell::Null),
                    last.map(|l| Cell::Int(l.acted)).unwrap_or(Cell::Null),
                    last.map(|l| Cell::Text(l.summary.clone()))
                        .unwrap_or(Cell::Null),
                ]);
            }
            if format == Format::Table {
                writeln!(out, "{}: {} rule(s)\n", path.display(), rules.len())?;
            }
            output::write_table(out, &t, format)?;
        }
        RulesCommand::Alerts { dismiss } => {
            if let Some(id) = dismiss {
                store.dismiss_alert(id, &crate::domain::audit::Actor::current().at)?;
                writeln!(out, "alert #{id} dismissed")?;
                return Ok(0);
            }
            let (count, alerts) = store.open_alerts(10_000)?;
            let mut t = Table::new(&["id", "rule", "raised", "alert"]);
            for a in &alerts {
                t.rows.push(vec![
                    Cell::Int(a.id),
                    Cell::Text(a.rule.clone()),
                    Cell::Text(a.created_at.clone()),
                    Cell::Text(a.message.clone()),
                ]);
            }
            if format == Format::Table {
                writeln!(out, "{count} open alert(s)\n")?;
            }
            output::write_table(out, &t, format)?;
        }
    }
    Ok(0)
}
