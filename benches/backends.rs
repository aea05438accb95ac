//! SQLite and PostgreSQL side by side: the 1M-deal benchmark set on each backend, and a
//! concurrent-writer run (8 processes revising targets and moving deals) with a check
//! that no update was lost.
//!
//!     FUNNEL_BENCH_PG_URL=postgres://user@127.0.0.1:5432/db?sslmode=disable \
//!     PGPASSWORD=… cargo bench --bench backends
//!
//! FUNNEL_BENCH_PG_URL names an empty database (or one this benchmark filled before: it
//! is loaded again with `demo --force`); without it the benchmark says so and stops.
//! `tools/pg-throwaway start DIR` starts a server on loopback and prints the URL and
//! password. Sizes come from FUNNEL_BENCH_CUSTOMERS and FUNNEL_BENCH_DEALS (default
//! 100,000 and 1,000,000). Each step runs the real `funnel` binary, as a user would,
//! and reports wall time and peak memory; the TUI's first frame is drawn in-process on
//! ratatui's TestBackend. Writers: FUNNEL_BENCH_WRITERS (8) processes, each doing
//! FUNNEL_BENCH_WRITES (50) target revisions and as many deal moves on a small set of
//! shared rows, as hard a contention as the data allows.

use funnel::domain::deals::Move;
use funnel::tui::keymap::Keymap;
use funnel::tui::state::App;
use funnel::tui::theme::Theme;
use funnel::tui::worker::{self, Reply, Request};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::process::Command;
use std::time::{Duration, Instant};

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs a command to completion; returns wall time and peak RSS in MiB.
fn measure(cmd: &mut Command) -> (Duration, f64) {
    let start = Instant::now();
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we just spawned.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = start.elapsed();
    assert!(
        rc == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    (took, usage.ru_maxrss as f64 / 1024.0)
}

fn funnel(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_funnel"));
    c.env_remove("FUNNEL_DB")
        .env("FUNNEL_TODAY", "2026-11-22")
        .arg("--db")
        .arg(db);
    c
}

/// Start to the first full dashboard frame, as `benches/tui.rs` measures it.
fn first_frame(db: &str) -> Duration {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    let started = Instant::now();
    let mut store = funnel::app::open(std::path::Path::new(db)).expect("open");
    let mut app = App::new(
        Keymap::defaults(),
        Theme::default_dark(),
        today,
        "bench".into(),
        None,
    );
    let empty = funnel::app::is_empty(&*store).expect("is_empty");
    let mut requests = app.on_reply(Reply::Opened { empty });
    while !requests.is_empty() {
        let mut replies = Vec::new();
        for r in requests.drain(..) {
            if matches!(r, Request::Recompute | Request::Conversions) {
                continue;
            }
            worker::handle(
                &mut *store,
                &mut worker::Cache::default(),
                r,
                today,
                &mut |reply| replies.push(reply),
            );
        }
        for reply in replies {
            requests.extend(app.on_reply(reply));
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|f| funnel::tui::view::render(&app, f))
        .expect("draw");
    assert!(app.dashboard.is_some(), "dashboard loaded");
    started.elapsed()
}

/// One writer process: `n` target revisions and `n` deal moves over the shared rows.
fn worker(db: &str, me: usize, n: usize, targets: &[i64], deals: &[i64], stages: &[i64]) {
    let mut store = funnel::app::open(std::path::Path::new(db)).expect("open");
    let actor = funnel::store::audit::Actor::current();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    for i in 0..n {
        let t = targets[(me + i) % targets.len()];
        store
            .revise_target(t, (1_000_000 + me * 10_000 + i) as i64, "bench", &actor)
            .expect("revise");
        let d = deals[(me + 2 * i) % deals.len()];
        let s = stages[(me + i) % stages.len()];
        store
            .move_deal(d, &Move::Stage(s), today, &actor)
            .expect("move");
    }
}

/// (old, new) of each target's revisions and (from, to) of each deal's stage changes
/// since `audit_from`, read with the backend's own SQL client, and the current values.
struct Chains {
    revisions: Vec<Vec<(Option<i64>, i64)>>,
    targets_now: Vec<i64>,
    changes: Vec<Vec<(Option<i64>, i64)>>,
    deals_now: Vec<i64>,
}

fn chains(db: &str, targets: &[i64], deals: &[i64]) -> Chains {
    let mut out = Chains {
        revisions: Vec::new(),
        targets_now: Vec::new(),
        changes: Vec::new(),
        deals_now: Vec::new(),
    };
    if funnel::app::migrate::is_url(db) {
        let t = funnel::app::migrate::server(db).expect("url");
        let mut c = funnel::store::postgres::connect(&t).expect("connect");
        for &t in targets {
            out.revisions.push(
                c.query(
                    "SELECT old_value, new_value FROM target_revisions WHERE target_id = $1 ORDER BY id",
                    &[&t],
                )
                .expect("revisions")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
            );
            out.targets_now.push(
                c.query_one("SELECT value FROM targets WHERE id = $1", &[&t])
                    .expect("target")
                    .get(0),
            );
        }
        for &d in deals {
            out.changes.push(
                c.query(
                    "SELECT from_stage_id, to_stage_id FROM stage_changes WHERE deal_id = $1 ORDER BY id",
                    &[&d],
                )
                .expect("changes")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
            );
            out.deals_now.push(
                c.query_one("SELECT stage_id FROM deals WHERE id = $1", &[&d])
                    .expect("deal")
                    .get(0),
            );
        }
    } else {
        let c = rusqlite::Connection::open(db).expect("open");
        let pairs = |sql: &str, id: i64| -> Vec<(Option<i64>, i64)> {
            c.prepare(sql)
                .expect("prepare")
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let one =
            |sql: &str, id: i64| -> i64 { c.query_row(sql, [id], |r| r.get(0)).expect("row") };
        for &t in targets {
            out.revisions.push(pairs(
                "SELECT old_value, new_value FROM target_revisions WHERE target_id = ?1 ORDER BY id",
                t,
            ));
            out.targets_now
                .push(one("SELECT value FROM targets WHERE id = ?1", t));
        }
        for &d in deals {
            out.changes.push(pairs(
                "SELECT from_stage_id, to_stage_id FROM stage_changes WHERE deal_id = ?1 ORDER BY id",
                d,
            ));
            out.deals_now
                .push(one("SELECT stage_id FROM deals WHERE id = ?1", d));
        }
    }
    out
}

/// Updates lost: revisions or moves that started from a value another writer had already
/// replaced (a broken chain), or rows whose value is not their last change's.
fn lost_updates(c: &Chains) -> usize {
    let mut lost = 0;
    for (chain, now) in c.revisions.iter().zip(&c.targets_now) {
        lost += chain.windows(2).filter(|w| w[1].0 != Some(w[0].1)).count();
        lost += usize::from(chain.last().is_some_and(|l| l.1 != *now));
    }
    for (chain, now) in c.changes.iter().zip(&c.deals_now) {
        lost += chain.windows(2).filter(|w| w[1].0 != Some(w[0].1)).count();
        lost += usize::from(chain.last().is_some_and(|l| l.1 != *now));
    }
    lost
}

/// The shared rows: the first targets, the first open deals and the open stages.
fn shared_rows(db: &str) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let store = funnel::app::open(std::path::Path::new(db)).expect("open");
    let targets: Vec<i64> = store
        .target_rows(None, None, None)
        .expect("targets")
        .iter()
        .map(|t| t.id)
        .take(4)
        .collect();
    let stages: Vec<i64> = store
        .stages()
        .expect("stages")
        .into_iter()
        .filter(|s| s.kind == funnel::domain::StageKind::Open)
        .map(|s| s.id)
        .collect();
    let deals: Vec<i64> = stages
        .iter()
        .flat_map(|s| store.deals_in_stage(*s, 4).expect("deals"))
        .map(|d| d.id)
        .take(16)
        .collect();
    (targets, deals, stages)
}

fn main() {
    // A writer process started by the run below.
    if let Ok(spec) = std::env::var("FUNNEL_BENCH_WORKER") {
        let parts: Vec<&str> = spec.splitn(3, '|').collect();
        let ids = |s: &str| -> Vec<i64> { s.split(',').filter_map(|x| x.parse().ok()).collect() };
        let groups: Vec<Vec<i64>> = parts[2].split(';').map(ids).collect();
        worker(
            parts[0],
            parts[1].parse().expect("worker number"),
            env_size("FUNNEL_BENCH_WRITES", 50),
            &groups[0],
            &groups[1],
            &groups[2],
        );
        return;
    }
    // cargo bench passes --bench; nothing else is taken.
    let Ok(pg) = std::env::var("FUNNEL_BENCH_PG_URL") else {
        println!(
            "backends: skipped (set FUNNEL_BENCH_PG_URL to an empty PostgreSQL database, and PGPASSWORD; \
             `tools/pg-throwaway start DIR` starts one)"
        );
        return;
    };
    let customers = env_size("FUNNEL_BENCH_CUSTOMERS", 100_000).to_string();
    let deals = env_size("FUNNEL_BENCH_DEALS", 1_000_000).to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bench.db");
    let file = file.to_str().expect("utf-8 path").to_string();
    let backends = [("SQLite", file.as_str()), ("PostgreSQL", pg.as_str())];
    let steps: &[(&str, &[&str])] = &[
        (
            "demo load",
            &[
                "demo",
                "--force",
                "--customers",
                &customers,
                "--deals",
                &deals,
            ],
        ),
        ("recompute", &["recompute"]),
        ("pipeline", &["--format", "csv", "pipeline"]),
        (
            "report funnel (funnel analysis)",
            &["--format", "csv", "report", "funnel"],
        ),
        ("targets list", &["--format", "csv", "targets", "list"]),
        (
            "report win-rates",
            &["--format", "csv", "report", "win-rates"],
        ),
        ("export deals", &["--format", "csv", "export", "deals"]),
    ];
    println!(
        "{:<34} {:>22} {:>22} {:>7}",
        "step", "SQLite", "PostgreSQL", "ratio"
    );
    // One row of the table: the step on each backend, and the ratio.
    let compare = |name: &str, args: &[&str]| {
        let mut row = Vec::new();
        for (_, db) in &backends {
            row.push(measure(funnel(db).args(args)));
        }
        println!(
            "{name:<34} {:>9.2} s {:>6.0} MiB {:>9.2} s {:>6.0} MiB {:>6.2}x",
            row[0].0.as_secs_f64(),
            row[0].1,
            row[1].0.as_secs_f64(),
            row[1].1,
            row[1].0.as_secs_f64() / row[0].0.as_secs_f64()
        );
    };
    for (name, args) in steps {
        compare(name, args);
    }
    // Imports: 1,000 new deals into the full database, then the whole deals export again
    // (every row found, nothing to write). On PostgreSQL both run through the working copy.
    let export = dir.path().join("deals.csv");
    let fresh = dir.path().join("new-deals.csv");
    assert!(funnel(&file)
        .args(["--format", "csv", "export", "deals", "-o"])
        .arg(&export)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("export")
        .success());
    let text = std::fs::read_to_string(&export).expect("the export");
    let new: Vec<String> = text
        .lines()
        .take(1001)
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("N{l}")
            }
        })
        .collect();
    std::fs::write(&fresh, new.join("\n") + "\n").expect("new deals");
    let (export, fresh) = (
        export.to_str().expect("utf-8 path").to_string(),
        fresh.to_str().expect("utf-8 path").to_string(),
    );
    let imports: [(&str, &[&str]); 2] = [
        ("import 1,000 new deals", &["import", "deals", &fresh]),
        (
            "import the deals export again",
            &["import", "deals", &export],
        ),
    ];
    for (name, args) in imports {
        compare(name, args);
    }
    let frames: Vec<Duration> = backends.iter().map(|(_, db)| first_frame(db)).collect();
    println!(
        "{:<34} {:>9.2} s {:>10} {:>9.2} s {:>10} {:>6.2}x",
        "TUI first frame",
        frames[0].as_secs_f64(),
        "",
        frames[1].as_secs_f64(),
        "",
        frames[1].as_secs_f64() / frames[0].as_secs_f64()
    );

    let writers = env_size("FUNNEL_BENCH_WRITERS", 8);
    let writes = env_size("FUNNEL_BENCH_WRITES", 50);
    println!(
        "\nconcurrent writers: {writers} processes, each {writes} target revisions and {writes} deal moves on 4 targets and 16 deals"
    );
    for (name, db) in &backends {
        let (targets, deals, stages) = shared_rows(db);
        let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let groups = format!("{};{};{}", list(&targets), list(&deals), list(&stages));
        let start = Instant::now();
        let children: Vec<_> = (0..writers)
            .map(|w| {
                Command::new(std::env::current_exe().expect("this benchmark"))
                    .env("FUNNEL_BENCH_WORKER", format!("{db}|{w}|{groups}"))
                    .spawn()
                    .expect("spawn writer")
            })
            .collect();
        for mut c in children {
            assert!(c.wait().expect("writer").success(), "a writer failed");
        }
        let took = start.elapsed();
        let ops = writers * writes * 2;
        let lost = lost_updates(&chains(db, &targets, &deals));
        println!(
            "{name:<12} {ops} writes in {:.2} s: {:.0} writes/s, {lost} lost updates",
            took.as_secs_f64(),
            ops as f64 / took.as_secs_f64()
        );
        assert_eq!(lost, 0, "{name}: updates were lost");
    }
}
