//! The real binary: exit codes, formats, messages on bad input.

mod common;
use assert_cmd::Command;
use predicates::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn funnel(db: &Path) -> Command {
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.arg("--db").arg(db_arg(db)).env_remove("FUNNEL_DB");
    if let Some(s) = pg_server() {
        c.env("PGPASSWORD", &s.password)
            .env("XDG_DATA_HOME", server_data_home());
    }
    c
}

/// The binary as a plain process on `db`, for tests that read its output as it comes.
fn raw_funnel(db: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("funnel"));
    c.arg("--db").arg(db_arg(db)).env_remove("FUNNEL_DB");
    if let Some(s) = pg_server() {
        c.env("PGPASSWORD", &s.password)
            .env("XDG_DATA_HOME", server_data_home());
    }
    c
}

/// With `FUNNEL_TEST_CLI_ON=postgres` (`.ci/run` sets it for a second run of this file)
/// every database a test names is a database of its own on the test server instead of
/// the file.
fn on_postgres() -> bool {
    std::env::var("FUNNEL_TEST_CLI_ON").as_deref() == Ok("postgres")
}

fn pg_server() -> Option<&'static common::pg::Server> {
    static SERVER: OnceLock<Option<common::pg::Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let s = on_postgres().then(|| common::pg::server("cli")).flatten();
            assert!(
                s.is_some() || !on_postgres(),
                "FUNNEL_TEST_CLI_ON=postgres needs the test server (FUNNEL_TEST_PG_URL)"
            );
            s
        })
        .as_ref()
}

/// funnel's data directory for the server run (where the rolling backups of a server's
/// database go), so that the tests leave nothing in the user's own
/// (it is under `target/`).
fn server_data_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-server-data")
}

/// The server's databases standing for the tests' files (dropped with the server, which
/// `.ci/run` throws away).
fn pg_databases() -> &'static Mutex<HashMap<PathBuf, common::pg::Scratch>> {
    static DBS: OnceLock<Mutex<HashMap<PathBuf, common::pg::Scratch>>> = OnceLock::new();
    DBS.get_or_init(Default::default)
}

/// What `--db` is given for `db`: the file, or the URL of its database on the server.
fn db_arg(db: &Path) -> std::ffi::OsString {
    let Some(s) = pg_server() else {
        return db.as_os_str().to_owned();
    };
    let mut dbs = pg_databases().lock().unwrap_or_else(|e| e.into_inner());
    let n = dbs.len();
    dbs.entry(db.to_path_buf())
        .or_insert_with(|| common::pg::Scratch::new(s, &format!("cli{n}")))
        .url
        .clone()
        .into()
}

/// On the server, skips a test about the database file itself (saying so on stderr).
fn file_only(test: &str, why: &str) -> bool {
    if on_postgres() {
        eprintln!("SKIPPED cli::{test} on PostgreSQL: {why}");
    }
    on_postgres()
}

/// The first column of a query's one row in the database `db`, on either backend (the
/// query in the SQL both speak).
fn one<T>(db: &Path, sql: &str) -> T
where
    T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>,
{
    if pg_server().is_some() {
        db_arg(db);
        let dbs = pg_databases().lock().unwrap_or_else(|e| e.into_inner());
        return dbs[db].client().query_one(sql, &[]).unwrap().get(0);
    }
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Runs a statement on the database `db` behind funnel's back, on either backend.
fn exec(db: &Path, sql: &str) {
    if pg_server().is_some() {
        db_arg(db);
        let dbs = pg_databases().lock().unwrap_or_else(|e| e.into_inner());
        dbs[db].client().batch_execute(sql).unwrap();
        return;
    }
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// The database `db` opened in this process through the app layer, on either backend.
fn open_app(db: &Path) -> Box<dyn funnel::store::backend::Backend> {
    let arg = db_arg(db);
    let url = match pg_server() {
        Some(s) => arg
            .to_string_lossy()
            .replacen("://funnel@", &format!("://funnel:{}@", s.password), 1)
            .into(),
        None => arg,
    };
    funnel::app::open(Path::new(&url)).unwrap()
}

/// The error a statement run behind funnel's back gets, on either backend.
fn refused(db: &Path, sql: &str) -> String {
    if pg_server().is_some() {
        db_arg(db);
        let dbs = pg_databases().lock().unwrap_or_else(|e| e.into_inner());
        let e = dbs[db].client().batch_execute(sql).unwrap_err();
        return e
            .as_db_error()
            .map_or(e.to_string(), |d| d.message().to_string());
    }
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap_err()
        .to_string()
}

fn demo_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("demo.db");
    funnel(&db)
        .args([
            "demo",
            "--customers",
            "200",
            "--deals",
            "1000",
            "--months",
            "12",
            "--as-of",
            "2026-11-22",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("200 customers"));
    db
}

#[test]
fn empty_database_summary_points_to_demo_and_import() {
    if file_only(
        "empty_database_summary_points_to_demo_and_import",
        "a missing file is not created by reads; the server's database always exists",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    // A command that only reads never creates a database (a mistyped --db would make an
    // empty one and print empty tables): it names the path.
    for args in [
        &[][..],
        &["pipeline"][..],
        &["export", "deals"][..],
        &["doctor"][..],
    ] {
        funnel(&db)
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("new.db: no such database"));
    }
    assert!(!db.exists(), "nothing created");
    // Commands that need no database run without one.
    funnel(&db).args(["report", "--list"]).assert().success();
    assert!(!db.exists());
    funnel::store::Store::open(&db).unwrap();
    funnel(&db).assert().success().stdout(
        predicate::str::contains("The database is empty")
            .and(predicate::str::contains("funnel demo")),
    );
}

#[test]
fn demo_refuses_a_non_empty_database_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    funnel(&db)
        .args(["demo", "--customers", "50", "--deals", "100"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    funnel(&db)
        .args([
            "demo",
            "--customers",
            "50",
            "--deals",
            "100",
            "--force",
            "--as-of",
            "2026-11-22",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("50 customers"));
    funnel(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("customers           50"));
}

#[test]
fn db_comes_from_the_environment_when_no_flag() {
    if file_only(
        "db_comes_from_the_environment_when_no_flag",
        "checks that the file named by FUNNEL_DB is created",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let file = dir.path().join("c.csv");
    std::fs::write(&file, "external_id,name\nE1,From The Environment\n").unwrap();
    Command::cargo_bin("funnel")
        .unwrap()
        .env("FUNNEL_DB", &db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    assert!(db.exists());
}

#[test]
fn pipeline_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let table = funnel(&db)
        .args(["pipeline", "--format", "table"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.starts_with("stage "), "{table}");
    assert!(table.contains("open pipeline"));
    let csv_out = funnel(&db)
        .args(["--format", "csv", "pipeline"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut rdr = csv::Reader::from_reader(csv_out.as_slice());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
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
            "stale_deals"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let json = funnel(&db)
        .args(["pipeline", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let stages = v["stages"].as_array().unwrap();
    let total: i64 = stages.iter().map(|s| s["deals"].as_i64().unwrap()).sum();
    assert_eq!(
        total, 1001,
        "1000 deals and the demo's one planted mega deal"
    );
    // Weighted = value x probability, per stage.
    for s in stages {
        let w = s["value"].as_f64().unwrap() * s["probability"].as_f64().unwrap();
        assert!((w - s["weighted_value"].as_f64().unwrap()).abs() < 0.01);
    }
}

#[test]
fn import_reports_bad_rows_as_file_line_column_reason_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let file = common::data("hubspot_deals.csv");
    let out = funnel(&db)
        .args(["import", "deals"])
        .arg(&file)
        .arg("--create-missing")
        .assert()
        .code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let expected = format!("{}:157: Amount: 'TBD' is not an amount", file.display());
    assert!(stderr.lines().any(|l| l == expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 6);
    funnel(&db)
        .arg("--format")
        .arg("json")
        .arg("export")
        .arg("deals")
        .assert()
        .success()
        .stdout("[]\n");

    funnel(&db)
        .args(["import", "deals"])
        .arg(&file)
        .args(["--create-missing", "--skip-invalid"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("394 inserted")
                .and(predicate::str::contains("funnel import revert 1")),
        );
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("reverted import batch 1"));
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already reverted"));
    funnel(&db)
        .args(["import", "revert", "99"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no import batch 99"));
}

#[test]
fn dry_run_exit_code_follows_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let file = common::data("hubspot_deals.csv");
    funnel(&db)
        .args(["import", "deals"])
        .arg(&file)
        .args(["--create-missing", "--dry-run"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("dry run, nothing written"));
    funnel(&db)
        .args(["import", "deals"])
        .arg(&file)
        .args([
            "--create-missing",
            "--dry-run",
            "--skip-invalid",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"inserted\": 394"));
    funnel(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("empty"));
}

/// The HubSpot export: 180 of its 394 deals are open and long past their close date (an
/// export nobody updates). The pipeline backtest must not book them into every month at
/// their stage's odds: when a stage's few overdue deals were shrunk toward the stage's
/// rate, 12 of the 14 counted months fell below P10 (the first by nine times) and the
/// pinball loss was 72% of the mean actual; pooled across stages, 5 still fell below
/// (25%). The export's open deals sit in stages HubSpot gives 40–90% by default and none
/// of them ever won: with those defaults worth a fixed 20 deal-snapshots the stages kept
/// 15–30% and the months stayed over-forecast; judged by how far this data strays from
/// them, they are worth 1, and 11 of 14 months fall inside (12% pinball).
#[test]
fn the_backtest_of_a_stale_export_does_not_expect_its_overdue_deals_every_month() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hubspot.db");
    funnel(&db)
        .args(["import", "deals"])
        .arg(common::data("hubspot_deals.csv"))
        .args(["--create-missing", "--skip-invalid"])
        .assert()
        .success();
    let v = json_on(&db, "2026-12-03", &["pipeline", "--backtest"]);
    let summary = &v["correlated"];
    assert_eq!(summary["months"], 14, "{summary}");
    assert!(summary["inside"].as_f64().unwrap() >= 0.75, "{summary}");
    assert!(summary["below_p10"].as_i64().unwrap() <= 3, "{summary}");
    assert!(
        summary["pinball_relative"].as_f64().unwrap() < 0.2,
        "{summary}"
    );
    // Too few wins to tell a quarter-end pull from chance: none.
    let pipeline = json_on(&db, "2026-12-03", &["pipeline"]);
    assert_eq!(pipeline["forecast"]["quarter_pull"], 0.0);
    // The vendor's stage probabilities are contradicted, so they weigh next to nothing.
    let weights = &pipeline["forecast"]["prior_weights"];
    assert!(weights["stage"].as_f64().unwrap() <= 2.0, "{weights}");
    // HubSpot's one Close Date is both the expected and the actual close of a closed deal,
    // which the backtest cannot undo: it says so.
    assert_eq!(v["expected_is_close"], 1.0);
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-12-03")
        .args(["--format", "table", "pipeline", "--backtest"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "caution: 100% of these deals that closed have their close day as their expected close",
        ));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    funnel(&db)
        .args(["import", "widgets", "x.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'widgets'"))
        .stderr(predicate::str::contains("stage_changes, revert"));
    funnel(&db).args(["frobnicate"]).assert().code(2);
    funnel(&db)
        .args(["pipeline", "--format", "xml"])
        .assert()
        .code(2);
    funnel(&db)
        .args(["import", "deals", "x.csv", "--date-format", "whenever"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a date format"));
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    funnel(&db)
        .args(["import", "deals", "/nonexistent/file.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/file.csv"));
    let mapping = dir.path().join("m.toml");
    std::fs::write(&mapping, "[columns]\nthis is not toml").unwrap();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "name,amount\n").unwrap();
    funnel(&db)
        .args(["import", "deals"])
        .arg(&csv)
        .arg("--mapping")
        .arg(&mapping)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("m.toml"));
}

#[test]
fn refuses_newer_schema_foreign_and_non_sqlite_files() {
    if file_only("refuses_newer_schema_foreign_and_non_sqlite_files", "writes SQLite files by hand (tests/postgres.rs refuses a newer schema and foreign tables on the server)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    funnel::store::Store::open(&db).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    funnel(&db).arg("pipeline").assert().code(1).stderr(
        predicate::str::contains("schema version 99").and(predicate::str::contains("newer funnel")),
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "Dear diary, today I sold nothing. ".repeat(20)).unwrap();
    funnel(&text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a SQLite database"));
    let before = std::fs::read(&text).unwrap();
    assert_eq!(
        before,
        "Dear diary, today I sold nothing. ".repeat(20).into_bytes(),
        "the file is untouched"
    );

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes(x)")
        .unwrap();
    funnel(&other)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a funnel database"));
}

#[test]
fn export_csv_to_file_and_json_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = dir.path().join("customers.csv");
    funnel(&db)
        .args(["export", "customers", "-o"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("external_id,name,owner,industry,segment"));
    assert_eq!(text.lines().count(), 201);
    let json = funnel(&db)
        .args(["export", "stages", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6);
    // An unknown kind is a usage error, found by the argument parser (it exited 1 when
    // the store refused it).
    funnel(&db)
        .args(["export", "widgets"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'widgets'"))
        .stderr(predicate::str::contains("audit_log"));
}

#[test]
fn round_trip_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_db(dir.path());
    let dst = dir.path().join("copy.db");
    // The organisation first, then the customers and deals, then the deals' real stage
    // history (which replaces the history inferred when the deals came in).
    for kind in common::IMPORT_KINDS {
        let first = dir.path().join(format!("{kind}-1.csv"));
        let second = dir.path().join(format!("{kind}-2.csv"));
        funnel(&src)
            .args(["export", kind, "-o"])
            .arg(&first)
            .assert()
            .success();
        funnel(&dst)
            .args(["import", kind])
            .arg(&first)
            .arg("--create-missing")
            .assert()
            .success();
        funnel(&dst)
            .args(["export", kind, "-o"])
            .arg(&second)
            .assert()
            .success();
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
            "{kind}"
        );
    }
}

#[cfg(unix)]
#[test]
fn new_database_is_private_to_its_owner() {
    if file_only(
        "new_database_is_private_to_its_owner",
        "the file's permissions",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    funnel(&db)
        .args(["targets", "set", "--period", "2027-01", "--company", "1000"])
        .assert()
        .success();
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[cfg(unix)]
#[test]
fn export_never_writes_over_the_database_a_link_or_an_existing_file() {
    if file_only(
        "export_never_writes_over_the_database_a_link_or_an_existing_file",
        "the database file and its WAL as export targets",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let before = std::fs::read(&db).unwrap();
    for target in [db.clone(), dir.path().join("demo.db-wal")] {
        funnel(&db)
            .args(["export", "customers", "--force", "-o"])
            .arg(&target)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is the database"));
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database is untouched"
    );
    // An existing file needs --force; a symlink is never followed.
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "keep me").unwrap();
    funnel(&db)
        .args(["export", "customers", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists: give --force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    funnel(&db)
        .args(["export", "customers", "--force", "-o"])
        .arg(&link)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    funnel(&db)
        .args(["export", "customers", "--force", "-o"])
        .arg(&out)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("external_id,name"));
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn exported_formulas_are_text_for_spreadsheets_and_import_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let file = dir.path().join("c.csv");
    std::fs::write(
        &file,
        "external_id,name,city\nF1,\"=HYPERLINK(\"\"http://evil.example\"\")\",@SUM(A1)\nF2,Plain,-minus\n",
    )
    .unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    let out = dir.path().join("out.csv");
    funnel(&db)
        .args(["export", "customers", "-o"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("F1,\"'=HYPERLINK(\"\"http://evil.example\"\")\","),
        "{text}"
    );
    assert!(text.contains(",'@SUM(A1),"), "{text}");
    assert!(text.contains("'-minus"), "{text}");
    // Importing the export reads the escapes back: nothing changes.
    funnel(&db)
        .args(["import", "customers"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 updated, 2 unchanged"));
    // --raw writes them as they are.
    funnel(&db)
        .args(["export", "customers", "--raw", "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains("@SUM(A1)").and(predicate::str::contains("'@").not()));
}

#[test]
fn control_characters_are_refused_at_import_and_never_printed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let file = dir.path().join("c.csv");
    std::fs::write(
        &file,
        "external_id,name,city\nE1,\x1b]0;owned\x07Acme,Oslo\nE2,Bolt\x00,Rome\nE3,Core,Bergen\n",
    )
    .unwrap();
    let out = funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2: name: contains a control character (U+001B) at character 1"),
        "{err}"
    );
    assert!(
        err.contains(":3: name: contains a control character (U+0000)"),
        "{err}"
    );
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    // A malformed time is not a date.
    std::fs::write(
        &file,
        "external_id,name,created_on\nT1,Timely,2025-01-01T25:99:99\n",
    )
    .unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("created_on"));
    // Data that reached the database some other way is printed escaped in tables.
    funnel(&db)
        .args(["import", "customers"])
        .arg({
            std::fs::write(&file, "external_id,name\nOK1,Fine\n").unwrap();
            &file
        })
        .assert()
        .success();
    exec(
        &db,
        "UPDATE customers SET name = 'Evil\u{1b}[2J' WHERE external_id = 'OK1'",
    );
    let out = funnel(&db)
        .args(["export", "customers", "--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Evil\\u001b[2J"), "JSON escapes it: {text}");
}

#[test]
fn recompute_stores_forecasts_and_scores_together_or_not_at_all() {
    if file_only(
        "recompute_stores_forecasts_and_scores_together_or_not_at_all",
        "simulates a failing disk with SQLite triggers",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let runs = |db: &Path| -> (i64, i64) {
        let conn = rusqlite::Connection::open(db).unwrap();
        (
            conn.query_row("SELECT count(*) FROM forecast_runs", [], |r| r.get(0))
                .unwrap(),
            conn.query_row("SELECT count(*) FROM model_runs", [], |r| r.get(0))
                .unwrap(),
        )
    };
    funnel(&db)
        .arg("recompute")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "stored customer intelligence run 1",
        ));
    let before = runs(&db);
    assert_eq!(before.1, 1, "a model run next to the forecast run");
    // The customer intelligence is stored in a transaction of its own: when it fails the
    // forecasts and scores are kept, the values stored before stay as they were, and the
    // command says so.
    let intel = |db: &Path| -> (i64, i64, i64) {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row(
            "SELECT (SELECT count(*) FROM intel_runs), (SELECT count(*) FROM segment_runs),
               (SELECT coalesce(sum(predicted_value_cents), 0) FROM customer_intel)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let stored = intel(&db);
    assert!(stored.0 == 1 && stored.1 == 1 && stored.2 > 0, "{stored:?}");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER fail_intel BEFORE INSERT ON intel_runs
             BEGIN SELECT RAISE(ABORT, 'intel disk full (simulated)'); END;",
        )
        .unwrap();
    }
    funnel(&db)
        .arg("recompute")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "customer intelligence not stored: database error: intel disk full (simulated)",
        ));
    assert_eq!(
        intel(&db),
        stored,
        "the earlier values are kept whole, and no segment run without them"
    );
    assert_eq!(
        runs(&db),
        (before.0 + 1, before.1 + 1),
        "forecasts and scores kept"
    );
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TRIGGER fail_intel")
        .unwrap();
    let before = runs(&db);
    // Storing the model run fails (as a full disk or a broken database would): the forecast
    // run computed before it is not kept either, and the command fails.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER fail_models BEFORE INSERT ON model_runs
             BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;",
        )
        .unwrap();
    }
    funnel(&db)
        .arg("recompute")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("disk full (simulated)"));
    assert_eq!(runs(&db), before, "nothing stored");
}

#[test]
fn backup_while_another_process_writes_then_restore_keeps_the_current_aside() {
    if file_only(
        "backup_while_another_process_writes_then_restore_keeps_the_current_aside",
        "restore replaces the file (refused on a server, with what to do instead)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let backup = dir.path().join("backup.db");
    // Another process writes while the backup is taken.
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..8 {
                funnel(&db)
                    .args(["targets", "set", "--period", "2027-01", "--company"])
                    .arg(format!("{}", 100_000 + i))
                    .args(["--reason", "while backing up"])
                    .assert()
                    .success();
            }
        })
    };
    funnel(&db)
        .arg("backup")
        .arg(&backup)
        .assert()
        .success()
        .stdout(predicate::str::contains("integrity checked"));
    writer.join().unwrap();
    funnel(&backup).arg("doctor").assert().success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
            0o600,
            "a backup is as private as the database"
        );
    }
    // An empty FUNNEL_TODAY is ignored (cron and containers set variables empty).
    funnel(&db)
        .arg("pipeline")
        .env("FUNNEL_TODAY", "")
        .assert()
        .success();
    // A backup never replaces a file.
    funnel(&db)
        .arg("backup")
        .arg(&backup)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    // A change after the backup, then the restore: the change is gone, and the contents
    // before the restore are kept beside the database.
    let file = dir.path().join("new.csv");
    std::fs::write(&file, "external_id,name\nNEW1,Arrived After The Backup\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    let has_new = |path: &Path| -> i64 {
        one(
            path,
            "SELECT count(*) FROM customers WHERE external_id = 'NEW1'",
        )
    };
    assert_eq!(has_new(&db), 1);
    let out = funnel(&db).arg("restore").arg(&backup).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(has_new(&db), 0, "the backup's contents");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let aside = text.split("kept at ").nth(1).unwrap().trim().to_string();
    assert_eq!(has_new(Path::new(&aside)), 1, "the contents before, kept");
    funnel(&db).arg("doctor").assert().success();
    let restored: i64 = one(
        &db,
        "SELECT count(*) FROM audit_log WHERE note LIKE 'restored from %'",
    );
    assert_eq!(restored, 1, "the restore is audited");
    // Something that is not a funnel backup is refused and changes nothing.
    std::fs::write(&file, "not a database").unwrap();
    funnel(&db)
        .arg("restore")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a SQLite database"));
    funnel(&db).arg("doctor").assert().success();
}

#[test]
fn a_damaged_database_takes_no_more_writes_until_restored() {
    if file_only(
        "a_damaged_database_takes_no_more_writes_until_restored",
        "damages the file's pages",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let backup = dir.path().join("good.db");
    funnel(&db).arg("backup").arg(&backup).assert().success();
    // Zero one 4 KiB page in the middle of the file (the WAL was checkpointed when the
    // last connection closed).
    {
        use std::io::{Seek, SeekFrom, Write};
        let len = std::fs::metadata(&db).unwrap().len();
        let page = (len / 4096) / 2;
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0u8; 4096]).unwrap();
    }
    funnel(&db)
        .arg("doctor")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("funnel restore"));
    let set_target = || {
        let mut c = funnel(&db);
        c.args(["targets", "set", "--period", "2027-01", "--company", "5000"]);
        c
    };
    set_target()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("failed its integrity check"));
    let file = dir.path().join("c.csv");
    std::fs::write(&file, "external_id,name\nZ1,Into The Damage\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("writes are refused"));
    // Reads still work where they can; a restore of a good backup lifts the refusal.
    funnel(&db).arg("restore").arg(&backup).assert().success();
    set_target().assert().success();
    funnel(&db).arg("doctor").assert().success();
}

#[test]
fn an_older_database_is_migrated_and_never_reuses_ids() {
    if file_only(
        "an_older_database_is_migrated_and_never_reuses_ids",
        "a SQLite file of schema 4",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures/schema_v4.db"),
        &db,
    )
    .unwrap();
    let indexes_before: i64 = one(
        &db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    );
    funnel(&db).arg("doctor").assert().success();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(q("PRAGMA user_version"), funnel::store::SCHEMA_VERSION);
    assert_eq!(
        q("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"),
        // The twelve user-data tables, since schema 9 the segment runs, since 10 the
        // customer-intelligence runs, since 11 saved plans, rule runs and rule actions.
        17,
        "every user-data table"
    );
    assert_eq!(
        q("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"),
        // Schema 9 adds `segment_members_run`; 10 the three sort indexes of `customer_intel`;
        // 11 `plans_rep`, `rule_runs_rule` and `rule_actions_open_alerts`; 12
        // `deal_score_history_deal`.
        indexes_before + 8,
        "no index lost"
    );
    assert_eq!(
        (
            q("SELECT count(*) FROM customers"),
            q("SELECT count(*) FROM deals"),
            q("SELECT count(*) FROM orders")
        ),
        (3, 2, 1)
    );
    // Every customer has its (empty) row of derived values, for the list's sorts.
    assert_eq!(
        q("SELECT count(*) FROM customer_intel WHERE as_of IS NULL"),
        3
    );
    // Batch 2's customers (ids 4 and 5) were deleted before the migration: a new customer
    // does not take their ids, which the audit trail still names.
    let file = dir.path().join("n.csv");
    std::fs::write(&file, "external_id,name\nC6,Zeta\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(q("SELECT id FROM customers WHERE external_id = 'C6'"), 6);
    // Reverts still see what came later (the deal import made customer 1 active).
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("customer 1"));
    funnel(&db)
        .args(["import", "revert", "3"])
        .assert()
        .success();
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .success();
    assert_eq!(q("SELECT count(*) FROM customers"), 1);
}

#[test]
fn an_encrypted_database_needs_its_key_and_a_wrong_one_changes_nothing() {
    if file_only(
        "an_encrypted_database_needs_its_key_and_a_wrong_one_changes_nothing",
        "encrypts the file (refused on a server)",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let key = dir.path().join("key");
    std::fs::write(&key, "correct horse battery staple\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    funnel(&db)
        .arg("--key-file")
        .arg(&key)
        .arg("encrypt")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("can be read by others"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pipeline_plain = funnel(&db)
        .args(["pipeline", "--format", "csv"])
        .output()
        .unwrap();
    // A stage name the demo stores as text, readable in the plain file.
    let name = "Prospecting";
    let plain_bytes = std::fs::read(&db).unwrap();
    assert!(plain_bytes
        .windows(name.len())
        .any(|w| w == name.as_bytes()));
    // Refused while another connection has the file open (it would go on writing to the
    // old file).
    {
        let other = rusqlite::Connection::open(&db).unwrap();
        let _: i64 = other
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap();
        funnel(&db)
            .arg("--key-file")
            .arg(&key)
            .arg("encrypt")
            .assert()
            .code(1)
            .stderr(predicate::str::contains("has the database open"));
    }
    funnel(&db)
        .arg("--key-file")
        .arg(&key)
        .arg("encrypt")
        .assert()
        .success()
        .stdout(predicate::str::contains("encrypted"));
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(
        !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
        "no plain text of the data in the file"
    );
    // Without the key: a clear message. With a wrong key: refused, nothing changed.
    funnel(&db)
        .arg("pipeline")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("FUNNEL_KEY"));
    funnel(&db)
        .arg("pipeline")
        .env("FUNNEL_KEY", "wrong")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("key is wrong").and(predicate::str::contains("ERROR").not()),
        );
    funnel(&db)
        .args(["targets", "set", "--period", "2027-01", "--company", "5000"])
        .env("FUNNEL_KEY", "wrong")
        .assert()
        .code(1);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "a wrong key changes nothing"
    );
    assert!(!dir.path().join("demo.db.damaged").exists());
    // With the key, everything as before; backups are encrypted with it.
    let with_key = |args: &[&str]| {
        let mut c = funnel(&db);
        c.args(args)
            .env("FUNNEL_KEY", "correct horse battery staple");
        c
    };
    let out = with_key(&["pipeline", "--format", "csv"]).output().unwrap();
    assert_eq!(out.stdout, pipeline_plain.stdout);
    let backup = dir.path().join("b.db");
    with_key(&["backup", backup.to_str().unwrap()])
        .assert()
        .success();
    assert!(!std::fs::read(&backup)
        .unwrap()
        .starts_with(b"SQLite format 3"));
    funnel(&backup)
        .arg("doctor")
        .arg("--key-file")
        .arg(&key)
        .assert()
        .success();
    funnel(&backup).arg("doctor").assert().code(1);
    // A plain copy, then decrypting in place.
    let plain = dir.path().join("plain.db");
    with_key(&["decrypt", "-o", plain.to_str().unwrap()])
        .assert()
        .success();
    let out = funnel(&plain)
        .args(["pipeline", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, pipeline_plain.stdout);
    with_key(&["decrypt"]).assert().success();
    assert!(std::fs::read(&db).unwrap().starts_with(b"SQLite format 3"));
    funnel(&db).arg("doctor").assert().success();
    let notes: i64 = one(
        &db,
        "SELECT count(*) FROM audit_log WHERE note LIKE 'encrypted%' OR note = 'decrypted'",
    );
    assert_eq!(notes, 2, "both conversions audited");
}

#[test]
fn imports_stream_and_refuse_oversized_fields_and_endless_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    // A field over 1 MiB: refused with its line and column; the other rows go in with
    // --skip-invalid.
    let file = dir.path().join("big-field.csv");
    let mut text = String::from("external_id,name,city\nB1,Fine,Lima\n");
    text.push_str(&format!("B2,Too Long,\"{}\"\n", "x".repeat(1_100_000)));
    text.push_str("B3,Also Fine,Quito\n");
    std::fs::write(&file, &text).unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            ":3: city: a value of 1100000 bytes, longer than the 1 MiB",
        ));
    funnel(&db)
        .args(["import", "customers", "--skip-invalid"])
        .arg(&file)
        .assert()
        .success();
    let names: i64 = one(&db, "SELECT count(*) FROM customers");
    assert_eq!(names, 2);
    // An endless record (/dev/zero, or a quote never closed in a large file) is refused
    // at 8 MiB, naming where it began, and nothing of the file is imported.
    funnel(&db)
        .args(["import", "customers", "/dev/zero"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "line 1: a record longer than 8 MiB",
        ));
    let open_quote = dir.path().join("open-quote.csv");
    let mut text = String::from("external_id,name,city\nQ1,Quoted,Lima\nQ2,\"Never closed,Lima\n");
    for i in 0..400_000 {
        text.push_str(&format!("Q{i},Row {i},Somewhere\n"));
    }
    std::fs::write(&open_quote, &text).unwrap();
    funnel(&db)
        .args(["import", "customers", "--skip-invalid"])
        .arg(&open_quote)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "line 3: a record longer than 8 MiB",
        ));
    let names: i64 = one(&db, "SELECT count(*) FROM customers");
    assert_eq!(names, 2, "nothing of a refused file");
}

#[test]
fn target_revisions_are_shown_and_exported_in_money_not_cents() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    funnel(&db)
        .args([
            "targets",
            "set",
            "--period",
            "2027-01",
            "--company",
            "250000",
            "--reason",
            "plan",
        ])
        .assert()
        .success();
    let id: i64 = one(&db, "SELECT id FROM targets");
    funnel(&db)
        .args([
            "targets",
            "revise",
            &id.to_string(),
            "260000",
            "--reason",
            "hire",
        ])
        .assert()
        .success();
    let history = funnel(&db)
        .args(["targets", "history", &id.to_string(), "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(history.stdout).unwrap();
    assert!(
        text.contains("250000.00") && text.contains("260000.00"),
        "{text}"
    );
    assert!(!text.contains("25000000"), "{text}");
    let export = funnel(&db)
        .args(["export", "target_revisions"])
        .output()
        .unwrap();
    let text = String::from_utf8(export.stdout).unwrap();
    assert!(text.contains("won_revenue,250000.00,260000.00"), "{text}");
}

#[test]
fn a_file_cut_short_inside_a_quoted_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let file = dir.path().join("cut.csv");
    std::fs::write(
        &file,
        "external_id,name,city\nC1,Acme,Lima\nC2,\"Cut Short Ltd,Qui",
    )
    .unwrap();
    for extra in [&[][..], &["--skip-invalid"][..], &["--dry-run"][..]] {
        funnel(&db)
            .args(["import", "customers"])
            .args(extra)
            .arg(&file)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "cut.csv:3: the file ends inside a quoted field",
            ));
    }
    let n: i64 = one(&db, "SELECT count(*) FROM customers");
    assert_eq!(n, 0);
}

#[test]
fn evaluating_and_explaining_scores_write_nothing_and_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let runs = || -> i64 { one(&db, "SELECT count(*) FROM model_runs") };
    let before = runs();
    let out = funnel(&db)
        .args(["score", "--evaluate", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["base_rate_log_loss"].as_f64().is_some(), "{v}");
    assert_eq!(v["reliability"].as_array().unwrap().len(), 10);
    assert_eq!(
        v["learners"].as_array().unwrap().len(),
        3,
        "logistic, tree, naive Bayes"
    );
    let deal: String = one(&db, "SELECT d.external_id FROM deals d JOIN stages s ON s.id = d.stage_id WHERE s.kind = 'open' ORDER BY d.id LIMIT 1");
    let out = funnel(&db)
        .args(["score", "--explain", &deal, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["factors"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(runs(), before, "reading wrote no model run");
    funnel(&db)
        .args(["score", "--format", "csv"])
        .assert()
        .success();
    assert_eq!(runs(), before + 1, "scoring stores one");
}

#[test]
fn every_usage_error_exits_2_and_unused_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let series = dir.path().join("s.csv");
    std::fs::write(&series, "series,period,value\na,2024-01,1\n").unwrap();
    let cases: &[&[&str]] = &[
        &["targets", "list", "--period", "2026-13"],
        &["targets", "set", "--period", "nope", "--company", "5"],
        &["targets", "set", "--period", "2027-01", "5"],
        &["forecast", "--period", "decade"],
        &["import", "revert", "abc"],
        &["report", "funnel", "--by", "rep"],
        &["report", "velocity", "--period", "2026-Q1"],
        &["report", "win-rates", "--period", "2026-13"],
        &["forecast", "accuracy", "--by", "team"],
        &["export", "deals", "--format", "table"],
        &["--today", "nope", "pipeline"],
        &["targets", "list", "--scope", "galaxy"],
        &[
            "targets", "propose", "--method", "magic", "--period", "2027-01",
        ],
        &["forecast", "--method", "prophet"],
    ];
    for args in cases {
        let out = funnel(&db).args(*args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{args:?} says why");
    }
    let out = funnel(&db)
        .args(["forecast", "--by", "team", "--series"])
        .arg(&series)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--by team is for forecasts of the database")
    );
}

#[test]
fn format_is_honoured_by_commands_that_otherwise_print_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let json = |args: &[&str]| -> serde_json::Value {
        let out = funnel(&db)
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let list = json(&["report", "--list"]);
    assert_eq!(
        list.as_array().unwrap().len(),
        funnel::app::reports::REPORTS.len()
    );
    assert_eq!(list[0]["name"], "funnel");
    let set = json(&[
        "targets",
        "set",
        "--period",
        "2031-01",
        "--company",
        "250000",
    ]);
    assert_eq!(set[0]["change"], "set");
    assert_eq!(set[0]["new"], 250000.0, "money, not cents");
    let id = set[0]["target"].as_i64().unwrap().to_string();
    let revised = json(&["targets", "revise", &id, "260000", "--reason", "hire"]);
    assert_eq!(revised[0]["change"], "revised");
    assert_eq!(revised[0]["old"], 250000.0);
    let recompute = json(&["recompute"]);
    assert!(
        recompute[0]["forecast_run"].as_i64().is_some(),
        "{recompute}"
    );
    // Without --format, a sentence (also when piped).
    funnel(&db)
        .args(["targets", "revise", &id, "270000", "--reason", "again"])
        .assert()
        .success()
        .stdout(predicate::str::contains("revised from"));
}

#[test]
fn an_ad_hoc_forecast_never_replaces_the_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let recompute = funnel(&db)
        .args(["recompute", "--format", "json", "--today", "2026-11-22"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&recompute.stdout).unwrap();
    let dashboard_run = v[0]["forecast_run"].as_i64().unwrap();
    for args in [
        &["forecast", "--by", "team", "--today", "2026-06-30"][..],
        &["forecast", "--by", "team", "--today", "2026-11-22"][..],
        &["forecast", "--by", "rep"][..],
    ] {
        funnel(&db)
            .args(args)
            .args(["--format", "csv"])
            .assert()
            .success();
    }
    let store = open_app(&db);
    let shown = funnel::app::dashboard::load(&*store, today)
        .unwrap()
        .forecast
        .unwrap();
    assert_eq!(
        shown.id, dashboard_run,
        "the recompute's run, not the newest ad-hoc one"
    );
    // Viewing a day before any recompute: no forecast rather than one made for later.
    let earlier = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    assert!(funnel::app::dashboard::load(&*store, earlier)
        .unwrap()
        .forecast
        .is_none());
}

#[test]
fn the_dashboard_and_pipeline_show_one_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = funnel(&db)
        .args(["pipeline", "--format", "json", "--today", "2026-11-22"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let store = open_app(&db);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let dashboard = funnel::app::dashboard::conversions(&*store, today).unwrap();
    let mut compared = 0;
    for s in v["stages"].as_array().unwrap() {
        if let Some(c) = s["conversion"].as_f64() {
            let name = s["stage"].as_str().unwrap();
            assert!(
                (dashboard[name] - c).abs() < 1e-9,
                "{name}: {} vs {c}",
                dashboard[name]
            );
            compared += 1;
        }
    }
    assert!(compared >= 3, "{v}");
}

#[test]
fn projections_come_with_their_p10_to_p90_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let out = funnel(&db)
        .args([
            "targets",
            "list",
            "--period",
            "2026-11",
            "--format",
            "json",
            "--today",
            "2026-11-22",
        ])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ranged = 0;
    for r in rows.as_array().unwrap() {
        if let (Some(lo), Some(p), Some(hi)) = (
            r["projected_p10"].as_f64(),
            r["projected"].as_f64(),
            r["projected_p90"].as_f64(),
        ) {
            assert!(lo <= p + 1e-9 && p <= hi + 1e-9, "{r}");
            ranged += 1;
        }
    }
    assert!(ranged > 0, "{rows}");
    let report = funnel(&db)
        .args([
            "report",
            "leaderboard",
            "--format",
            "csv",
            "--today",
            "2026-11-22",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(report.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with("projected,projected_p10,projected_p90"),
        "{text}"
    );
}

#[test]
fn completions_man_page_and_config_need_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    for (shell, marker) in [
        ("bash", "_funnel()"),
        ("zsh", "#compdef funnel"),
        ("fish", "complete -c funnel"),
    ] {
        funnel(&db)
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
    funnel(&db)
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH funnel").and(predicate::str::contains("import")));
    let home = dir.path().join("home");
    let config = home.join(".config/funnel");
    std::fs::create_dir_all(&config).unwrap();
    let run = |args: &[&str]| {
        let mut c = funnel(&db);
        c.args(args)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"));
        c
    };
    run(&["config", "path"]).assert().success().stdout(
        predicate::str::contains("funnel/config.toml").and(predicate::str::contains(
            db_arg(&db).to_string_lossy().into_owned(),
        )),
    );
    std::fs::write(
        config.join("config.toml"),
        "theme = \"light\"\ncolour = \"red\"\n",
    )
    .unwrap();
    run(&["config", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "unknown key 'colour' (known: theme, user_name, rep, priority)",
        ));
    // A [priority] table with an unknown factor or a negative weight is named too.
    std::fs::write(
        config.join("config.toml"),
        "[priority]\noverdue = 0.5\nvalue = -1\n",
    )
    .unwrap();
    run(&["config", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "[priority] value: a number of 0 or more",
        ));
    std::fs::write(config.join("config.toml"), "[priority]\nspeed = 2\n").unwrap();
    run(&["config", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[priority] speed: unknown"));
    std::fs::write(
        config.join("config.toml"),
        "theme = \"light\"\ncolour = \"red\"\n",
    )
    .unwrap();
    // Every other command says so too, and goes on.
    run(&["report", "--list"])
        .assert()
        .success()
        .stderr(predicate::str::contains("unknown key 'colour'"));
    assert!(!db.exists());
}

#[test]
fn doctor_finds_a_ledger_out_of_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    funnel(&db)
        .args(["doctor", "--format", "table"])
        .assert()
        .success()
        .stdout(predicate::str::contains("integrity").and(predicate::str::contains("ok")));
    exec(
        &db,
        "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE deal_id IS NOT NULL)",
    );
    funnel(&db)
        .args(["doctor", "--format", "table"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 won deals without an order"))
        .stderr(predicate::str::contains("funnel restore"));
}

#[test]
fn the_audit_trail_names_the_real_account_is_append_only_and_says_what_demo_force_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    // $USER is anyone's to set: the account comes from the process's user id.
    let file = dir.path().join("c.csv");
    std::fs::write(&file, "external_id,name\nU1,Who Did This\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .env("USER", "mallory")
        .env("LOGNAME", "mallory")
        .assert()
        .success();
    let who: String = one(
        &db,
        "SELECT os_user FROM audit_log WHERE entity = 'customer' ORDER BY id DESC LIMIT 1",
    );
    assert_ne!(who, "mallory");
    assert!(!who.is_empty() && who != "unknown", "{who}");
    // No statement changes or removes an entry.
    for sql in [
        "UPDATE audit_log SET os_user = 'nobody'",
        "DELETE FROM audit_log",
    ] {
        let e = refused(&db, sql);
        assert!(e.contains("append-only"), "{e}");
    }
    // demo --force is audited as what it removed.
    funnel(&db)
        .args(["demo", "--customers", "50", "--deals", "200", "--force"])
        .assert()
        .success();
    let note: String = one(
        &db,
        "SELECT note FROM audit_log WHERE note LIKE 'demo --force removed %'",
    );
    assert!(note.contains("201 customers"), "{note}");
    assert!(note.contains("1001 deals"), "{note}"); // with the planted mega deal
}

#[cfg(unix)]
#[test]
fn files_that_are_not_a_funnel_database_get_a_clear_message_and_are_not_touched() {
    if file_only(
        "files_that_are_not_a_funnel_database_get_a_clear_message_and_are_not_touched",
        "files that are not databases",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    funnel(&empty)
        .arg("pipeline")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "an empty file, not a funnel database",
        ));
    assert_eq!(
        std::fs::metadata(&empty).unwrap().len(),
        0,
        "left as it was"
    );
    // Another application's SQLite file, even one with a user_version.
    let foreign = dir.path().join("foreign.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE notes(x); PRAGMA user_version = 7;")
            .unwrap();
    }
    funnel(&foreign)
        .arg("pipeline")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a funnel database"));
    funnel(Path::new("/dev/null"))
        .arg("pipeline")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a regular file"));
    let dangling = dir.path().join("dangling.db");
    std::os::unix::fs::symlink(dir.path().join("nowhere.db"), &dangling).unwrap();
    funnel(&dangling)
        .arg("pipeline")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("which does not exist"));
    assert!(!dir.path().join("nowhere.db").exists(), "nothing created");
}

#[test]
fn a_revert_never_takes_rows_written_later_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, "external_id,name\nK1,Keeper\n").unwrap();
    let contacts = dir.path().join("contacts.csv");
    std::fs::write(
        &contacts,
        "external_id,customer_external_id,name\nP1,K1,Pat Later\n",
    )
    .unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&customers)
        .assert()
        .success();
    funnel(&db)
        .args(["import", "contacts"])
        .arg(&contacts)
        .assert()
        .success();
    // The contact came in later, under the customer: reverting the customers would cascade
    // it away silently. Refused, naming it.
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("1 contacts (ids 1)"));
    funnel(&db)
        .args(["import", "revert", "2"])
        .assert()
        .success();
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .success();
    // After demo --force, an old batch's id ranges name new rows: it cannot be reverted.
    funnel(&db)
        .args(["import", "customers"])
        .arg(&customers)
        .assert()
        .success();
    funnel(&db)
        .args(["demo", "--customers", "20", "--deals", "40", "--force"])
        .assert()
        .success();
    let customers_before: i64 = one(&db, "SELECT count(*) FROM customers");
    funnel(&db)
        .args(["import", "revert", "3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("removed by demo --force"));
    let customers_after: i64 = one(&db, "SELECT count(*) FROM customers");
    assert_eq!(customers_after, customers_before);
}

#[test]
fn a_cascading_revert_takes_later_rows_audits_each_and_backs_up_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let customers = write("c.csv", "external_id,name,owner\nK1,Keeper,Rita Rep\n");
    let contacts = write(
        "k.csv",
        "external_id,customer_external_id,name\nP1,K1,Pat Later\n",
    );
    let deals = write(
        "d.csv",
        "external_id,customer_external_id,name,stage,amount,created_on,closed_on\n\
         D1,K1,Big one,Won,5000,2025-01-10,2025-02-01\n",
    );
    let other = write("o.csv", "external_id,name,owner\nO1,Other,Rita Rep\n");
    for (kind, file) in [
        ("customers", &customers),
        ("contacts", &contacts),
        ("deals", &deals),
        ("customers", &other),
    ] {
        funnel(&db)
            .args(["import", kind, "--create-missing"])
            .arg(file)
            .assert()
            .success();
    }
    let count = |sql: &str| -> i64 { one(&db, sql) };
    assert_eq!(count("SELECT count(*) FROM orders"), 1);
    funnel(&db)
        .args(["import", "revert", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--cascade"));
    funnel(&db)
        .args(["import", "revert", "1", "--cascade"])
        .assert()
        .success()
        .stdout(predicate::str::contains("later rows removed or unlinked"))
        .stderr(predicate::str::contains(
            "backup of the data before the revert",
        ));
    // The customer, its later contact, deal, the deal's history and its order are gone;
    // the other customer stays, its owner link (a rep batch 1 created) cleared.
    assert_eq!(count("SELECT count(*) FROM customers"), 1);
    assert_eq!(
        count("SELECT count(*) FROM contacts") + count("SELECT count(*) FROM deals"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM orders") + count("SELECT count(*) FROM stage_changes"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM customers WHERE owner_rep_id IS NOT NULL"),
        0
    );
    // Each row that went with them has its own audit entry with the row as it was.
    for (entity, action) in [
        ("contact", "delete"),
        ("customer", "update"),
        ("deal", "delete"),
        ("order", "delete"),
        ("stage_change", "delete"),
    ] {
        let n = count(&format!(
            "SELECT count(*) FROM audit_log WHERE note = 'revert cascade' AND entity = '{entity}' AND action = '{action}'"
        ));
        assert!(n > 0, "{entity} {action} missing from the audit trail");
    }
    assert_eq!(
        count(
            "SELECT count(*) FROM audit_log WHERE note = 'revert cascade' AND before_json IS NULL"
        ),
        0
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("backup-revert-cascade")
        })
        .collect();
    // Beside the file (a server's go to funnel's data directory).
    assert_eq!(backups.len(), usize::from(!on_postgres()));
    funnel(&db).arg("doctor").assert().success();
    // Ids are never handed out again: the customer imported anew is not customer 1.
    funnel(&db)
        .args(["import", "customers", "--create-missing"])
        .arg(&customers)
        .assert()
        .success();
    assert_eq!(
        count("SELECT min(id) FROM customers WHERE external_id = 'K1'"),
        3
    );
}

#[test]
fn the_audit_keeps_a_display_name_beside_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let file = dir.path().join("c.csv");
    std::fs::write(&file, "external_id,name\nN1,Named\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .env("FUNNEL_USER_NAME", "Ana Souza")
        .env("USER", "mallory")
        .assert()
        .success();
    let out = funnel(&db)
        .args(["audit", "--user", "Ana Souza", "--format", "json"])
        .output()
        .unwrap();
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &entries.as_array().unwrap()[0];
    assert_eq!(first["display_name"], "Ana Souza");
    let account = first["os_user"].as_str().unwrap();
    assert_ne!(
        account, "mallory",
        "the account comes from the uid, not $USER"
    );
    assert_ne!(account, "Ana Souza");
    funnel(&db)
        .args(["audit", "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{account} (Ana Souza)")));
}

#[test]
fn audit_lists_who_changed_what_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let file = dir.path().join("c.csv");
    std::fs::write(&file, "external_id,name\nA1,Audited\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    std::fs::write(&file, "external_id,name,city\nA1,Audited,Lima\n").unwrap();
    funnel(&db)
        .args(["import", "customers"])
        .arg(&file)
        .assert()
        .success();
    let out = funnel(&db)
        .args(["audit", "--entity", "customer", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    // Newest first: the update, with before and after.
    assert_eq!(rows[0]["action"], "update");
    assert!(rows[0]["after"].as_str().unwrap().contains("Lima"));
    assert!(rows[0]["before"]
        .as_str()
        .unwrap()
        .contains("\"city\":null"));
    assert_eq!(rows[1]["action"], "insert");
    funnel(&db)
        .args(["audit", "--user", "nobody-at-all", "--format", "csv"])
        .assert()
        .success()
        .stdout("id,at,user,action,entity,ids,batch,note\n");
    funnel(&db)
        .args(["audit", "--since", "yesterday"])
        .assert()
        .code(2);
    funnel(&db)
        .args(["audit", "--entity", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'nope'"))
        .stderr(predicate::str::contains("target_revision, database"));
    funnel(&db)
        .args(["report", "deal-stats", "--by", "planet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'planet'"));
}

#[test]
fn demo_force_keeps_a_rolling_backup_of_what_it_replaces() {
    if file_only(
        "demo_force_keeps_a_rolling_backup_of_what_it_replaces",
        "the backups beside the file (on a server they go to funnel's data directory)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    for _ in 0..4 {
        funnel(&db)
            .args(["demo", "--customers", "20", "--deals", "40", "--force"])
            .assert()
            .success()
            .stderr(predicate::str::contains("kept a backup"));
    }
    let backups: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".backup-demo-force-"))
        .collect();
    assert_eq!(backups.len(), 3, "the newest three are kept: {backups:?}");
    // The oldest kept backup is a sound funnel database.
    let oldest = backups.iter().min().unwrap();
    funnel(oldest).arg("doctor").assert().success();
}

#[test]
fn delete_says_what_would_go_and_needs_yes_and_force_for_revenue() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let count = |sql: &str| -> i64 { one(&db, sql) };
    let paying: String = one(&db, "SELECT c.external_id FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY c.id LIMIT 1");
    let customers = count("SELECT count(*) FROM customers");
    funnel(&db)
        .args(["delete", "customer", &paying])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("would delete customer")
                .and(predicate::str::contains("refused without --force"))
                .and(predicate::str::contains("add --yes")),
        );
    funnel(&db)
        .args(["delete", "customer", &paying, "--yes"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("revenue ledger").and(predicate::str::contains("--force")),
        );
    assert_eq!(count("SELECT count(*) FROM customers"), customers);
    funnel(&db)
        .args([
            "--format", "json", "delete", "customer", &paying, "--yes", "--force",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"deleted\": true"));
    assert_eq!(count("SELECT count(*) FROM customers"), customers - 1);
    funnel(&db)
        .args(["delete", "customer", &paying])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("'{paying}'")));
    funnel(&db).args(["delete", "team", "1"]).assert().code(2);
    // Merge: a dry run, then the merge; the ledger keeps its total.
    let revenue = count("SELECT CAST(sum(amount_cents) AS BIGINT) FROM orders");
    funnel(&db)
        .args(["merge", "C-000002", "C-000003"])
        .assert()
        .success()
        .stdout(predicate::str::contains("would merge").and(predicate::str::contains("add --yes")));
    assert_eq!(count("SELECT count(*) FROM customers"), customers - 1);
    funnel(&db)
        .args(["merge", "C-000002", "C-000003", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("merged customer"));
    assert_eq!(count("SELECT count(*) FROM customers"), customers - 2);
    assert_eq!(
        count("SELECT CAST(sum(amount_cents) AS BIGINT) FROM orders"),
        revenue
    );
    funnel(&db)
        .args(["merge", "C-000002", "C-000002"])
        .assert()
        .code(2);
    funnel(&db).args(["doctor"]).assert().success();
}

#[test]
fn pipeline_analyses_are_kept_per_data_version_and_any_write_refreshes_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let run = || {
        let out = funnel(&db)
            .env("FUNNEL_TODAY", "2026-11-22")
            .args(["--format", "json", "pipeline"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    let kept: i64 = one(&db, "SELECT count(*) FROM analysis_cache");
    // The report, what its simulation learned from history, and its σ judged on the six
    // months before (kept for the month and the closed history, not the data version).
    assert_eq!(kept, 3);
    // Read back, byte for byte the same (floats included).
    assert_eq!(run(), first);
    // A write (any, through funnel) makes the next read compute again.
    let open_deal = "FROM deals d JOIN stages s ON s.id = d.stage_id
             WHERE s.kind = 'open' ORDER BY d.id LIMIT 1";
    let deal: String = one(&db, &format!("SELECT d.external_id {open_deal}"));
    let stage: String = one(&db, &format!("SELECT s.name {open_deal}"));
    let deals_in = |json: &str| -> i64 {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == stage.as_str())
            .unwrap()["deals"]
            .as_i64()
            .unwrap()
    };
    let judged = || -> String {
        one(
            &db,
            "SELECT version FROM analysis_cache WHERE name = 'pipeline_error_sigma'",
        )
    };
    let judged_before = judged();
    funnel(&db)
        .args(["delete", "deal", &deal, "--yes"])
        .assert()
        .success();
    let after = run();
    assert_eq!(deals_in(&after), deals_in(&first) - 1);
    // Deleting an open deal leaves the closed history, and σ's judgement on it, as it was.
    assert_eq!(judged(), judged_before);
    // Another day is another analysis.
    let other = funnel(&db)
        .env("FUNNEL_TODAY", "2026-10-01")
        .args(["--format", "json", "pipeline"])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8(other.stdout).unwrap(), after);
    // A read-only database still answers (it just cannot keep the result).
    if on_postgres() {
        return;
    }
    let mut perms = std::fs::metadata(&db).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&db, perms).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&db).is_err() {
        funnel(&db)
            .env("FUNNEL_TODAY", "2026-09-01")
            .args(["pipeline"])
            .assert()
            .success();
    }
}

#[test]
fn an_export_into_a_reader_that_stops_early_is_not_an_error() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    for format in ["csv", "json"] {
        let mut child = raw_funnel(&db)
            .args(["--format", format, "export", "stage_changes"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: one line read, then the pipe closed.
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(!first.is_empty());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `funnel segments`: a stored run per call, the evaluation's fields in JSON, movement
/// against the run before, a customer's history, and a clear refusal on too few buyers.
#[test]
fn segments_are_stored_evaluated_and_traced_per_customer() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let run = |args: &[&str]| json_of(&db, args);
    let first = run(&["segments", "--evaluate"]);
    let k = first["k"].as_u64().unwrap();
    assert!((2..=8).contains(&k), "{first}");
    let sil = first["silhouette"].as_f64().unwrap();
    assert!(sil > 0.0 && sil <= 1.0, "{first}");
    let ari = first["adjusted_rand_min"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&ari), "{first}");
    let segments = first["segments"].as_array().unwrap();
    assert_eq!(segments.len() as u64, k);
    let placed: u64 = segments
        .iter()
        .map(|s| s["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(placed, first["customers"].as_u64().unwrap());
    assert!(segments
        .iter()
        .all(|s| !s["name"].as_str().unwrap().is_empty()
            && s["description"]
                .as_str()
                .unwrap()
                .contains("customers with")));
    assert!(first["previous_run"].is_null());
    // A second run is compared with the first.
    let second = run(&["segments"]);
    assert_eq!(second["previous_run"], first["run_id"]);
    assert!(second["adjusted_rand_min"].is_null());
    // One customer's history: a row per run.
    let history = run(&["segments", "--customer", "C-000001"]);
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    // Too few buyers: said, exit 1.
    let empty = dir.path().join("few.db");
    funnel(&empty)
        .args(["demo", "--customers", "5", "--deals", "10"])
        .assert()
        .success();
    funnel(&empty)
        .args(["segments"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("at least 10 are needed"));
}

/// BG/NBD + Gamma-Gamma on data funnel did not generate: the CDNOW sample (2,357 real
/// customers; see tests/data/README.md), imported as orders, fitted to 1997-09-30 and
/// scored to 1998-06-30. The reference is the `lifetimes` package on the same file and
/// split (`scripts/peer_lifetimes.py`): r 0.2426, α 30.8952, a 0.7929, b 2.4259;
/// p 6.2496, q 3.7442, v 15.4435; holdout purchases 1882 actual, 1653 predicted, MAE
/// 0.7855; revenue 70976 actual, 59932 predicted, MAE 30.408, Spearman 0.4264.
#[test]
fn clv_on_cdnow_matches_lifetimes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cdnow.db");
    funnel(&db)
        .args(["import", "orders"])
        .arg(common::data("cdnow_sample_orders.csv"))
        .arg("--create-missing")
        .assert()
        .success();
    let out = funnel(&db)
        .args(["--today", "1998-06-30", "clv", "--evaluate"])
        .args(["--calibration-end", "1997-09-30", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let e: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let near = |key: &str, got: &serde_json::Value, want: f64, rel: f64| {
        let g = got.as_f64().unwrap();
        assert!(
            (g / want - 1.0).abs() < rel,
            "{key}: {g} against lifetimes' {want}"
        );
    };
    // Parameters to three significant figures (the issue asks two).
    for (k, want) in [
        ("r", 0.2426),
        ("alpha", 30.8952),
        ("a", 0.7929),
        ("b", 2.4259),
    ] {
        near(k, &e["bgnbd"][k], want, 5e-3);
    }
    for (k, want) in [("p", 6.2496), ("q", 3.7442), ("gamma", 15.4435)] {
        near(k, &e["gamma_gamma"][k], want, 5e-3);
    }
    assert_eq!(e["customers"], 2357);
    assert_eq!(e["holdout_purchases_actual"].as_f64().unwrap(), 1882.0);
    near(
        "predicted purchases",
        &e["holdout_purchases_predicted"],
        1653.0,
        2e-3,
    );
    near("purchases MAE", &e["purchases_mae"], 0.7855, 2e-3);
    near("revenue actual", &e["revenue_actual"], 70976.0, 1e-4);
    near("revenue predicted", &e["revenue_predicted"], 59932.0, 2e-3);
    near("revenue MAE", &e["revenue_mae"], 30.408, 2e-3);
    near("Spearman", &e["spearman_revenue"], 0.4264, 5e-3);
    assert_eq!(e["deciles"].as_array().unwrap().len(), 10);
    // Values for every buyer, tiers 20/30/50.
    let out = funnel(&db)
        .args(["--today", "1998-06-30", "clv", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let customers = v["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 2357);
    let tier = |t: &str| customers.iter().filter(|c| c["tier"] == t).count();
    assert_eq!((tier("A"), tier("B"), tier("C")), (472, 707, 1178));
    let first = customers[0]["predicted_value"].as_f64().unwrap();
    let last = customers[2356]["predicted_value"].as_f64().unwrap();
    assert!(first > last && last >= 0.0);
    assert!(customers.iter().all(|c| {
        let p = c["p_alive"].as_f64().unwrap();
        (0.0..=1.0).contains(&p) && (c["churn_risk"].as_f64().unwrap() - (1.0 - p)).abs() < 1e-12
    }));
    // --evaluate without a calibration end is a usage error.
    funnel(&db).args(["clv", "--evaluate"]).assert().code(2);
    // …and so is a calibration end that leaves no holdout.
    funnel(&db)
        .args(["--today", "1998-06-30", "clv", "--evaluate"])
        .args(["--calibration-end", "1998-07-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be before today"));
}

/// Associations, recommendations with reasons, and their evaluation's fields.
#[test]
fn associations_and_recommendations_with_reasons_and_hit_rates() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let json = |args: &[&str]| json_of(&db, args);
    let rules = json(&["report", "associations", "--min-support", "0.02"]);
    let rules = rules.as_array().unwrap();
    assert!(!rules.is_empty());
    for r in rules {
        assert!(r["support"].as_f64().unwrap() >= 0.02);
        assert!(r["confidence"].as_f64().unwrap() >= 0.1);
        assert!(r["lift"].as_f64().unwrap() > 0.0);
    }
    // Per order (a customer's lines on one day): counted in orders, and the demo's
    // orders hold one product each, so its rules are over days with several products.
    let per_order = json(&["report", "associations", "--per", "order"]);
    for r in per_order.as_array().unwrap() {
        assert!(r["orders"].as_i64().unwrap() > 0, "{r}");
        assert!(r.get("customers").is_none());
    }
    funnel(&db)
        .args(["report", "win-rates", "--per", "order"])
        .assert()
        .code(2);
    let offers = json(&["recommend", "C-000002", "--top", "3"]);
    let offers = offers.as_array().unwrap();
    assert!(offers.len() <= 3);
    assert!(offers.iter().all(|o| {
        let why = o["reason"].as_str().unwrap();
        why.starts_with("bought ") || why.starts_with("popular: ")
    }));
    let h = json(&["recommend", "--evaluate", "--calibration-end", "2026-06-30"]);
    for k in [
        "hit_rate_at_3",
        "hit_rate_at_5",
        "popularity_hit_rate_at_3",
        "popularity_hit_rate_at_5",
    ] {
        let v = h[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k}: {h}");
    }
    // Thresholds go with the associations report only, and must be shares.
    funnel(&db)
        .args(["report", "win-rates", "--min-support", "0.1"])
        .assert()
        .code(2);
    funnel(&db)
        .args(["report", "associations", "--min-confidence", "3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a share between 0 and 1"));
    funnel(&db).args(["recommend"]).assert().code(2);
    funnel(&db)
        .args([
            "report",
            "associations",
            "--min-support",
            "0.05",
            "--by",
            "rep",
        ])
        .assert()
        .code(2);
}

/// The lost-reasons report counts every lost deal once (the same number the win-rates
/// report counts), names the stage they were lost at, and breaks down by rep.
#[test]
fn lost_reasons_account_for_every_lost_deal() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        json_of(&db, args).as_array().unwrap().clone()
    };
    let sum = |rows: &[serde_json::Value], col: &str| -> i64 {
        rows.iter().map(|r| r[col].as_i64().unwrap()).sum()
    };
    let reasons = json(&["report", "lost-reasons"]);
    let lost = sum(&json(&["report", "win-rates"]), "lost");
    assert!(lost > 0);
    assert_eq!(sum(&reasons, "lost"), lost);
    assert!(reasons
        .iter()
        .all(|r| r["lost_at"].as_str().unwrap().ends_with("%)")));
    let shares: f64 = reasons.iter().map(|r| r["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-6, "{shares}");
    assert_eq!(
        sum(&json(&["report", "lost-reasons", "--by", "rep"]), "lost"),
        lost
    );
}

/// `funnel needs`: the evaluation's fields, readable rules, one customer's ranking with the
/// rule behind it.
#[test]
fn needs_are_learned_evaluated_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let run = |args: &[&str]| json_of(&db, args);
    let e = run(&["needs", "--evaluate"]);
    for k in ["top1", "top3", "popularity_top1", "last_family_top1"] {
        let v = e[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k}: {e}");
    }
    assert!(e["top3"].as_f64().unwrap() >= e["top1"].as_f64().unwrap());
    let rules = run(&["needs", "--rules", "--depth", "2"]);
    let rules = rules.as_array().unwrap();
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|r| {
        let text = r["rule"].as_str().unwrap();
        text.starts_with("if ") && text.contains(" then ") && text.matches(" and ").count() <= 1
    }));
    let one = run(&["needs", "C-000002"]);
    let one = one.as_array().unwrap();
    if let Some(first) = one.first() {
        assert!(!first["because"].as_str().unwrap().is_empty());
    }
}

/// Runs funnel on `db` as of 2026-11-22 with `--format json`; what it printed, parsed.
fn json_of(db: &Path, args: &[&str]) -> serde_json::Value {
    json_on(db, "2026-11-22", args)
}

/// `json_of` as of another day.
fn json_on(db: &Path, today: &str, args: &[&str]) -> serde_json::Value {
    let out = funnel(db)
        .env("FUNNEL_TODAY", today)
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// The signals report finds the demo's planted burst of calls (60 in one day, 2026-10-13)
/// and explains every signal.
#[test]
fn signals_find_the_planted_activity_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let rows = json_of(&db, &["report", "signals"]);
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["check"] == "activity burst" && r["when"] == "2026-10"),
        "{rows:?}"
    );
    assert!(rows
        .iter()
        .all(|r| !r["explanation"].as_str().unwrap().is_empty()));
    for r in rows.iter().filter(|r| r["check"] == "orders stopped") {
        let silent = r["value"].as_f64().unwrap();
        assert!(silent >= 60.0 && silent > 3.0 * r["typical"].as_f64().unwrap());
    }
}

/// A reader that goes away (`funnel report … | head -1`) is not an error: no message, exit
/// 0, for a report printed as CSV through the csv writer too.
#[test]
fn a_report_read_only_in_part_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    // Enough customers that the output is larger than a pipe holds (64 KiB).
    funnel(&db)
        .args(["demo", "--customers", "3000", "--deals", "6000"])
        .assert()
        .success();
    for args in [&["clv", "--format", "csv"][..], &["export", "deals"][..]] {
        let mut child = raw_funnel(&db)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The pipe is closed here (the reader is dropped) while funnel still writes.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!first.is_empty());
    }
}

/// The agenda through the binary: whose it is, what is overdue, the ICS calendar parsed
/// back, and done / snooze / reassign, each audited.
#[test]
fn the_agenda_lists_follow_ups_exports_a_calendar_and_changes_activities() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let today = "2026-11-22";
    // Without a rep for the OS account, it says how to set one (and nothing else).
    funnel(&db)
        .env("FUNNEL_TODAY", today)
        .env_remove("FUNNEL_REP")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .arg("agenda")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("rep = \\\"Your Name\\\"")
                .or(predicate::str::contains("rep = \"Your Name\"")),
        );
    funnel(&db)
        .env("FUNNEL_TODAY", today)
        .args(["agenda", "--rep", "Nobody Here"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no rep named 'Nobody Here'"));
    let all = json_of(&db, &["agenda", "--all", "--days", "14"]);
    let all = all.as_array().unwrap();
    let activities: Vec<&serde_json::Value> =
        all.iter().filter(|r| r["activity"].is_string()).collect();
    assert!(!activities.is_empty(), "the demo schedules follow-ups");
    let overdue = json_of(&db, &["agenda", "--all", "--overdue"]);
    for r in overdue.as_array().unwrap() {
        assert!(r["due"].as_str().unwrap() < today, "{r}");
        assert!(r["overdue_days"].as_i64().unwrap() > 0);
    }
    // One rep's agenda is the part of everyone's with that rep.
    let rep = activities[0]["rep"].as_str().unwrap().to_string();
    let mine = json_of(&db, &["agenda", "--rep", &rep, "--days", "14"]);
    let mine = mine.as_array().unwrap();
    assert_eq!(
        mine.len(),
        all.iter().filter(|r| r["rep"] == rep.as_str()).count()
    );
    // The calendar: one event per follow-up, one to-do per contact overdue, lines ≤ 75
    // octets, CRLF; unfolded, every event names its activity.
    let ics = funnel(&db)
        .env("FUNNEL_TODAY", today)
        .args(["agenda", "--all", "--days", "14", "--format", "ics"])
        .output()
        .unwrap();
    assert!(ics.status.success());
    let text = String::from_utf8(ics.stdout).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.split("\r\n").all(|l| l.len() <= 75));
    let unfolded = text.replace("\r\n ", "");
    assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), activities.len());
    assert_eq!(
        unfolded.matches("BEGIN:VTODO").count(),
        all.len() - activities.len()
    );
    let first = activities[0]["activity"].as_str().unwrap();
    assert!(
        unfolded.contains(&format!("activity {first}")),
        "{unfolded}"
    );
    funnel(&db)
        .args(["pipeline", "--format", "ics"])
        .assert()
        .code(2);
    // Snooze, reassign, done: each audited; a done activity leaves the agenda and cannot
    // be done again.
    let change = |args: &[&str]| {
        funnel(&db)
            .env("FUNNEL_TODAY", today)
            .arg("agenda")
            .args(args)
            .assert()
            .success()
    };
    change(&["snooze", first, "--to", "2026-12-01"]);
    let other = all
        .iter()
        .filter_map(|r| r["rep"].as_str())
        .find(|r| *r != rep)
        .unwrap()
        .to_string();
    change(&["reassign", first, "--rep", &other]);
    change(&["done", first, "--outcome", "Booked a demo"]);
    let after = json_of(&db, &["agenda", "--all", "--days", "30"]);
    assert!(after
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["activity"].as_str() != Some(first)));
    funnel(&db)
        .env("FUNNEL_TODAY", today)
        .args(["agenda", "done", first])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already done on 2026-11-22"));
    let audit = json_of(&db, &["audit", "--entity", "activity"]);
    let updates = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "update")
        .count();
    assert_eq!(updates, 3, "{audit}");
}

/// The visit plan through the binary: scores with reasons and probabilities that sum to
/// one, α = 0 even, a plan within capacity that never repeats a customer, the same for a
/// seed, greedy = the top scores, and the calendar.
#[test]
fn the_visit_plan_draws_by_explained_priority_within_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let rep = busiest_rep(&db);
    let scores = json_of(&db, &["plan", "--rep", &rep, "--scores"]);
    let scores = scores.as_array().unwrap();
    assert!(scores.len() >= 10, "{}", scores.len());
    let total: f64 = scores
        .iter()
        .map(|s| s["probability"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
    let s: Vec<f64> = scores
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "highest first");
    assert!(
        scores[0]["reasons"].as_str().unwrap().contains(": +"),
        "{}",
        scores[0]
    );
    let even = json_of(&db, &["plan", "--rep", &rep, "--scores", "--alpha", "0"]);
    let p0 = even[0]["probability"].as_f64().unwrap();
    assert!(even
        .as_array()
        .unwrap()
        .iter()
        .all(|s| (s["probability"].as_f64().unwrap() - p0).abs() < 1e-9));
    let plan = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "plan",
            "--rep",
            rep.as_str(),
            "--days",
            "2",
            "--per-day",
            "3",
        ];
        args.extend_from_slice(extra);
        json_of(&db, &args).as_array().unwrap().clone()
    };
    let a = plan(&["--seed", "7"]);
    assert_eq!(a.len(), 6, "two days of three");
    let names: std::collections::BTreeSet<&str> =
        a.iter().map(|p| p["customer"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 6, "no customer twice");
    for day in ["2026-11-23", "2026-11-24"] {
        assert_eq!(
            a.iter().filter(|p| p["day"] == day).count(),
            3,
            "{day}: Monday, Tuesday (today is a Sunday)"
        );
    }
    assert_eq!(plan(&["--seed", "7"]), a, "the same seed, the same plan");
    // Greedy: the six top scores, laid out city by city (a city's visits together).
    let greedy = plan(&["--greedy"]);
    let top: std::collections::BTreeSet<&str> = scores[..6]
        .iter()
        .map(|s| s["customer"].as_str().unwrap())
        .collect();
    let got: std::collections::BTreeSet<&str> = greedy
        .iter()
        .map(|p| p["customer"].as_str().unwrap())
        .collect();
    assert_eq!(got, top);
    let cities: Vec<&str> = greedy
        .iter()
        .map(|p| p["city"].as_str().unwrap_or(""))
        .collect();
    for (i, c) in cities.iter().enumerate() {
        if let Some(j) = cities[i + 1..].iter().position(|d| d == c) {
            assert!(cities[i + 1..=i + j].iter().all(|d| d == c), "{cities:?}");
        }
    }
    let ics = funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args([
            "plan",
            "--rep",
            &rep,
            "--days",
            "2",
            "--per-day",
            "3",
            "--format",
            "ics",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(ics.stdout).unwrap().replace("\r\n ", "");
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 6);
    funnel(&db)
        .args(["plan", "--rep", &rep, "--alpha", "-1"])
        .assert()
        .code(2);
}

/// A saved plan compared with what was logged: the planned contact done on its day counts,
/// a contact with a customer not in the plan is listed as unplanned.
#[test]
fn a_saved_plan_is_compared_with_the_contacts_logged() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let rep = busiest_rep(&db);
    let args = [
        "plan",
        "--rep",
        rep.as_str(),
        "--days",
        "2",
        "--per-day",
        "3",
        "--greedy",
        "--save",
    ];
    let out = funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("saved as plan #1"));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = plan[0]["customer"].as_str().unwrap().to_string();
    let day = plan[0]["day"].as_str().unwrap().to_string();
    let planned: Vec<String> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("'{}'", p["customer"].as_str().unwrap().replace('\'', "''")))
        .collect();
    let quoted = |v: &str| v.replace('\'', "''");
    let someone_else = format!(
        "FROM customers c JOIN reps r ON r.id = c.owner_rep_id
         WHERE r.name = '{}' AND c.name NOT IN ({}) ORDER BY c.id LIMIT 1",
        quoted(&rep),
        planned.join(", ")
    );
    let other: (i64, String) = (
        one(&db, &format!("SELECT c.id {someone_else}")),
        one(&db, &format!("SELECT c.name {someone_else}")),
    );
    exec(
        &db,
        &format!(
            "INSERT INTO activities(customer_id, kind, subject, done_on)
             SELECT id, 'visit', 'planned visit', '{day}' FROM customers WHERE name = '{}';
             INSERT INTO activities(customer_id, kind, subject, done_on) VALUES ({}, 'call', 'x', '{day}')",
            quoted(&first),
            other.0
        ),
    );
    let review = funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-25")
        .args(["plan", "review", "--rep", &rep, "--format", "json"])
        .output()
        .unwrap();
    assert!(review.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&review.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 7, "six planned, one unplanned: {rows:?}");
    let done = rows
        .iter()
        .find(|r| r["customer"] == first.as_str())
        .unwrap();
    assert_eq!(done["contacted"], day.as_str());
    assert_eq!(done["how"], "visit");
    let unplanned = rows.iter().find(|r| r["day"] == "unplanned").unwrap();
    assert_eq!(unplanned["customer"], other.1.as_str());
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-25")
        .args(["plan", "review", "--id", "1", "--format", "table"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 of 6 planned contacts done (17%), 1 on the planned day; 1 contact(s) with customers not in the plan",
        ));
    funnel(&db)
        .args(["plan", "review", "--id", "9"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no saved plan #9"));
}

/// The allocation LP through the binary: every rep within capacity, the LP never below
/// the greedy rule, a value for one more hour only where the capacity binds, every active
/// account its minimum and none above the maximum.
#[test]
fn allocation_keeps_capacity_and_beats_the_greedy_rule() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let reps = json_of(&db, &["plan", "allocate", "--period", "2026-12"]);
    let reps = reps.as_array().unwrap();
    assert!(!reps.is_empty());
    let mut binding = 0;
    for r in reps {
        let (hours, used) = (r["hours"].as_f64().unwrap(), r["used"].as_f64().unwrap());
        assert!(used <= hours + 0.05, "{r}");
        let lp = r["expected (LP)"].as_f64().unwrap();
        let greedy = r["expected (greedy)"].as_f64().unwrap();
        assert!(lp >= greedy - 0.05, "{r}");
        let more = r["one more hour"].as_f64().unwrap();
        if r["binding"] == "capacity" {
            binding += 1;
        } else {
            assert_eq!(more, 0.0, "{r}");
        }
    }
    assert!(binding > 0, "a month of 4 h days binds someone: {reps:?}");
    let accounts = json_of(
        &db,
        &["plan", "allocate", "--period", "2026-12", "--accounts"],
    );
    for a in accounts.as_array().unwrap() {
        let h = a["hours"].as_f64().unwrap();
        assert!((0.0..=8.0 + 1e-9).contains(&h), "{a}");
    }
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(["plan", "allocate", "--period", "2025-Q1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("2025-Q1 is over"));
    funnel(&db)
        .args(["plan", "allocate", "--period", "2026-12", "--lift", "2"])
        .assert()
        .code(2);
}

/// The rep with the most customers not churned.
fn busiest_rep(db: &Path) -> String {
    one(
        db,
        "SELECT r.name FROM reps r JOIN customers c ON c.owner_rep_id = r.id
             WHERE c.status != 'churned' GROUP BY r.id ORDER BY count(*) DESC LIMIT 1",
    )
}

/// Automation rules through the binary: a dry run writes nothing; a run acts once per
/// condition, audited with the rule's name; a second run acts on nothing new; a deal whose
/// close date moves later is caught by deal-slipped; a bad file is refused naming the file,
/// the line and the key.
#[test]
fn rules_act_once_per_condition_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("funnel")).unwrap();
    std::fs::write(
        config.join("funnel/rules.toml"),
        "[[rule]]\nname = \"stale\"\nwhen = \"deal-stale\"\nthen = \"task\"\ndue_in_days = 2\n\n\
         [[rule]]\nname = \"slipped\"\nwhen = \"deal-slipped\"\nthen = \"alert\"\n\n\
         [[rule]]\nname = \"orphans\"\nwhen = \"no-owner\"\nthen = \"reassign\"\nto = \"REP\"\n"
            .replace("REP", &busiest_rep(&db)),
    )
    .unwrap();
    let rules = |args: &[&str]| -> serde_json::Value {
        let out = funnel(&db)
            .env("FUNNEL_TODAY", "2026-11-22")
            .env("XDG_CONFIG_HOME", &config)
            .arg("rules")
            .args(args)
            .args(["--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    };
    let count = |sql: &str| -> i64 { one(&db, sql) };
    // A customer without an owner, for the reassign rule.
    exec(&db, "UPDATE customers SET owner_rep_id = NULL WHERE id = (SELECT min(id) FROM customers WHERE status != 'churned')");
    let activities = count("SELECT count(*) FROM activities");
    let dry = rules(&["run", "--dry-run"]);
    let dry = dry.as_array().unwrap();
    assert!(dry.iter().any(|r| r["rule"] == "stale"), "{dry:?}");
    assert!(dry.iter().all(|r| r["status"] == "would act"));
    assert_eq!(count("SELECT count(*) FROM activities"), activities);
    assert_eq!(count("SELECT count(*) FROM rule_runs"), 0);
    let first = rules(&["run"]);
    let first = first.as_array().unwrap();
    let tasks = first.iter().filter(|r| r["rule"] == "stale").count() as i64;
    assert!(tasks > 0);
    assert!(first.iter().all(|r| r["status"] == "done"));
    assert_eq!(count("SELECT count(*) FROM activities"), activities + tasks);
    assert_eq!(
        count("SELECT count(*) FROM customers WHERE owner_rep_id IS NULL"),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM audit_log WHERE note = 'rule ''stale''' AND entity = 'activity'"
        ),
        tasks
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE note = 'rule ''orphans''' AND entity = 'customer'"),
        1
    );
    // Again: the same conditions, nothing new.
    let second = rules(&["run"]);
    assert!(second
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "acted on before"));
    assert_eq!(count("SELECT count(*) FROM activities"), activities + tasks);
    // A watched deal's close moves later: the next run raises one alert.
    exec(&db, "UPDATE deals SET expected_close = '2027-06-30' WHERE id = (SELECT min(deal_id) FROM rule_marks)");
    let third = rules(&["run"]);
    let slipped: Vec<_> = third
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "slipped" && r["status"] == "done")
        .collect();
    assert_eq!(slipped.len(), 1, "{third}");
    assert!(slipped[0]["what"]
        .as_str()
        .unwrap()
        .contains("to 2027-06-30"));
    let alerts = rules(&["alerts"]);
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    let list = rules(&["list"]);
    let stale = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "stale")
        .unwrap()
        .clone();
    assert_eq!(stale["line"], 1);
    assert_eq!(stale["acted"], 0, "the last run acted on nothing new");
    // A bad file: file, line and key.
    std::fs::write(
        config.join("funnel/rules.toml"),
        "[[rule]]\nname = \"x\"\nwhen = \"deal-stalled\"\nthen = \"task\"\n",
    )
    .unwrap();
    funnel(&db)
        .env("XDG_CONFIG_HOME", &config)
        .args(["rules", "run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "rules.toml: line 3: when: 'deal-stalled' is not a condition",
        ));
    funnel(&db)
        .env("XDG_CONFIG_HOME", &config)
        .args(["config", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("rules.toml: line 3: when:"));
}

/// An export whose accounts have no owner (deals do, customers do not): the plan and the
/// allocation say why nobody is planned instead of printing empty tables silently.
#[test]
fn customers_without_owners_are_named_not_silently_unplanned() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_db(dir.path());
    let rep = busiest_rep(&db);
    exec(&db, "UPDATE customers SET owner_rep_id = NULL");
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(["plan", "--rep", &rep, "--scores"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "{rep} owns no customers (not churned) to plan;"
        )));
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args([
            "--format", "table", "plan", "allocate", "--period", "2026-12",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("have no owner and get no hours"));
}

/// Asserts that `funnel pipeline` as a table on 2026-11-22 says `text`.
fn pipeline_says(db: &Path, text: impl AsRef<str>) {
    funnel(db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(["--format", "table", "pipeline"])
        .assert()
        .success()
        .stdout(predicate::str::contains(text.as_ref()));
}

/// A demo of 1,000 customers and 8,000 deals over `months` months to 2026-11-22, in `dir`.
fn demo_months(dir: &Path, name: &str, months: u32) -> PathBuf {
    let db = dir.join(name);
    funnel(&db)
        .args(["demo", "--customers", "1000", "--deals", "8000"])
        .args(["--months", &months.to_string(), "--as-of", "2026-11-22"])
        .assert()
        .success();
    db
}

/// The demo pulls half of the wins due in a quarter's first ten days into the quarter
/// before; the pipeline simulation learns a pull of that order from the last year's wins
/// (the wins per day on those days against the other months' first ten days), on a short
/// history as on a long one, and says so.
#[test]
fn the_quarter_end_pull_is_learned_from_the_wins_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_months(dir.path(), "pull.db", 24);
    let pull_of = |db: &Path| {
        json_of(db, &["pipeline"])["forecast"]["quarter_pull"]
            .as_f64()
            .unwrap()
    };
    let pull = pull_of(&db);
    assert!(pull > 0.25 && pull < 0.6, "{pull}");
    // History that starts mid-year (the first close in December 2025): the months before
    // it say nothing, and counting their empty days skewed the share (0.34 against 0.42).
    let short = demo_months(dir.path(), "short.db", 9);
    let from_short = pull_of(&short);
    assert!(
        (from_short - pull).abs() < 0.05,
        "{from_short} against {pull}"
    );
    pipeline_says(
        &db,
        format!(
            "{:.0}% of the wins due in a quarter's first 10 days close on the last day of the quarter before",
            pull * 100.0
        ),
    );
}

/// The shared factor's σ is as large as the simulation's own misses in the six complete
/// months before today, each simulated with what was known before the first of them. On
/// the demo it is measured so and said. When those months' outcomes are made to swing far
/// beyond what the draws carry (half the wins of every second month turned into losses,
/// a third of the losses of the others into wins: the pipelines on the months' first
/// mornings are unchanged, only what became of them), σ grows. A history too short to
/// judge six months by learns σ from the months' win rates and says so.
#[test]
fn the_shared_sigma_is_as_large_as_the_simulations_own_misses() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo_months(dir.path(), "misses.db", 24);
    let sigma = |db: &Path| {
        let f = &json_of(db, &["pipeline"])["forecast"];
        (
            f["shared_sigma"].as_f64().unwrap(),
            f["sigma_error_months"].as_u64().unwrap(),
        )
    };
    let (before, months) = sigma(&db);
    assert_eq!(months, 6);
    assert!(before < 1.0, "{before}");
    pipeline_says(
        &db,
        format!(
            "σ = {before:.2} on the log-odds, as large as this simulation's own misses in the last 6 complete months"
        ),
    );
    let within = |months: &[(&str, &str)]| {
        months
            .iter()
            .map(|(from, to)| format!("(closed_on >= '{from}' AND closed_on < '{to}')"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    exec(
        &db,
        &format!(
            "UPDATE deals SET stage_id = (SELECT min(id) FROM stages WHERE kind = 'lost')
             WHERE stage_id IN (SELECT id FROM stages WHERE kind = 'won') AND id % 2 = 0
               AND ({});
             UPDATE deals SET stage_id = (SELECT min(id) FROM stages WHERE kind = 'won')
             WHERE stage_id IN (SELECT id FROM stages WHERE kind = 'lost') AND id % 3 = 0
               AND ({});
             DELETE FROM analysis_cache;",
            within(&[
                ("2026-06-01", "2026-07-01"),
                ("2026-08-01", "2026-09-01"),
                ("2026-10-01", "2026-11-01")
            ]),
            within(&[
                ("2026-05-01", "2026-06-01"),
                ("2026-07-01", "2026-08-01"),
                ("2026-09-01", "2026-10-01")
            ])
        ),
    );
    let (after, months) = sigma(&db);
    assert_eq!(months, 6);
    assert!(after > before + 0.3, "{after} against {before}");
    // Nine months of history: nothing learned before the six months to judge them by.
    let short = demo_months(dir.path(), "short.db", 9);
    assert_eq!(sigma(&short).1, 0);
    pipeline_says(
        &short,
        "from the last 24 months' win rates, each month against the others in its place in the quarter",
    );
}

/// `funnel pipeline --backtest` on the demo: every month's actual is the revenue won in
/// the month from deals open on its first morning (checked here by SQL), the ranges are
/// ordered, and the summary counts what the months say.
#[test]
fn the_pipeline_backtest_checks_its_ranges_against_what_closed() {
    let dir = tempfile::tempdir().unwrap();
    // Three years of history, so that the months' win rates rest on enough snapshots to count.
    let db = dir.path().join("history.db");
    funnel(&db)
        .args([
            "demo",
            "--customers",
            "300",
            "--deals",
            "3000",
            "--months",
            "36",
            "--as-of",
            "2026-11-22",
        ])
        .assert()
        .success();
    // `funnel pipeline` in a format, as text.
    let report_as = |format: &str| {
        let out = funnel(&db)
            .env("FUNNEL_TODAY", "2026-11-22")
            .args(["--format", format, "pipeline"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let pipeline = || report_as("table");
    let report = || -> serde_json::Value { serde_json::from_str(&report_as("json")).unwrap() };
    // Before any backtest the report says how to check its ranges.
    let before = pipeline();
    assert!(
        before.contains("`funnel pipeline --backtest` checks such ranges"),
        "{before}"
    );
    let out = funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(["--format", "json", "pipeline", "--backtest"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The demo's deals slip from their expected close: nothing to caution about.
    assert!(
        v["expected_is_close"].as_f64().unwrap() < 0.5,
        "{}",
        v["expected_is_close"]
    );
    let months = v["months"].as_array().unwrap();
    // 12 months of demo history: the backtest has something to check, and not more
    // months than it asks for.
    assert!(months.len() >= 6 && months.len() <= 24, "{}", months.len());
    let mut inside = 0;
    let mut counted = 0;
    for m in months {
        let (p10, p50, p90) = (
            m["p10"].as_f64().unwrap(),
            m["p50"].as_f64().unwrap(),
            m["p90"].as_f64().unwrap(),
        );
        assert!(p10 <= p50 && p50 <= p90, "{m}");
        let month = m["month"].as_str().unwrap();
        let start = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").unwrap();
        let end = start + chrono::Months::new(1);
        let actual: i64 = one(
            &db,
            &format!(
                "SELECT CAST(coalesce(sum(d.amount_cents), 0) AS BIGINT) FROM deals d
                 JOIN stages s ON s.id = d.stage_id AND s.kind = 'won'
                 WHERE d.created_on < '{start}' AND d.closed_on >= '{start}'
                   AND d.closed_on < '{end}'"
            ),
        );
        assert_eq!(
            (m["actual"].as_f64().unwrap() * 100.0).round() as i64,
            actual,
            "{month}"
        );
        let open: i64 = one(
            &db,
            &format!(
                "SELECT count(*) FROM deals WHERE created_on < '{start}'
                 AND (closed_on IS NULL OR closed_on >= '{start}')"
            ),
        );
        assert_eq!(m["open_deals"].as_i64().unwrap(), open, "{month}");
        if m["learned_from"].as_i64().unwrap() >= 200 {
            counted += 1;
            let a = m["actual"].as_f64().unwrap();
            if a >= p10 && a <= p90 {
                inside += 1;
            }
        }
    }
    let s = v["correlated"]
        .as_object()
        .expect("months with enough history");
    assert!(counted >= 12, "{counted}");
    assert_eq!(s["months"].as_i64().unwrap(), counted);
    let share = s["inside"].as_f64().unwrap();
    assert!((share - inside as f64 / counted as f64).abs() < 1e-9);
    // The table says what it measured.
    funnel(&db)
        .env("FUNNEL_TODAY", "2026-11-22")
        .args(["--format", "table", "pipeline", "--backtest"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "actual inside P10–P90 in {inside} of {counted} months"
        )));
    // After it, the report says how such ranges did on this data, until the data changes.
    let after = pipeline();
    let said = format!("held the month's actual in {inside} of {counted}");
    assert!(after.contains(&said), "{after}");
    assert_eq!(report()["backtest"]["months"], counted);
    funnel(&db)
        .args(["targets", "set", "--period", "2027-01", "--company", "5000"])
        .assert()
        .success();
    let changed = pipeline();
    assert!(!changed.contains(&said), "{changed}");
    assert!(report()["backtest"].is_null());
    assert!(
        changed.contains("`funnel pipeline --backtest` checks such ranges"),
        "{changed}"
    );
}

/// `funnel migrate` needs one end of each kind, and `--db postgres://…` says plainly what
/// the PostgreSQL backend serves so far (no server needed for either; `tests/postgres.rs`
/// copies through a real one).
#[test]
fn migrate_names_what_it_cannot_do_without_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.env_remove("FUNNEL_DB")
        .args(["migrate", "--from"])
        .arg(&a)
        .arg("--to")
        .arg(&b)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("both ends are SQLite files"));
    assert!(!a.exists() && !b.exists());
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.env_remove("FUNNEL_DB")
        .args([
            "migrate",
            "--from",
            "postgres://ann:s3cret@db:port/x",
            "--to",
        ])
        .arg(&b)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ann:***@").and(predicate::str::contains("s3cret").not()));
    // Any command on a server that is not there: said, without the password.
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.env_remove("FUNNEL_DB")
        .args(["--db", "postgres://ann:s3cret@127.0.0.1:1/crm", "pipeline"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot reach PostgreSQL at postgres://ann@127.0.0.1:1/crm")
                .and(predicate::str::contains("connection refused"))
                .and(predicate::str::contains("s3cret").not()),
        );
}
