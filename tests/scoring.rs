//! Win probability: no feature reads anything after its prediction date; the command
//! line evaluates, lists and explains.

mod common;
use assert_cmd::Command;
use predicates::prelude::*;

fn demo(dir: &std::path::Path) -> funnel::store::Store {
    let mut store = funnel::store::Store::open(&dir.join("s.db")).unwrap();
    let opts = funnel::app::demo::DemoOptions {
        customers: 300,
        deals: 3000,
        ..funnel::app::demo::DemoOptions::new(common::today())
    };
    funnel::app::demo::generate(&mut store, &opts, &common::actor(), &mut |_, _| {}).unwrap();
    store
}

#[test]
fn features_use_nothing_after_the_prediction_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let deals = store.scoring_deals(5000, "2026-05-26").unwrap();
    let closed: Vec<&funnel::store::scoring::DealFacts> =
        deals.iter().filter(|d| d.outcome.is_some()).collect();
    let f = funnel::app::scoring::featurizer(&store, &deals, &closed).unwrap();
    // A won deal that went through several stages, looked at before it closed.
    let deal = deals
        .iter()
        .find(|d| {
            d.outcome == Some(true)
                && d.closed_on
                    .is_some_and(|c| (c - d.created_on).num_days() > 60)
        })
        .expect("a long won deal");
    let at = deal.created_on + chrono::Duration::days(7);
    let before = f.row(deal, at);
    // Everything that happened afterwards: more stages, activities, other deals closing.
    let conn = store.connection();
    conn.execute(
        "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on)
         SELECT ?1, NULL, (SELECT max(id) FROM stages WHERE kind = 'open'), ?2",
        rusqlite::params![deal.id, (at + chrono::Duration::days(1)).to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO activities(customer_id, deal_id, kind, done_on) SELECT customer_id, id, 'call', ?2 FROM deals WHERE id = ?1",
        rusqlite::params![deal.id, (at + chrono::Duration::days(2)).to_string()],
    )
    .unwrap();
    let again = funnel::app::scoring::featurizer(&store, &deals, &closed).unwrap();
    assert_eq!(
        again.row(deal, at),
        before,
        "later events change nothing at the prediction date"
    );
    // And the snapshots a closed deal is learned from all come before its close.
    for s in funnel::app::scoring::snapshots(deal) {
        assert!(s < deal.closed_on.unwrap());
    }
    // The stage and activity it really had by then do count: a day before its close the
    // row differs from a week after its creation.
    let late = f.row(deal, deal.closed_on.unwrap() - chrono::Duration::days(1));
    assert_ne!(late, before);
}

#[test]
fn score_lists_evaluates_and_explains_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    drop(demo(dir.path()));
    let db = dir.path().join("s.db");
    let bin = || {
        let mut c = Command::cargo_bin("funnel").unwrap();
        c.arg("--db").arg(&db);
        c
    };
    let out = bin()
        .args(["score", "--evaluate", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut rdr = csv::Reader::from_reader(out.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        3,
        "logistic regression, decision tree and naive Bayes"
    );
    let auc: f64 = rows[0][2].parse().unwrap();
    assert!(auc > 0.6 && auc < 0.99, "holdout AUC {auc}");
    let list = bin()
        .args(["score", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut rdr = csv::Reader::from_reader(list.as_slice());
    let first = rdr.records().next().unwrap().unwrap();
    let deal = first[0].to_string();
    bin()
        .args(["score", "--explain", &deal])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("win probability")
                .and(predicate::str::contains("has reached")),
        );
    bin()
        .args(["score", "--explain", "NOPE-1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no open deal"));
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM deal_scores", [], |r| r.get(0))
        .unwrap();
    assert!(stored > 0);
}

/// An export where every lost deal carries amount 0: the leakage check refuses the model,
/// names the feature, and `funnel score` says the stage probabilities are in use. The
/// same demo without the leak is accepted, split by deal.
#[test]
fn a_leak_is_refused_by_name_and_said_by_score() {
    let dir = tempfile::tempdir().unwrap();
    drop(demo(dir.path()));
    let db = dir.path().join("s.db");
    let bin = || funnel_at(&db);
    let evaluate = || -> serde_json::Value {
        let out = bin()
            .args(["score", "--evaluate", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    };
    let honest = evaluate();
    assert_eq!(honest["model_used"], true, "{honest}");
    assert!(honest["not_used_because"].is_null());
    let deals = &honest["deals"];
    assert!(deals["train"].as_u64().unwrap() > deals["holdout"].as_u64().unwrap());
    bin()
        .args(["score", "--format", "table"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "in use: the learned win probabilities",
        ));
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE deals SET amount_cents = 0
             WHERE stage_id IN (SELECT id FROM stages WHERE kind = 'lost')",
            [],
        )
        .unwrap();
    let leaky = evaluate();
    assert_eq!(leaky["model_used"], false, "{leaky}");
    let why = leaky["not_used_because"].as_str().unwrap();
    assert!(
        why.contains("refused: amount alone separates won from lost"),
        "{why}"
    );
    let out = bin()
        .args(["score", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "in use: the stage probabilities, not the learned ones — the model was refused: amount"
    ));
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = rdr.headers().unwrap().clone();
    let in_use = headers.iter().position(|h| h == "in_use").unwrap();
    assert!(rdr.records().all(|r| &r.unwrap()[in_use] == "stage"));
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM deal_scores", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0, "a refused model's scores are not kept");
}

/// Monitoring on known outcomes: a run's scored deals close the way it said (the likely
/// ones won) — live AUC 1, no drift; the other way round — the drift warning.
#[test]
fn score_accuracy_checks_runs_against_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    drop(demo(dir.path()));
    let db = dir.path().join("s.db");
    let bin = || funnel_at(&db);
    bin().args(["score", "--format", "csv"]).assert().success();
    let accuracy = || -> (serde_json::Value, String) {
        let out = bin()
            .args(["score", "accuracy", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .clone();
        (
            serde_json::from_slice(&out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (runs, _) = accuracy();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["closed_since"], 0, "nothing closed yet");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let scored: i64 = conn
        .query_row("SELECT count(*) FROM deal_score_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs[0]["scored"], scored);
    let close = |likely_wins: bool| {
        let (hi, lo) = if likely_wins {
            ("won", "lost")
        } else {
            ("lost", "won")
        };
        conn.execute(
            &format!(
                "UPDATE deals SET closed_on = '2026-11-30', stage_id = CASE
                   WHEN (SELECT probability FROM deal_score_history h WHERE h.deal_id = deals.id) >= 0.5
                   THEN (SELECT id FROM stages WHERE kind = '{hi}') ELSE (SELECT id FROM stages WHERE kind = '{lo}') END
                 WHERE id IN (SELECT deal_id FROM deal_score_history)"
            ),
            [],
        )
        .unwrap();
    };
    close(true);
    let (runs, warned) = accuracy();
    assert_eq!(runs[0]["closed_since"], scored);
    assert_eq!(runs[0]["auc"], 1.0, "{runs}");
    assert_eq!(runs[0]["drift"], "");
    assert!(warned.is_empty(), "{warned}");
    close(false);
    let (runs, warned) = accuracy();
    assert_eq!(runs[0]["auc"], 0.0);
    assert_eq!(runs[0]["drift"], "yes");
    assert!(warned.contains("drift: log loss"), "{warned}");
    bin()
        .args(["score", "accuracy", "--format", "table"])
        .assert()
        .success()
        .stdout(predicate::str::contains("calibration of run 1"));
}

/// The binary on `db`, as of the demo's day.
fn funnel_at(db: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("funnel").unwrap();
    c.arg("--db").arg(db).env("FUNNEL_TODAY", "2026-11-22");
    c
}
