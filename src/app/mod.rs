//! Use cases shared by the command line and the TUI: they load from the store, run the
//! analytics and write results back, each write audited.

pub mod agenda;
pub mod allocate;
pub mod board;
pub mod cache;
pub mod clv;
pub mod dashboard;
pub mod demo;
pub mod edits;
pub mod forecast;
pub mod funnel;
pub mod intel;
pub mod migrate;
pub mod needs;
pub mod pipeline_backtest;
pub mod pipeline_forecast;
pub mod plan;
pub mod recommend;
pub mod reports;
pub mod rules;
pub mod scoring;
pub mod segments;
pub mod targets;

use crate::analytics::pipeline::{self, FunnelSummary, StageInput};
use crate::domain::date::DateFormat;
use crate::domain::Cell;
use crate::store::audit::{self, Actor, RevertReport};
use crate::store::import::layout::Mapping;
use crate::store::import::{ImportError, ImportKind, ImportOptions, ImportReport};
use crate::store::{StoreError, Summary};

/// The database the use cases run on: any backend (SQLite's `Store` today).
pub type Db = dyn crate::store::backend::Backend;
use std::path::{Path, PathBuf};
use Db as Store;

/// How many automatic backups of one kind are kept beside the database.
pub const ROLLING_BACKUPS: usize = 3;

/// Before a destructive command: a verified backup beside the database,
/// `DB.backup-LABEL-TIMESTAMP`, keeping the newest `ROLLING_BACKUPS` of that label.
/// `None` for an empty database (nothing to lose) or one in memory.
pub fn rolling_backup(store: &Store, label: &str) -> Result<Option<PathBuf>, StoreError> {
    if store.is_empty()? || store.path().as_os_str() == ":memory:" {
        return Ok(None);
    }
    // A server database has no directory of its own: its copies go to funnel's data
    // directory, named after the server and database (SQLite files, as `funnel backup`).
    let beside = if migrate::is_url(&store.path().to_string_lossy()) {
        let name: String = store
            .path()
            .to_string_lossy()
            .trim_start_matches("postgres://")
            .trim_start_matches("postgresql://")
            .split('?')
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = directories::ProjectDirs::from("", "", "funnel")
            .map(|d| d.data_dir().join("backups"))
            .unwrap_or_else(|| PathBuf::from("funnel-backups"));
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        dir.join(format!("{name}.db"))
    } else {
        store.path().to_path_buf()
    };
    let base = beside.display().to_string();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let mut dest = PathBuf::from(format!("{base}.backup-{label}-{stamp}"));
    let mut n = 1;
    while dest.exists() {
        n += 1;
        dest = PathBuf::from(format!("{base}.backup-{label}-{stamp}-{n}"));
    }
    store.backup_to(&dest)?;
    let prefix = format!(
        "{}.backup-{label}-",
        beside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let dir = beside
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut older: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    older.sort();
    let excess = older.len().saturating_sub(ROLLING_BACKUPS);
    for p in older.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
    Ok(Some(dest))
}

/// A verified copy of the database at `dest` (safe while others read and write); its size.
pub fn backup(store: &Store, dest: &Path) -> Result<u64, StoreError> {
    store.backup_to(dest)
}

/// Replaces the database with the checked backup `src`; the current contents are kept
/// beside the database first, at the path returned. The restore is audited.
pub fn restore(store: &mut Store, src: &Path) -> Result<std::path::PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let aside =
        std::path::PathBuf::from(format!("{}.before-restore-{stamp}", store.path().display()));
    store.restore_from(src, &aside)?;
    store.log_event(
        &Actor::current(),
        "database",
        &format!(
            "restored from {}; the contents before were kept at {}",
            src.display(),
            aside.display()
        ),
    )?;
    Ok(aside)
}

pub use crate::store::crypto::{key, looks_encrypted, read_key_file, set_key};

/// Writes the database, encrypted with `key` or plain, into the new file `dest`, checked.
pub fn write_converted(store: &Store, dest: &Path, key: Option<&str>) -> Result<(), StoreError> {
    store.write_converted(dest, key)
}

/// Encrypts (`key`) or decrypts (`None`) the database file in place, audited as `note`.
pub fn convert(store: Box<Store>, key: Option<&str>, note: &str) -> Result<(), StoreError> {
    store.convert_in_place(key, note, &Actor::current())
}

/// The newest audit entry's id, to mark where an action's entries begin and end.
pub fn audit_high_water(store: &Store) -> Result<i64, StoreError> {
    store.audit_high_water()
}

/// Takes back one action (the audit entries `from`+1..=`to`), in one transaction.
pub fn undo(store: &mut Store, from: i64, to: i64) -> Result<usize, StoreError> {
    store.undo_range(from, to, &Actor::current())
}

/// The audit trail, newest first; `entity` is checked against the entities funnel audits.
pub fn audit(
    store: &Store,
    filter: &crate::store::audit::AuditFilter,
) -> Result<Vec<crate::store::audit::AuditEntry>, AppError> {
    if let Some(e) = &filter.entity {
        if audit::Entity::from_name(e).is_none() && e != "database" {
            let names: Vec<&str> = audit::ALL_ENTITIES.iter().map(|e| e.name()).collect();
            return Err(AppError::Usage(format!(
                "--entity '{e}': use one of {}, database",
                names.join(", ")
            )));
        }
    }
    Ok(store.audit_entries(filter)?)
}

/// Integrity, foreign keys, WAL, ledger and history counts.
/// The database's health. A failed integrity check marks the database damaged (writes
/// refused until it passes again or a backup is restored); a clean one lifts that.
pub fn health(store: &Store) -> Result<crate::store::maintenance::Health, StoreError> {
    let h = store.health()?;
    if h.integrity == ["ok"] {
        store.clear_damaged();
    } else {
        store.mark_damaged(&format!(
            "funnel doctor: {}",
            h.integrity.first().map(String::as_str).unwrap_or("failed")
        ));
    }
    Ok(h)
}

/// Teams, reps, products and stages, as the Setup screen lists them.
pub fn organisation(store: &Store) -> Result<crate::domain::setup::Organisation, StoreError> {
    store.organisation()
}

/// Today for every command and the TUI: `--today` / `$FUNNEL_TODAY` (an empty value is
/// ignored), else the local date.
pub fn resolve_today(flag: Option<chrono::NaiveDate>) -> chrono::NaiveDate {
    flag.unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Where the database is: `--db`, else `$FUNNEL_DB`, else `funnel.db` in the platform's
/// data directory.
pub fn database_path(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("FUNNEL_DB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "funnel")
        .map(|d| d.data_dir().join("funnel.db"))
        .ok_or_else(|| {
            "no home directory to keep the database in: give --db PATH or set FUNNEL_DB".to_string()
        })
}

/// Opens (creating or upgrading) the database at `path`: a SQLite file, or a PostgreSQL
/// database when `path` is a `postgres://` URL.
pub fn open(path: &Path) -> Result<Box<Store>, StoreError> {
    let text = path.to_string_lossy();
    if migrate::is_url(&text) {
        let target = migrate::server(&text).map_err(StoreError::Invalid)?;
        return Ok(Box::new(crate::store::postgres::PgStore::open(target)?));
    }
    Ok(Box::new(crate::store::Store::open(path)?))
}

/// A private database in memory, for commands that need none of their own.
pub fn open_in_memory() -> Result<Box<Store>, StoreError> {
    Ok(Box::new(crate::store::Store::open_in_memory()?))
}

/// The schema version of a database whose upgrade on opening will take a while (a
/// minute or so at a million deals), for a front end to say so first.
pub fn slow_upgrade_pending(path: &Path) -> Option<i64> {
    crate::store::db::slow_upgrade_pending(path)
}

/// The files funnel reads its configuration from.
pub struct ConfigFiles {
    pub config: PathBuf,
    pub keymap: PathBuf,
    pub themes: PathBuf,
    pub rules: PathBuf,
}

/// Where the configuration lives (`~/.config/funnel/` on Linux).
pub fn config_files() -> ConfigFiles {
    let dir = directories::ProjectDirs::from("", "", "funnel")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    ConfigFiles {
        config: dir.join("config.toml"),
        keymap: dir.join("keymap.toml"),
        themes: dir.join("themes"),
        rules: dir.join("rules.toml"),
    }
}

/// The keys config.toml may hold.
pub const CONFIG_KEYS: &[&str] = &["theme", "user_name", "rep", "priority"];

/// What is wrong with config.toml, each as `FILE: …` (none when it is sound or absent).
pub fn config_problems() -> Vec<String> {
    let mut out = config_toml_problems();
    // rules.toml, when there is one, is checked as `funnel rules run` would read it.
    if let Err(e) = rules::load(None) {
        out.push(e);
    }
    out
}

fn config_toml_problems() -> Vec<String> {
    let path = config_files().config;
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        if !CONFIG_KEYS.contains(&key.as_str()) {
            out.push(format!(
                "{}: unknown key '{key}' (known: {})",
                path.display(),
                CONFIG_KEYS.join(", ")
            ));
        } else if key == "priority" {
            match value.as_table() {
                Some(t) => {
                    if let Err(e) = plan::Weights::from_table(Some(t)) {
                        out.push(format!("{}: {e}", path.display()));
                    }
                }
                None => out.push(format!(
                    "{}: priority: must be a table ([priority] with {})",
                    path.display(),
                    plan::Weights::KEYS.join(", ")
                )),
            }
        } else if !value.is_str() {
            out.push(format!("{}: {key}: must be a string", path.display()));
        }
    }
    out
}

/// The name the audit shows beside the OS account: `$FUNNEL_USER_NAME`, else `user_name`
/// in config.toml (`~/.config/funnel/config.toml` on Linux). Self-declared, so it is kept
/// beside the account the process runs as, never instead of it.
pub fn configure_user_name() {
    let from_env = std::env::var("FUNNEL_USER_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty());
    let name = from_env.or_else(|| {
        let dir = directories::ProjectDirs::from("", "", "funnel")?;
        let text = std::fs::read_to_string(dir.config_dir().join("config.toml")).ok()?;
        let table: toml::Table = text.parse().ok()?;
        table.get("user_name")?.as_str().map(str::to_string)
    });
    if let Some(n) = name {
        audit::set_display_name(&n);
    }
}

/// The rep whose agenda `funnel agenda` shows by default: `$FUNNEL_REP`, else `rep` in
/// config.toml (the OS account's rep).
pub fn configured_rep() -> Option<String> {
    let from_env = std::env::var("FUNNEL_REP")
        .ok()
        .filter(|n| !n.trim().is_empty());
    from_env.or_else(|| {
        let text = std::fs::read_to_string(config_files().config).ok()?;
        let table: toml::Table = text.parse().ok()?;
        table.get("rep")?.as_str().map(str::to_string)
    })
}

/// The visit priority's weights and temperature: the defaults with `[priority]` of
/// config.toml; a bad table is an error naming the file and the key.
pub fn priority_weights() -> Result<plan::Weights, String> {
    let path = config_files().config;
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(plan::Weights::default());
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let priority = match table.get("priority") {
        None => None,
        Some(v) => Some(
            v.as_table()
                .ok_or_else(|| format!("{}: priority: must be a table", path.display()))?,
        ),
    };
    plan::Weights::from_table(priority).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a mapping file, naming the file in any error.
pub fn load_mapping(path: &Path) -> Result<Mapping, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut m = Mapping::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.vendor.is_none() {
        m.vendor = path.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    Ok(m)
}

pub struct ImportRequest<'a> {
    pub kind: ImportKind,
    pub file: &'a Path,
    pub mapping: Option<&'a Path>,
    pub dry_run: bool,
    pub skip_invalid: bool,
    pub create_missing: bool,
    pub date_format: Option<&'a str>,
    /// Round amounts with more than two decimals to the cent.
    pub round: bool,
    /// On an update an empty cell clears the stored value (else it keeps it).
    pub blank_clears: bool,
    /// The date for defaults (a deal without a creation date, a stage change): `--today`.
    pub today: Option<chrono::NaiveDate>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Usage(String),
    /// A file given alongside (a mapping) that cannot be used: bad input, not bad usage.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn import(store: &mut Store, req: &ImportRequest) -> Result<ImportReport, AppError> {
    let mapping = req
        .mapping
        .map(load_mapping)
        .transpose()
        .map_err(AppError::Input)?;
    let date_format = req
        .date_format
        .map(DateFormat::from_user)
        .transpose()
        .map_err(AppError::Usage)?;
    let opts = ImportOptions {
        mapping,
        dry_run: req.dry_run,
        skip_invalid: req.skip_invalid,
        create_missing: req.create_missing,
        date_format,
        round: req.round,
        blank_clears: req.blank_clears,
        today: req.today,
        defer_indexes: None,
    };
    Ok(store.import_file(req.kind, req.file, &opts, &Actor::current())?)
}

/// Undoes an import batch. With `cascade`, rows written later that depend on the batch's
/// rows go too; a verified rolling backup is written first, and its path returned.
pub fn revert_import(
    store: &mut Store,
    batch: i64,
    cascade: bool,
) -> Result<(RevertReport, Option<PathBuf>), AppError> {
    let backup = if cascade {
        rolling_backup(store, "revert-cascade")?
    } else {
        None
    };
    let report = store.revert_batch(batch, &Actor::current(), cascade)?;
    Ok((report, backup))
}

/// The funnel by stage with weighted values.
pub fn pipeline(store: &Store) -> Result<FunnelSummary, AppError> {
    let totals = store.stage_totals()?;
    let inputs: Vec<StageInput> = totals
        .iter()
        .map(|t| StageInput {
            name: &t.stage.name,
            kind: t.stage.kind,
            probability: t.stage.probability,
            count: t.count,
            value: t.value,
        })
        .collect();
    Ok(pipeline::summarize(&inputs))
}

/// What `funnel pipeline` shows: the stage table, the funnel analysis (conversion, time
/// in stage, staleness, velocity, bottleneck) and the pipeline forecast.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipelineReport {
    pub stages: FunnelSummary,
    pub funnel: funnel::Analysis,
    pub forecast: pipeline_forecast::PipelineForecast,
}

/// The pipeline report for `today`, kept per data version (see `cache`): computing it
/// reads every deal's stage history; reading it back is a single row.
pub fn pipeline_report(
    store: &Store,
    today: chrono::NaiveDate,
) -> Result<PipelineReport, AppError> {
    cache::cached(store, "pipeline", today, || {
        Ok::<_, AppError>(PipelineReport {
            stages: pipeline(store)?,
            funnel: funnel::analyze(store, today)?,
            forecast: pipeline_forecast::load(store, today)?,
        })
    })
}

pub fn summary(store: &Store) -> Result<Summary, AppError> {
    Ok(store.summary()?)
}

/// Streams an export to the two callbacks.
pub fn export(
    store: &Store,
    kind: &str,
    header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
    row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
) -> Result<usize, AppError> {
    Ok(store.export(kind, header, row)?)
}

pub use crate::store::audit::Entity;
pub use crate::store::export::EXPORT_KINDS;
pub use crate::store::remove::{count_of, MergeOutcome, RemovalPlan};

/// What deleting a customer, contact, deal or activity would take with it (reads only).
pub fn removal_plan(store: &Store, entity: Entity, id: i64) -> Result<RemovalPlan, StoreError> {
    store.removal_plan(entity, id)
}

/// Deletes a customer, contact, deal or activity with what belongs to it, audited; a row
/// the revenue ledger depends on only with `force`.
pub fn remove(
    store: &mut Store,
    entity: Entity,
    id: i64,
    force: bool,
) -> Result<RemovalPlan, StoreError> {
    store.remove(entity, id, force, &Actor::current())
}

/// Merges customer `gone` into `keep` (see `Store::merge_customers`).
pub fn merge_customers(
    store: &mut Store,
    keep: i64,
    gone: i64,
) -> Result<MergeOutcome, StoreError> {
    store.merge_customers(keep, gone, &Actor::current())
}

/// A row named the way people name it: its external id (C-000012, or the other
/// system's), its name (customers and deals), or its row id. Several rows of one name
/// are refused with a hint to use the external id.
pub fn find_row(store: &Store, entity: Entity, text: &str) -> Result<i64, StoreError> {
    store.find_row(entity, text)
}

pub use crate::store::db::{is_busy, is_corrupt, BUSY_TIMEOUT_SECS};
pub use crate::store::mark_damaged_at;

/// A page of the customer list (keyset paging: see `domain::customers::Cursor`).
pub fn customer_page(
    store: &Store,
    filter: &crate::domain::customers::CustomerFilter,
    sort: crate::domain::customers::CustomerSort,
    cursor: Option<&crate::domain::customers::Cursor>,
    direction: crate::domain::customers::PageDirection,
    limit: usize,
) -> Result<Vec<crate::domain::customers::CustomerRow>, StoreError> {
    store.customer_page(filter, sort, cursor, direction, limit)
}

/// How many customers the filter matches.
pub fn count_customers(
    store: &Store,
    filter: &crate::domain::customers::CustomerFilter,
) -> Result<i64, StoreError> {
    store.count_customers(filter)
}

/// One customer with contacts, deals, orders and activities.
pub fn customer_detail(
    store: &Store,
    id: i64,
) -> Result<Option<crate::domain::customers::CustomerDetail>, StoreError> {
    store.customer_detail(id)
}

/// One deal as its board card shows it.
pub fn deal_card(
    store: &Store,
    id: i64,
) -> Result<Option<crate::domain::deals::DealCard>, StoreError> {
    store.deal_card(id)
}

/// Whether the database holds no customers and no deals yet.
pub fn is_empty(store: &Store) -> Result<bool, StoreError> {
    store.is_empty()
}

/// Changes whenever the data the analyses read may have changed (see `cache`).
pub fn data_version(store: &Store) -> Result<String, StoreError> {
    store.data_version()
}

/// How the stored models are doing against what happened since (the Forecast screen's
/// monitoring box): the latest win-probability run and forecast run with closed outcomes,
/// and every drift warning.
pub fn monitoring(store: &Store, today: chrono::NaiveDate) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let runs = scoring::accuracy(store)?;
    match runs.iter().rev().find(|r| r.live.is_some()) {
        Some(r) => {
            let m = r.live.as_ref().expect("found with live metrics");
            out.push(format!(
                "win probability (run {}, {}): {} of its {} deals closed since — log loss {:.3} (holdout {}), AUC {:.2}",
                r.run_id,
                if r.used { "in use" } else { "not used" },
                r.closed,
                r.scored,
                m.log_loss,
                r.holdout_log_loss
                    .map(|h| format!("{h:.3}"))
                    .unwrap_or_else(|| "?".into()),
                m.auc
            ));
        }
        None if runs.is_empty() => out.push("win probability: no scoring run yet".into()),
        None => out.push("win probability: none of the scored deals has closed yet".into()),
    }
    out.extend(runs.iter().filter_map(|r| {
        r.drift
            .as_ref()
            .map(|d| format!("win probability run {}: {d}", r.run_id))
    }));
    let fc = forecast::accuracy(store, today)?;
    match fc.iter().rev().find(|a| a.points > 0) {
        Some(a) => out.push(format!(
            "forecast (run {}, {} by {}): {} closed periods — MASE {}, WAPE {}, {} inside the 80% intervals",
            a.run_id,
            a.level,
            a.period_kind,
            a.points,
            a.mase.map(|m| format!("{m:.2}")).unwrap_or_else(|| "?".into()),
            a.wape.map(|w| format!("{:.0}%", 100.0 * w)).unwrap_or_else(|| "?".into()),
            a.coverage.map(|c| format!("{:.0}%", 100.0 * c)).unwrap_or_else(|| "?".into())
        )),
        None => out.push("forecast: no stored run has a closed period yet".into()),
    }
    out.extend(fc.iter().filter_map(|a| {
        a.drift
            .as_ref()
            .map(|d| format!("forecast run {}: {d}", a.run_id))
    }));
    Ok(out)
}
