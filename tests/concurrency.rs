//! Several real funnel processes writing to one database at once: every write waits its
//! turn (immediate transactions and the busy timeout) instead of failing at once, and
//! none is lost.

use std::process::{Command, Stdio};

fn funnel(db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_funnel"));
    c.arg("--db").arg(db).env_remove("FUNNEL_DB");
    c.env("FUNNEL_TODAY", "2026-11-22");
    c
}

/// A database in `dir` holding one company target (id 1, 1000 for 2026-12).
fn with_one_target(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("c.db");
    let targets = dir.join("targets.csv");
    std::fs::write(
        &targets,
        "scope,name,period,metric,value\ncompany,,2026-12,won_revenue,1000\n",
    )
    .unwrap();
    let ok = funnel(&db)
        .args(["import", "targets"])
        .arg(&targets)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    db
}

#[test]
fn concurrent_writers_wait_their_turn_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_one_target(dir.path());
    // Four processes, each revising the target 12 times (distinct values so that no
    // revision is a no-op), and a fifth importing customers meanwhile.
    const WRITERS: usize = 4;
    const EACH: usize = 12;
    let customers = dir.path().join("customers.csv");
    let mut text = String::from("external_id,name\n");
    for i in 0..2000 {
        text.push_str(&format!("C{i},Customer {i}\n"));
    }
    std::fs::write(&customers, text).unwrap();
    let mut children = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        children.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            for i in 0..EACH {
                let out = funnel(&db)
                    .args(["targets", "revise", "1"])
                    .arg(format!("{}", 2000 + w * 100 + i))
                    .args(["--reason", "load test"])
                    .stdout(Stdio::null())
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
                }
            }
            failures
        }));
    }
    let import = funnel(&db)
        .args(["import", "customers"])
        .arg(&customers)
        .output()
        .unwrap();
    let failures: Vec<String> = children
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(failures.is_empty(), "writes failed: {failures:?}");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    // Every revision is there (plus the one the import wrote), and every customer.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let revisions: i64 = conn
        .query_row("SELECT count(*) FROM target_revisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(revisions, (WRITERS * EACH) as i64 + 1);
    let customers: i64 = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(customers, 2000);
}

#[test]
fn a_writer_held_up_past_the_timeout_says_busy_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = with_one_target(dir.path());
    // Another writer holds the database for longer than the busy timeout.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let out = funnel(&db)
        .args(["targets", "revise", "1", "1500", "--reason", "blocked"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the database is busy"), "{err}");
    assert!(err.contains("try again"), "{err}");
    assert!(
        waited >= std::time::Duration::from_secs(4),
        "it waited for its turn first ({waited:?})"
    );
    let value: i64 = holder
        .query_row("SELECT value FROM targets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(value, 100_000, "nothing written");
}

#[test]
fn an_import_killed_at_any_moment_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("customers.csv");
    let mut text = String::from("external_id,name,city\n");
    const ROWS: i64 = 20_000;
    for i in 0..ROWS {
        text.push_str(&format!("K{i},Killable {i},Town {}\n", i % 97));
    }
    std::fs::write(&file, text).unwrap();
    let mut outcomes = Vec::new();
    // Kill points from almost at once to near the end (the import takes a second or so).
    for (n, delay_ms) in [5u64, 40, 120, 300, 700, 1500].into_iter().enumerate() {
        let db = dir.path().join(format!("k{n}.db"));
        // The database exists (with its schema) before the import starts.
        drop(funnel::store::Store::open(&db).unwrap());
        assert!(funnel(&db).arg("doctor").status().unwrap().success());
        let mut child = funnel(&db)
            .args(["import", "customers"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup runs
        let status = child.wait().unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "kill after {delay_ms} ms");
        let customers: i64 = conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap();
        let batches: i64 = conn
            .query_row("SELECT count(*) FROM import_batches", [], |r| r.get(0))
            .unwrap();
        assert!(
            (customers, batches) == (0, 0) || (customers, batches) == (ROWS, 1),
            "kill after {delay_ms} ms left {customers} customers and {batches} batches"
        );
        outcomes.push((delay_ms, status.success(), customers));
    }
    eprintln!("(kill after ms, exited cleanly, customers): {outcomes:?}");
    // At least one kill landed mid-import (else the test proves nothing).
    assert!(
        outcomes.iter().any(|o| o.2 == 0),
        "no kill interrupted the import: {outcomes:?}"
    );
}
