//! Foundation benchmarks at scale: demo generation, CSV import, `funnel pipeline`, and the
//! customer-intelligence commands (segments, clv, needs, recommend) on the demo's ledger.
//!
//!     cargo bench --bench foundation
//!
//! Sizes come from FUNNEL_BENCH_CUSTOMERS and FUNNEL_BENCH_DEALS (default 100,000 and
//! 1,000,000). Each step runs the real `funnel` binary as a user would and reports its wall
//! time and peak resident memory (the child's max RSS from wait4); `sqlite3 .import` of the
//! same CSV into a bare table is timed for comparison when the sqlite3 command exists. The
//! in-process pipeline use case is then measured with criterion.

use criterion::Criterion;
use std::path::Path;
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
    // Reaped by wait4 below, which also reports the child's peak memory.
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

fn report(name: &str, (took, peak): (Duration, f64)) -> Duration {
    println!(
        "{name:<52} {:>9.3} s {:>7.0} MiB peak",
        took.as_secs_f64(),
        peak
    );
    took
}

/// Copies a deals export with every external id `D-…` renamed `E-…`: new deals to the
/// database that holds the first ones.
fn renumber(from: &Path, to: &Path) {
    use std::io::{BufRead, Write};
    let input = std::io::BufReader::new(std::fs::File::open(from).expect("open export"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(to).expect("create copy"));
    for (n, line) in input.split(b'\n').enumerate() {
        let mut line = line.expect("read export");
        if n > 0 && line.starts_with(b"D-") {
            line[0] = b'E';
        }
        out.write_all(&line).expect("write copy");
        out.write_all(b"\n").expect("write copy");
    }
    out.flush().expect("write copy");
}

fn main() {
    let customers = env_size("FUNNEL_BENCH_CUSTOMERS", 100_000);
    let deals = env_size("FUNNEL_BENCH_DEALS", 1_000_000);
    let bin = env!("CARGO_BIN_EXE_funnel");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name);
    let funnel = |db: &Path| {
        let mut c = Command::new(bin);
        c.arg("--db").arg(db);
        c
    };
    println!("funnel foundation benchmark: {customers} customers, {deals} deals");

    let demo_db = path("demo.db");
    report(
        &format!("funnel demo --customers {customers} --deals {deals}"),
        measure(funnel(&demo_db).args([
            "demo",
            "--customers",
            &customers.to_string(),
            "--deals",
            &deals.to_string(),
            "--as-of",
            "2026-11-22",
        ])),
    );
    let deals_csv = path("deals.csv");
    let customers_csv = path("customers.csv");
    report(
        "funnel export deals -o deals.csv",
        measure(
            funnel(&demo_db)
                .args(["export", "deals", "-o"])
                .arg(&deals_csv),
        ),
    );
    measure(
        funnel(&demo_db)
            .args(["export", "customers", "-o"])
            .arg(&customers_csv),
    );
    let rows = deals + 1; // the demo plants one extra deal as an anomaly

    let import_db = path("import.db");
    measure(
        funnel(&import_db)
            .args(["import", "customers"])
            .arg(&customers_csv)
            .arg("--create-missing"),
    );
    let took = report(
        &format!("funnel import deals ({rows} rows, full validation)"),
        measure(
            funnel(&import_db)
                .args(["import", "deals"])
                .arg(&deals_csv)
                .arg("--create-missing"),
        ),
    );
    let rate = rows as f64 / took.as_secs_f64();
    println!("{:<52} {:>8.0} rows/s", "  import rate", rate);

    // Into a database that already holds those deals: the same rows under new ids.
    let more_csv = path("more_deals.csv");
    renumber(&deals_csv, &more_csv);
    let again = report(
        &format!("funnel import deals ({rows} more rows, into {rows})"),
        measure(
            funnel(&import_db)
                .args(["import", "deals"])
                .arg(&more_csv)
                .arg("--create-missing"),
        ),
    );
    println!(
        "{:<52} {:>8.0} rows/s",
        "  import rate",
        rows as f64 / again.as_secs_f64()
    );

    let bare = path("bare.db");
    let mut sqlite = Command::new("sqlite3");
    sqlite
        .arg(&bare)
        .arg(".mode csv")
        .arg(format!(".import {} deals", deals_csv.display()));
    if Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let base = report(
            "sqlite3 .import deals.csv into a bare table",
            measure(&mut sqlite),
        );
        println!(
            "{:<52} {:>8.0} rows/s",
            "  sqlite3 rate",
            rows as f64 / base.as_secs_f64()
        );
        println!(
            "{:<52} {:>8.1} x",
            "  funnel import time / sqlite3 .import time",
            took.as_secs_f64() / base.as_secs_f64()
        );
    } else {
        println!("sqlite3 .import: skipped (no sqlite3 command; apt-get install sqlite3)");
    }

    // The command a user types, cold process each time: the median of 15 runs.
    let mut runs: Vec<(Duration, f64)> = (0..15)
        .map(|_| measure(funnel(&demo_db).args(["pipeline", "--format", "csv"])))
        .collect();
    runs.sort_by_key(|r| r.0);
    report(
        "funnel pipeline (median of 15 runs, whole process)",
        runs[runs.len() / 2],
    );

    // Customer intelligence on the demo's ledger (as of its last day), each once.
    for args in [
        &["segments", "--evaluate"][..],
        &["clv"][..],
        &["needs", "--evaluate"][..],
        &["recommend", "--evaluate", "--calibration-end", "2026-05-31"][..],
    ] {
        report(
            &format!("funnel {}", args.join(" ")),
            measure(
                funnel(&demo_db)
                    .env("FUNNEL_TODAY", "2026-11-22")
                    .args(args)
                    .args(["--format", "json"]),
            ),
        );
    }

    let store = funnel::store::Store::open(&demo_db).expect("open");
    let mut c = Criterion::default().configure_from_args().sample_size(20);
    c.bench_function("app::pipeline (in process)", |b| {
        b.iter(|| funnel::app::pipeline(&store).expect("pipeline"))
    });
    c.final_summary();
}
