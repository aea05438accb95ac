//! Shared by the benchmarks: the database to measure.

use funnel::store::Store;
use std::path::{Path, PathBuf};

/// The database named by FUNNEL_BENCH_DB, or a demo of FUNNEL_BENCH_CUSTOMERS /
/// FUNNEL_BENCH_DEALS (default 100,000 / 1,000,000) generated in `dir` as of `today`
/// (about half a minute), with a forecast run stored.
pub fn bench_db(dir: &Path, name: &str, today: chrono::NaiveDate) -> PathBuf {
    if let Some(p) = std::env::var_os("FUNNEL_BENCH_DB") {
        return PathBuf::from(p);
    }
    let p = dir.join(name);
    let mut store = Store::open(&p).expect("open");
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let opts = funnel::app::demo::DemoOptions {
        customers: env("FUNNEL_BENCH_CUSTOMERS", 100_000),
        deals: env("FUNNEL_BENCH_DEALS", 1_000_000),
        ..funnel::app::demo::DemoOptions::new(today)
    };
    println!(
        "generating demo data ({} customers, {} deals)…",
        opts.customers, opts.deals
    );
    funnel::app::demo::generate(
        &mut store,
        &opts,
        &funnel::store::audit::Actor::current(),
        &mut |_, _| {},
    )
    .expect("demo");
    funnel::app::forecast::recompute(&mut store, today, &mut |_, _| {}).expect("forecast");
    p
}
