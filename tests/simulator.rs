//! The demo simulator without a database: the same seed gives the same records, another
//! seed other records, and what it reports is what it wrote; loaded into a database, the
//! same records arrive.

mod common;
use funnel::app::demo::{self, DemoOptions};
use funnel::domain::bulk::Recorder;

fn run(seed: u64) -> (Vec<String>, demo::DemoReport) {
    let opts = DemoOptions {
        seed,
        customers: 120,
        deals: 600,
        months: 18,
        ..DemoOptions::new(common::today())
    };
    let sink = Recorder::default();
    let report = demo::simulate(&sink, &opts, &mut |_, _| {}).unwrap();
    (sink.rows.into_inner(), report)
}

fn count(rows: &[String], kind: &str) -> usize {
    rows.iter()
        .filter(|r| r.split(' ').next() == Some(kind))
        .count()
}

#[test]
fn the_same_seed_gives_the_same_records_without_a_database() {
    let (a, report) = run(7);
    let (b, _) = run(7);
    assert_eq!(a, b);
    let (c, _) = run(8);
    assert_ne!(a, c);
    assert_eq!(count(&a, "customer"), report.customers);
    assert_eq!(count(&a, "deal"), report.deals);
    assert_eq!(count(&a, "stage_change"), report.stage_changes);
    assert_eq!(count(&a, "order"), report.orders);
    assert_eq!(count(&a, "team"), report.teams);
    // Parents come before the rows that point at them: the first deal follows every
    // stage, customer and rep it can name.
    let first_deal = a.iter().position(|r| r.starts_with("deal ")).unwrap();
    let last_stage = a.iter().rposition(|r| r.starts_with("stage ")).unwrap();
    assert!(last_stage < first_deal);
}

#[test]
fn a_load_writes_what_the_simulator_makes() {
    let (rows, report) = run(11);
    let dir = tempfile::tempdir().unwrap();
    let mut store = funnel::store::Store::open(&dir.path().join("sim.db")).unwrap();
    let opts = DemoOptions {
        seed: 11,
        customers: 120,
        deals: 600,
        months: 18,
        ..DemoOptions::new(common::today())
    };
    let loaded = demo::generate(&mut store, &opts, &common::actor(), &mut |_, _| {}).unwrap();
    assert_eq!(loaded.deals, report.deals);
    assert_eq!(loaded.stage_changes, report.stage_changes);
    let deals: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM deals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(deals as usize, count(&rows, "deal"));
}
