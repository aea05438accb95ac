//! Targets, attainment, the funnel analysis and reports on small hand-made databases with
//! known answers, and every targets/report command through the binary in every format.

mod common;
use assert_cmd::Command;
use funnel::app::{funnel as funnel_analysis, reports, targets};
use funnel::domain::{Period, TargetMetric, TargetScope};
use predicates::prelude::*;

/// Two teams under a root, three reps, four stages, and on 2026-11-22:
/// - rep Ann (team East): orders of 300 and 200 in 2026-11, an open deal of 1000 at 50%
///   expected 2026-11-30, one of 400 at 50% expected in December;
/// - rep Bob (team East): an order of 100 in 2026-11;
/// - rep Cy (team West): nothing.
fn hand_made() -> common::Db {
    let db = common::Db::new();
    db.store
        .connection()
        .execute_batch(
            "INSERT INTO teams(id, name, parent_id) VALUES (1, 'All', NULL), (2, 'East', 1), (3, 'West', 1);
             INSERT INTO reps(id, name, team_id, capacity) VALUES (1, 'Ann', 2, 1.0), (2, 'Bob', 2, 0.5), (3, 'Cy', 3, 1.0);
             INSERT INTO stages(id, name, position, probability, kind, forecast_category) VALUES
               (1, 'Lead', 1, 0.2, 'open', 'pipeline'), (2, 'Offer', 2, 0.5, 'open', 'best_case'),
               (3, 'Won', 3, 1, 'won', 'closed'), (4, 'Lost', 4, 0, 'lost', 'omitted');
             INSERT INTO customers(id, name, owner_rep_id, created_on) VALUES
               (1, 'Acme', 1, '2026-11-03'), (2, 'Bolt', 2, '2025-01-01'), (3, 'Core', 1, '2026-10-01');
             INSERT INTO deals(id, name, customer_id, owner_rep_id, amount_cents, stage_id, created_on,
                               stage_entered_on, expected_close, closed_on) VALUES
               (1, 'a-won', 1, 1, 30000, 3, '2026-10-01', '2026-11-05', '2026-11-05', '2026-11-05'),
               (2, 'a-won2', 1, 1, 20000, 3, '2026-10-01', '2026-11-10', '2026-11-10', '2026-11-10'),
               (3, 'b-won', 2, 2, 10000, 3, '2026-10-01', '2026-11-12', '2026-11-12', '2026-11-12'),
               (4, 'a-open', 1, 1, 100000, 2, '2026-11-01', '2026-11-15', '2026-11-30', NULL),
               (5, 'a-later', 3, 1, 40000, 2, '2026-11-01', '2026-11-15', '2026-12-15', NULL);
             INSERT INTO orders(customer_id, deal_id, ordered_on, amount_cents) VALUES
               (1, 1, '2026-11-05', 30000), (1, 2, '2026-11-10', 20000), (2, 3, '2026-11-12', 10000);
             INSERT INTO activities(customer_id, rep_id, kind, done_on) VALUES
               (1, 1, 'call', '2026-11-02'), (1, 1, 'call', '2026-11-20'), (2, 2, 'email', '2026-11-21');",
        )
        .unwrap();
    db
}

fn nov() -> Period {
    Period::parse("2026-11").unwrap()
}

#[test]
fn attainment_pace_coverage_and_projection_by_hand() {
    let mut db = hand_made();
    let set = |db: &mut common::Db, scope, name: Option<&str>, metric, v| {
        targets::set(&mut db.store, scope, name, nov(), metric, v, "plan").unwrap()
    };
    set(
        &mut db,
        TargetScope::Rep,
        Some("Ann"),
        TargetMetric::WonRevenue,
        100_000,
    );
    set(
        &mut db,
        TargetScope::Team,
        Some("East"),
        TargetMetric::WonRevenue,
        150_000,
    );
    set(
        &mut db,
        TargetScope::Rep,
        Some("Ann"),
        TargetMetric::Activities,
        8,
    );
    set(
        &mut db,
        TargetScope::Rep,
        Some("Bob"),
        TargetMetric::WonRevenue,
        60_000,
    );
    // Ann's November deal has a learned win probability of 90%.
    db.store
        .connection()
        .execute_batch(
            "INSERT INTO model_runs(id, created_at, kind, params_json, metrics_json)
               VALUES (1, '2026-11-22', 'win_probability', '{}', '{}');
             INSERT INTO deal_scores(deal_id, model_run_id, probability, computed_at)
               VALUES (4, 1, 0.9, '2026-11-22');",
        )
        .unwrap();
    let rows = targets::list(&db.store, Some(nov()), None, None, common::today()).unwrap();
    let find = |name: &str, m: TargetMetric| {
        rows.iter()
            .find(|r| r.target.name == name && r.target.metric == m)
            .unwrap()
            .clone()
    };
    let ann = find("Ann", TargetMetric::WonRevenue).standing;
    // Actual 500 of 1000; 22 of 30 days gone (no revenue history beyond this month, so
    // months weigh equally and one month's pace is linear in days).
    assert_eq!(ann.actual, 50_000.0);
    assert_eq!(ann.attainment, Some(0.5));
    assert!((ann.pace - 22.0 / 30.0).abs() < 1e-12, "{}", ann.pace);
    assert_eq!(ann.gap, 50_000.0);
    // Open in November: the 1000 deal at 90% -> weighted 900 against a gap of 500;
    // December's is not counted.
    assert_eq!(ann.coverage, Some(1.8));
    // Projected: actual plus the simulated median of what the pipeline adds (the deal
    // wins in 90% of the runs, so the median is its 1000): 1500 of 1000.
    assert_eq!(ann.projected, Some(1.5));
    assert_eq!(ann.required_win_rate, Some(0.5));
    // The team rolls up Ann and Bob: 600 of 1500, and its reps' targets (1000 + 600)
    // differ from its own: shown, not hidden.
    let east = find("East", TargetMetric::WonRevenue);
    assert_eq!(east.standing.actual, 60_000.0);
    assert_eq!(east.mismatch, Some(160_000));
    // Activities: 2 of 8, projected by run rate: 2 / (22/30) / 8.
    let act = find("Ann", TargetMetric::Activities).standing;
    assert_eq!(act.actual, 2.0);
    assert!((act.projected.unwrap() - 2.0 / (22.0 / 30.0) / 8.0).abs() < 1e-12);
    assert_eq!(act.coverage, None);
}

#[test]
fn revisions_keep_old_values_who_when_why_and_are_audited() {
    let mut db = hand_made();
    let (id, old) = targets::set(
        &mut db.store,
        TargetScope::Company,
        None,
        nov(),
        TargetMetric::WonDeals,
        10,
        "first plan",
    )
    .unwrap();
    assert_eq!(old, None);
    let was = targets::revise(&mut db.store, id, 12, "board raised it").unwrap();
    assert_eq!(was, 10);
    let revs = db.store.target_revisions(id).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!((revs[0].old_value, revs[0].new_value), (None, 10));
    assert_eq!((revs[1].old_value, revs[1].new_value), (Some(10), 12));
    assert_eq!(revs[1].reason, "board raised it");
    assert!(!revs[1].changed_by.is_empty() && !revs[1].changed_at.is_empty());
    let audited: i64 = db
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE entity = 'target' AND entity_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 2, "the insert and the update");
    // A revision needs a reason; an unknown target or rep is named.
    let e = targets::revise(&mut db.store, id, 5, " ").unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    let e = targets::set(
        &mut db.store,
        TargetScope::Rep,
        Some("Zed"),
        nov(),
        TargetMetric::WonRevenue,
        1,
        "x",
    )
    .unwrap_err();
    assert!(e.to_string().contains("no rep named 'Zed'"), "{e}");
    assert_eq!(
        db.store.target_revisions(id).unwrap().len(),
        2,
        "nothing half-written"
    );
    // Setting or revising to the value it already has writes no revision; a set needs a
    // reason too.
    targets::revise(&mut db.store, id, 12, "same again").unwrap();
    targets::set(
        &mut db.store,
        TargetScope::Company,
        None,
        nov(),
        TargetMetric::WonDeals,
        12,
        "same",
    )
    .unwrap();
    assert_eq!(db.store.target_revisions(id).unwrap().len(), 2);
    let e = targets::set(
        &mut db.store,
        TargetScope::Company,
        None,
        nov(),
        TargetMetric::WonDeals,
        13,
        "",
    )
    .unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    assert_eq!(db.store.target(id).unwrap().unwrap().value, 12);
}

/// The proposal's rep rows summed.
fn reps_sum(p: &targets::Proposal) -> i64 {
    p.rows
        .iter()
        .filter(|r| r.scope == TargetScope::Rep)
        .map(|r| r.value_cents)
        .sum()
}

#[test]
fn proposals_add_up_and_resource_follows_capacity() {
    let mut db = hand_made();
    // Goal-based with no complete month of won revenue yet (November is still running):
    // every forecast is 0, so it is refused, not zeros for everyone.
    let q = Period::parse("2027-Q1").unwrap();
    let e = targets::propose(&db.store, targets::Method::Goal, q, 20.0, common::today())
        .unwrap_err()
        .to_string();
    assert!(e.contains("every rep would get 0"), "{e}");
    // May: 400 from Ann's customer, 200 from Bob's (complete months are what counts).
    db.store
        .connection()
        .execute_batch(
            "INSERT INTO orders(customer_id, ordered_on, amount_cents) VALUES
               (1, '2026-05-10', 40000), (2, '2026-05-10', 20000);",
        )
        .unwrap();
    let q = Period::parse("2027-Q1").unwrap();
    let p = targets::propose(
        &db.store,
        targets::Method::Resource,
        q,
        0.0,
        common::today(),
    )
    .unwrap();
    let get = |name: &str| p.rows.iter().find(|r| r.name == name).unwrap().value_cents;
    // The data begins in May: six complete months (May to October) before today. East
    // earned 600 in them with capacity 1.5: 66.67 per capacity-month (not 600 spread over
    // 12 months, half of them before the data began); Ann (1.0) gets 3 months = 200, Bob
    // (0.5) 100; West earned nothing.
    assert_eq!(get("Ann"), 20_000);
    assert_eq!(get("Bob"), 10_000);
    assert_eq!(get("Cy"), 0);
    assert_eq!(get("East"), 30_000);
    assert_eq!(get("All"), 30_000);
    assert_eq!(get("Company"), 30_000);
    assert!(
        p.summary.contains("last 6 months with data"),
        "{}",
        p.summary
    );
    // Goal-based: the levels add up, and the company is the forecast times the growth.
    // One month of revenue in six (May, then nothing): a small goal, well under a May a
    // month, split by each rep's share of the forecast.
    let g = targets::propose(&db.store, targets::Method::Goal, q, 20.0, common::today()).unwrap();
    let company = g.rows[0].value_cents;
    assert!(company > 0 && company < 3 * 60_000, "{}", g.summary);
    assert_eq!(reps_sum(&g), company);
    db.store
        .connection()
        .execute_batch(
            "INSERT INTO orders(customer_id, ordered_on, amount_cents) VALUES
               (1, '2026-06-10', 40000), (1, '2026-07-10', 40000), (1, '2026-08-10', 40000),
               (1, '2026-09-10', 40000), (1, '2026-10-10', 40000), (2, '2026-06-10', 20000),
               (2, '2026-07-10', 20000), (2, '2026-08-10', 20000), (2, '2026-09-10', 20000),
               (2, '2026-10-10', 20000);",
        )
        .unwrap();
    let g = targets::propose(&db.store, targets::Method::Goal, q, 20.0, common::today()).unwrap();
    assert_eq!(reps_sum(&g), g.rows[0].value_cents);
    assert!(g.summary.contains("20% growth goal"), "{}", g.summary);
    // Saving writes every row as a revision with the method as the reason.
    let n = targets::save_proposal(&mut db.store, &p).unwrap();
    assert_eq!(n, p.rows.len());
    let saved = db.store.target_rows(Some("2027-Q1"), None, None).unwrap();
    assert_eq!(saved.len(), p.rows.len());
    let rev = db.store.target_revisions(saved[0].id).unwrap();
    assert_eq!(rev[0].reason, "proposal: resource method");
}

#[test]
fn funnel_conversion_comes_from_the_stage_history() {
    let db = hand_made();
    // Five deals created in 2026-03 (inside the cohort ending 90 days before 2026-11-22):
    // all enter Lead; three reach Offer; two of those win, one is lost at Offer; one is
    // lost at Lead; one still sits in Lead.
    db.store
        .connection()
        .execute_batch(
            "INSERT INTO deals(id, name, customer_id, owner_rep_id, amount_cents, stage_id, created_on,
                               stage_entered_on, closed_on) VALUES
               (10, 'c1', 1, 1, 1000, 3, '2026-03-01', '2026-03-21', '2026-03-21'),
               (11, 'c2', 1, 1, 3000, 3, '2026-03-01', '2026-04-10', '2026-04-10'),
               (12, 'c3', 1, 1, 1000, 4, '2026-03-01', '2026-04-01', '2026-04-01'),
               (13, 'c4', 1, 1, 1000, 4, '2026-03-01', '2026-03-05', '2026-03-05'),
               (14, 'c5', 1, 1, 1000, 1, '2026-03-01', '2026-03-01', NULL);
             INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on) VALUES
               (10, NULL, 1, '2026-03-01'), (10, 1, 2, '2026-03-11'), (10, 2, 3, '2026-03-21'),
               (11, NULL, 1, '2026-03-01'), (11, 1, 2, '2026-03-05'), (11, 2, 3, '2026-04-10'),
               (12, NULL, 1, '2026-03-01'), (12, 1, 2, '2026-03-02'), (12, 2, 4, '2026-04-01'),
               (13, NULL, 1, '2026-03-01'), (13, 1, 4, '2026-03-05'),
               (14, NULL, 1, '2026-03-01');
             -- Twenty more winners like c1, so the stale thresholds have the 20 stays they need.
             WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 119)
             INSERT INTO deals(id, name, customer_id, owner_rep_id, amount_cents, stage_id, created_on,
                               stage_entered_on, closed_on)
             SELECT i, 'w' || i, 1, 1, 1000, 3, '2026-03-01', '2026-03-21', '2026-03-21' FROM n;
             INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on)
             SELECT id, NULL, 1, '2026-03-01' FROM deals WHERE id >= 100
             UNION ALL SELECT id, 1, 2, '2026-03-11' FROM deals WHERE id >= 100
             UNION ALL SELECT id, 2, 3, '2026-03-21' FROM deals WHERE id >= 100;",
        )
        .unwrap();
    let a = funnel_analysis::analyze(&db.store, common::today()).unwrap();
    assert_eq!((a.cohort_deals, a.sample_every), (25, 1));
    let lead = &a.stages[0];
    // Lead: all 25 reached it; 22 winners and c3 went further, c4 was lost there, c5 sits.
    assert_eq!(
        (
            lead.conversion.reached,
            lead.conversion.advanced,
            lead.conversion.lost,
            lead.conversion.open
        ),
        (25, 23, 1, 1)
    );
    assert_eq!(lead.conversion.rate(), Some(23.0 / 24.0));
    let offer = &a.stages[1];
    assert_eq!((offer.conversion.advanced, offer.conversion.lost), (22, 1));
    // Days in Lead: 21 stays of 10, and 4 (c2), 1 (c3), 4 (c4); c5's stay is not over.
    assert_eq!(lead.median_days, Some(10.0));
    // Stale thresholds from the winners: Lead 21 x 10 and 4 -> p80 10; Offer 21 x 10 and 36.
    assert_eq!(lead.stale_after, Some(10.0));
    assert_eq!(offer.stale_after, Some(10.0));
    // Past them today: c5 (in Lead since March); Ann's offers are 7 days in, under 10.
    let stale: Vec<&str> = a.stale.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(stale, ["c5"]);
    // The board marks the same deals stuck, from the same thresholds.
    let t = funnel::app::board::stuck_thresholds(&db.store, common::today()).unwrap();
    assert_eq!((t[&1], t[&2]), (10.0, 10.0));
    // Velocity over the last 12 months: won 3 (November) + 22, lost 2.
    let v = a.velocity.unwrap();
    assert_eq!(v.open_deals, 3);
    assert!((v.win_rate - 25.0 / 27.0).abs() < 1e-12);
}

#[test]
fn every_report_runs_and_unknown_ones_are_named() {
    let db = hand_made();
    for (name, _) in reports::REPORTS {
        let r = reports::run(&db.store, name, None, None, common::today()).unwrap();
        assert_eq!(&r.name, name);
        assert!(!r.table.columns.is_empty());
    }
    let w = reports::run(&db.store, "win-rates", Some("team"), None, common::today()).unwrap();
    assert_eq!(w.table.rows.len(), 1, "East only: {:?}", w.table.rows);
    // Asked for wrongly: a usage error (exit 2 on the command line), naming the way out.
    let e = reports::run(&db.store, "nope", None, None, common::today()).unwrap_err();
    assert!(
        matches!(&e, reports::ReportError::Usage(m) if m.contains("funnel report --list")),
        "{e}"
    );
    let e = reports::run(&db.store, "win-rates", Some("color"), None, common::today()).unwrap_err();
    assert!(
        matches!(&e, reports::ReportError::Usage(m) if m.contains("--by 'color'")),
        "{e}"
    );
}

fn cli(db: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.arg("--db")
        .arg(db)
        .env_remove("FUNNEL_DB")
        .args(["--today", "2026-11-22"]);
    c
}

fn demo(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("demo.db");
    cli(&db)
        .args([
            "demo",
            "--customers",
            "200",
            "--deals",
            "1500",
            "--as-of",
            "2026-11-22",
        ])
        .assert()
        .success();
    db
}

#[test]
fn targets_commands_through_the_binary_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    for format in ["table", "csv", "json", "markdown"] {
        let out = cli(&db)
            .args([
                "--format", format, "targets", "list", "--period", "2026-11", "--scope", "rep",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("attainment") && text.contains("required_win_rate"),
            "{format}: {text}"
        );
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(v.as_array().unwrap().iter().all(|r| r["scope"] == "rep"));
            }
            "markdown" => assert!(text.starts_with("| id | period |"), "{text}"),
            _ => {}
        }
    }
    cli(&db)
        .args([
            "targets", "set", "--period", "2027-01", "--rep", "nobody", "5000",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no rep named 'nobody'"));
    cli(&db)
        .args(["targets", "set", "--period", "2027-13", "--company", "5000"])
        .assert()
        .code(2)
        // clap names the option; the reason is the period parser's.
        .stderr(
            predicate::str::contains("for '--period <PERIOD>'")
                .and(predicate::str::contains("'2027-13' is not a period")),
        );
    cli(&db)
        .args([
            "targets",
            "set",
            "--period",
            "2027-01",
            "--company",
            "12,500.50",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("set to 12500.50"));
    let out = cli(&db)
        .args(["--format", "csv", "targets", "list", "--period", "2027-01"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut rdr = csv::Reader::from_reader(out.as_slice());
    let row = rdr.records().next().unwrap().unwrap();
    let id = row[0].to_string();
    cli(&db)
        .args(["targets", "revise", &id, "14000", "--reason", "new budget"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "revised from 12500.50 to 14000.00: new budget",
        ));
    cli(&db)
        .args(["targets", "revise", &id, "14000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--reason"));
    cli(&db)
        .args(["--format", "csv", "targets", "history", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains("12500").and(predicate::str::contains("new budget")));
    for method in ["goal", "performance", "resource"] {
        cli(&db)
            .args([
                "--format", "table", "targets", "propose", "--method", method, "--period",
                "2027-Q1",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "{method} proposal for 2027-Q1"
            )))
            .stderr(predicate::str::contains("not saved"));
    }
    // --save stores every row as a revision; the company's target is then listed.
    cli(&db)
        .args([
            "targets", "propose", "--method", "resource", "--period", "2027-Q2", "--save",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("saved"));
    let out = cli(&db)
        .args([
            "--format", "json", "targets", "list", "--period", "2027-Q2", "--scope", "company",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    // Without reps there is nothing to propose, and it says so.
    let empty = dir.path().join("empty.db");
    drop(funnel::store::Store::open(&empty).unwrap());
    cli(&empty)
        .args([
            "targets", "propose", "--method", "goal", "--period", "2027-Q1",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no active reps"));
    cli(&db)
        .args([
            "targets", "propose", "--method", "guess", "--period", "2027-Q1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "use goal, performance or resource",
        ));
}

#[test]
fn report_commands_through_the_binary_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let list = cli(&db)
        .args(["report", "--list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8(list).unwrap();
    assert_eq!(list.lines().count(), reports::REPORTS.len());
    for (name, _) in reports::REPORTS {
        assert!(
            list.lines()
                .any(|l| l.starts_with(name) && l.len() > name.len() + 5),
            "{list}"
        );
        for format in ["table", "csv", "json", "markdown"] {
            let out = cli(&db)
                .args(["--format", format, "report", name])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            let text = String::from_utf8(out).unwrap();
            match format {
                "json" => {
                    serde_json::from_str::<serde_json::Value>(&text).unwrap();
                }
                "csv" => {
                    let mut rdr = csv::Reader::from_reader(text.as_bytes());
                    assert!(rdr.headers().unwrap().len() > 1, "{name}: {text}");
                }
                "markdown" => assert!(text.starts_with(&format!("## {name}")), "{text}"),
                _ => assert!(text.starts_with(&format!("{name}: ")), "{text}"),
            }
        }
    }
    cli(&db)
        .args(["--format", "csv", "report", "win-rates", "--by", "segment"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "segment,closed,won,lost,win_rate",
        ));
    cli(&db)
        .args(["report", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no report 'nope'"));
}
