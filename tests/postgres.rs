//! The PostgreSQL backend against a real server: connecting with the password from
//! PGPASSWORD or the password file, and clear errors for a refused connection, a wrong or
//! missing password and a missing database — none of which prints the password.
//!
//! The server is the one `.ci/run` starts with `tools/pg-throwaway` (its URL and password
//! in FUNNEL_TEST_PG_URL and FUNNEL_TEST_PG_PASSWORD). Without them each test says on
//! stderr that it was skipped and why, and passes: a machine with no PostgreSQL still
//! runs the rest of the suite.

mod common;
use common::pg::{env_of, server, Scratch, Server};
use funnel::store::postgres::{connect, PasswordSource, PgError, Target};

/// The error of a connection expected to fail.
fn refused(t: &Target) -> PgError {
    match connect(t) {
        Ok(_) => panic!("{t} connected"),
        Err(e) => e,
    }
}

#[test]
fn connects_with_the_password_from_the_environment_or_the_password_file() {
    let Some(s) = server("postgres::connects") else {
        return;
    };
    let t = Target::parse(&s.url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    assert_eq!(t.password_source, PasswordSource::Environment);
    let mut c = connect(&t).unwrap();
    let v: i32 = c
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    assert!(v >= 150000, "{v}");
    // The password file, matched by host, port, database and user.
    let home = tempfile::tempdir().unwrap();
    let (host, port) = (t.host.clone(), t.port);
    std::fs::write(
        home.path().join(".pgpass"),
        format!("{host}:{port}:funnel_test:funnel:{}\n", s.password),
    )
    .unwrap();
    let t = Target::parse(&s.url, &env_of(&[]), Some(home.path())).unwrap();
    assert_eq!(t.password_source, PasswordSource::PasswordFile);
    let mut c = connect(&t).unwrap();
    let one: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
}

#[test]
fn a_wrong_or_missing_password_is_named_without_printing_it() {
    let Some(s) = server("postgres::wrong_password") else {
        return;
    };
    let t = Target::parse(
        &s.url,
        &env_of(&[("PGPASSWORD", "not-the-password-42")]),
        None,
    )
    .unwrap();
    let e = refused(&t);
    let text = e.to_string();
    assert!(matches!(e, PgError::Login { .. }), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(text.contains("PGPASSWORD"), "{text}");
    assert!(!text.contains("not-the-password-42"), "{text}");
    assert!(!text.contains(&s.password), "{text}");
    // None at all.
    let t = Target::parse(&s.url, &env_of(&[]), None).unwrap();
    let text = refused(&t).to_string();
    assert!(text.contains("asks for a password"), "{text}");
}

#[test]
fn a_missing_database_and_a_refused_connection_say_so() {
    let Some(s) = server("postgres::missing_database") else {
        return;
    };
    let other = s.url.replace("/funnel_test", "/no_such_db");
    let t = Target::parse(&other, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let text = refused(&t).to_string();
    assert!(
        text.contains("database 'no_such_db' does not exist"),
        "{text}"
    );
    assert!(text.contains("createdb"), "{text}");
    // sslmode=require: encrypted when the server has TLS (the throwaway one does when the
    // openssl tool was there to make its certificate), refused and said when it has not —
    // never silently sent in clear.
    let plain = Target::parse(&s.url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let server_tls: String = connect(&plain)
        .unwrap()
        .query_one("SHOW ssl", &[])
        .unwrap()
        .get(0);
    let tls = s.url.replace("sslmode=disable", "sslmode=require");
    let t = Target::parse(&tls, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    if server_tls == "on" {
        let used: bool = connect(&t)
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(used, "sslmode=require connected without TLS");
    } else {
        let text = refused(&t).to_string();
        assert!(text.contains("TLS"), "{text}");
    }
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://funnel@127.0.0.1:{port}/funnel_test?sslmode=disable");
    let t = Target::parse(&url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let e = refused(&t);
    let text = e.to_string();
    assert!(matches!(e, PgError::Unreachable { .. }), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains(&s.password), "{text}");
}

/// The real binary, with the test server's password in PGPASSWORD and the clock fixed.
fn funnel(s: &Server) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("funnel").unwrap();
    c.env_remove("FUNNEL_DB")
        .env("PGPASSWORD", &s.password)
        .env("FUNNEL_TODAY", "2026-11-22");
    c
}

/// A database with a row in every table: the demo, a recompute (forecasts, scores,
/// segments, customer intelligence), automation rules, a saved plan, an import and its
/// revert, a revised target, a deleted row (so an id counter runs ahead of the largest
/// id), and text that COPY must escape.
fn full_database(s: &Server, dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("a.db");
    let run = |args: &[&str]| {
        funnel(s)
            .arg("--db")
            .arg(&db)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .args(args)
            .assert()
            .success();
    };
    run(&[
        "demo",
        "--customers",
        "150",
        "--deals",
        "700",
        "--months",
        "24",
    ]);
    run(&["recompute"]);
    run(&["segments"]);
    std::fs::create_dir_all(dir.join("config/funnel")).unwrap();
    std::fs::write(
        dir.join("config/funnel/rules.toml"),
        "[[rule]]\nname = \"stale\"\nwhen = \"deal-stale\"\nthen = \"task\"\ndue_in_days = 2\n\n\
         [[rule]]\nname = \"slipped\"\nwhen = \"deal-slipped\"\nthen = \"alert\"\n",
    )
    .unwrap();
    run(&["rules", "run"]);
    let rep: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT r.name FROM reps r JOIN customers c ON c.owner_rep_id = r.id
             GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    run(&[
        "plan",
        "--rep",
        &rep,
        "--days",
        "2",
        "--per-day",
        "3",
        "--greedy",
        "--save",
    ]);
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hubspot_deals.csv");
    run(&[
        "import",
        "deals",
        file.to_str().unwrap(),
        "--create-missing",
        "--skip-invalid",
    ]);
    run(&["import", "revert", "1"]);
    let target: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT max(id) FROM targets", [], |r| r.get(0))
        .unwrap();
    run(&[
        "targets",
        "revise",
        &target.to_string(),
        "1234.56",
        "--reason",
        "tab\there, \\ and a\nnew line",
    ]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE customers SET name = 'Tab\there \\ back ''quote'' — ünïcode' WHERE id = 1;
         DELETE FROM contacts WHERE id = (SELECT max(id) FROM contacts);",
    )
    .unwrap();
    db
}

/// Every table's rows, in id (or key) order, and SQLite's id counters.
fn contents(db: &std::path::Path) -> Vec<(String, Vec<Vec<rusqlite::types::Value>>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<Vec<rusqlite::types::Value>> = stmt
            .query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        if t == "funnel_meta" {
            // When each database was made is its own.
            rows.retain(|r| r[0] != rusqlite::types::Value::Text("created_at".into()));
        }
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out.push((t, rows));
    }
    out
}

#[test]
fn migrate_round_trip_sqlite_to_postgres_and_back_is_identical() {
    let Some(s) = server("postgres::migrate_round_trip") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = full_database(&s, dir.path());
    let before = contents(&a);
    for (table, rows) in &before {
        if !matches!(
            table.as_str(),
            "funnel_meta" | "analysis_cache" | "rule_marks"
        ) {
            assert!(!rows.is_empty(), "the fixture leaves {table} empty");
        }
    }
    let pg = Scratch::new(&s, "round_trip");
    let out = funnel(&s)
        .args(["migrate", "--from"])
        .arg(&a)
        .args(["--to", &pg.url, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("every table's count and column sums agree"),
        "{stderr}"
    );
    assert!(!stderr.contains(&s.password), "{stderr}");
    let copied: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deals = copied
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "deals")
        .unwrap();
    let sqlite_deals = before.iter().find(|(t, _)| t == "deals").unwrap().1.len();
    assert_eq!(deals["rows"].as_u64().unwrap() as usize, sqlite_deals);
    assert_eq!(deals["sums_checked"], 15);

    // PostgreSQL's own types: dates are DATE, flags BOOLEAN, money BIGINT; the audit log
    // stays append-only there too.
    let mut c = pg.client();
    let (closed, active, amount): (i64, i64, i64) = {
        let r = c
            .query_one(
                "SELECT count(closed_on), count(*) FILTER (WHERE active), sum(amount_cents)::bigint
                 FROM deals, (SELECT bool_or(active) AS active FROM reps) r",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert!(closed > 0 && active > 0 && amount > 0);
    let types: Vec<(String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_name = 'deals' AND column_name IN ('closed_on', 'amount_cents')
             ORDER BY column_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        vec![
            ("amount_cents".to_string(), "bigint".to_string()),
            ("closed_on".to_string(), "date".to_string())
        ]
    );
    let e = c
        .execute("DELETE FROM audit_log", &[])
        .unwrap_err()
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(e.contains("append-only"), "{e}");
    // The next id PostgreSQL hands out is past SQLite's counter (a deleted contact's id
    // is not handed out again).
    let next: i64 = c
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('contacts', 'id'))",
            &[],
        )
        .unwrap()
        .get(0);
    let counter: i64 = rusqlite::Connection::open(&a)
        .unwrap()
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'contacts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(next, counter + 1);
    c.execute(
        "SELECT setval(pg_get_serial_sequence('contacts', 'id'), $1, true)",
        &[&counter],
    )
    .unwrap();

    // And back into a new file: every table identical, id counters included.
    let b = dir.path().join("b.db");
    funnel(&s)
        .args(["migrate", "--from", &pg.url, "--to"])
        .arg(&b)
        .assert()
        .success();
    let after = contents(&b);
    assert_eq!(before.len(), after.len());
    for ((t1, r1), (t2, r2)) in before.iter().zip(&after) {
        assert_eq!(t1, t2);
        assert_eq!(r1.len(), r2.len(), "{t1}: row counts");
        assert!(r1 == r2, "{t1} differs after the round trip");
    }
    // The exports a user would compare, byte for byte.
    for kind in funnel::app::EXPORT_KINDS {
        let export = |db: &std::path::Path| {
            funnel(&s)
                .arg("--db")
                .arg(db)
                .args(["export", kind, "--format", "csv"])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone()
        };
        assert_eq!(export(&a), export(&b), "export {kind}");
    }
}

#[test]
fn migrate_refuses_a_database_it_must_not_touch_and_keeps_nothing_of_a_failed_copy() {
    let Some(s) = server("postgres::migrate_refusals") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    funnel(&s)
        .arg("--db")
        .arg(&a)
        .args(["demo", "--customers", "40", "--deals", "150"])
        .assert()
        .success();
    let migrate = |from: &str, to: &str| {
        funnel(&s)
            .args(["migrate", "--from", from, "--to", to])
            .assert()
            .code(1)
            .get_output()
            .stderr
            .clone()
    };
    let a_text = a.to_str().unwrap();

    // Another application's database: refused, and nothing of funnel's is created in it.
    let other = Scratch::new(&s, "other_app");
    other
        .client()
        .batch_execute(
            "CREATE TABLE invoices (id int PRIMARY KEY); INSERT INTO invoices VALUES (7)",
        )
        .unwrap();
    let e = String::from_utf8_lossy(&migrate(a_text, &other.url)).to_string();
    assert!(e.contains("not a funnel database"), "{e}");
    let tables = other.tables();
    assert_eq!(tables, 1, "only the other application's table is there");

    // A bad value (a hire date that is no date, which SQLite's schema let in): the copy
    // stops naming table, row and value, and PostgreSQL is left empty — not even the schema.
    let bad = dir.path().join("bad.db");
    std::fs::copy(&a, &bad).unwrap();
    rusqlite::Connection::open(&bad)
        .unwrap()
        .execute("UPDATE reps SET hired_on = 'someday' WHERE id = 2", [])
        .unwrap();
    let empty = Scratch::new(&s, "failed_copy");
    let e = String::from_utf8_lossy(&migrate(bad.to_str().unwrap(), &empty.url)).to_string();
    assert!(
        e.contains("reps.hired_on") && e.contains("'someday'"),
        "{e}"
    );
    let tables = empty.tables();
    assert_eq!(tables, 0);

    // A row pointing at nothing (written past SQLite's foreign keys): the keys, checked
    // over the whole copy before the commit, refuse it, and nothing is kept either.
    let orphan = dir.path().join("orphan.db");
    std::fs::copy(&a, &orphan).unwrap();
    rusqlite::Connection::open(&orphan)
        .unwrap()
        .execute_batch(
            "PRAGMA foreign_keys = OFF; UPDATE deals SET customer_id = 999999 WHERE id = 1",
        )
        .unwrap();
    let e = String::from_utf8_lossy(&migrate(orphan.to_str().unwrap(), &empty.url)).to_string();
    assert!(
        e.contains("break the foreign key") && e.contains("of deals"),
        "{e}"
    );
    assert_eq!(empty.tables(), 0);

    // A database that already holds funnel data is not copied into.
    let full = Scratch::new(&s, "full");
    funnel(&s)
        .args(["migrate", "--from", a_text, "--to", &full.url])
        .assert()
        .success();
    let e = String::from_utf8_lossy(&migrate(a_text, &full.url)).to_string();
    assert!(e.contains("already holds funnel data"), "{e}");
    // Nor a SQLite file with data.
    let e = String::from_utf8_lossy(&migrate(&full.url, a_text)).to_string();
    assert!(e.contains("already holds funnel data"), "{e}");

    // A newer schema is refused both ways, and a failed copy into a new file leaves no file.
    full.client()
        .execute(
            "UPDATE funnel_meta SET value = '99' WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
    let new_file = dir.path().join("new.db");
    let e = String::from_utf8_lossy(&migrate(&full.url, new_file.to_str().unwrap())).to_string();
    assert!(e.contains("schema version 99"), "{e}");
    assert!(
        !new_file.exists(),
        "a failed copy left {}",
        new_file.display()
    );
    let e = String::from_utf8_lossy(&migrate(a_text, &full.url)).to_string();
    assert!(
        e.contains("schema version 99") && e.contains("newer funnel"),
        "{e}"
    );
}
