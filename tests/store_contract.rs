//! The store contract: what every backend must do, written against the traits of
//! `store::backend` only (no SQL here). It runs on SQLite now; a second backend adds
//! itself to `backends()` and must pass the same functions.

mod common;
use funnel::domain::agenda::{AgendaChange, AgendaScope, PlanVisit};
use funnel::domain::audit::{AuditFilter, Entity};
use funnel::domain::customers::{Cursor, CustomerFilter, CustomerSort, PageDirection};
use funnel::domain::deals::Move;
use funnel::domain::kinds::ActivityKind;
use funnel::domain::records::{ActivityRecord, CustomerRef};
use funnel::domain::records::{CustomerRecord, RepRecord, StageRecord, TeamRecord};
use funnel::domain::rules::{Hit, RuleAction, RuleRun, Then};
use funnel::domain::{CustomerStatus, ForecastCategory, StageKind, TargetMetric, TargetScope};
use funnel::store::backend::Backend;
use funnel::store::edits::DealFields;
use funnel::store::StoreError;

/// What keeps a backend's database alive until the test ends (a directory, a database).
type Keep = Box<dyn std::any::Any>;

/// Every backend under test, fresh and empty, with what keeps it alive: SQLite in a new
/// file, and PostgreSQL in a new database on the test server when there is one (said as
/// SKIPPED on stderr when there is none).
fn backends(test: &str) -> Vec<(&'static str, Box<dyn Backend>, Keep)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = funnel::store::Store::open(&dir.path().join("contract.db")).unwrap();
    let mut out: Vec<(&'static str, Box<dyn Backend>, Keep)> =
        vec![("sqlite", Box::new(sqlite), Box::new(dir))];
    if let Some(s) = common::pg::server(&format!("store_contract::{test} on PostgreSQL")) {
        let tag: String = test.chars().take(30).collect();
        let scratch = common::pg::Scratch::new(&s, &format!("contract_{tag}"));
        let target = funnel::store::postgres::Target::parse(
            &scratch.url,
            &common::pg::env_of(&[("PGPASSWORD", &s.password)]),
            None,
        )
        .unwrap();
        let pg = funnel::store::postgres::PgStore::open(target).unwrap();
        out.push(("postgres", Box::new(pg), Box::new(scratch)));
    }
    out
}

fn customer(name: &str, city: &str) -> CustomerRecord {
    CustomerRecord {
        external_id: None,
        name: name.into(),
        owner: None,
        industry: None,
        segment: None,
        region: Some("EMEA".into()),
        city: Some(city.into()),
        country: None,
        email: None,
        phone: None,
        status: CustomerStatus::Active,
        contact_every_days: None,
        created_on: None,
    }
}

/// `n` customers in Oslo named "PREFIX 00", "PREFIX 01"…; their ids.
fn oslo_customers(db: &mut dyn Backend, prefix: &str, n: usize) -> Vec<i64> {
    let actor = common::actor();
    (0..n)
        .map(|i| {
            db.save_customer(
                None,
                None,
                &customer(&format!("{prefix} {i:02}"), "Oslo"),
                common::today(),
                &actor,
            )
            .unwrap()
        })
        .collect()
}

/// Stages to move deals through: one open stage, won and lost (made if the backend starts
/// without any).
/// The stages, the open one's id and name, and a customer "Buyer" to hang deals on.
fn open_stage_and_a_buyer(db: &mut dyn Backend) -> (i64, String) {
    let (open, _won) = stages(db);
    let name = db
        .stages()
        .unwrap()
        .into_iter()
        .find(|s| s.id == open)
        .unwrap()
        .name;
    db.save_customer(
        None,
        None,
        &customer("Buyer", "Oslo"),
        common::today(),
        &common::actor(),
    )
    .unwrap();
    (open, name)
}

fn stages(db: &mut dyn Backend) -> (i64, i64) {
    let actor = common::actor();
    if db.stages().unwrap().is_empty() {
        for (i, (name, kind, p)) in [
            ("Talking", StageKind::Open, 0.3),
            ("Won", StageKind::Won, 1.0),
            ("Lost", StageKind::Lost, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            let r = StageRecord {
                name: name.into(),
                kind,
                probability: Some(p),
                position: Some(i as i64 + 1),
                category: Some(ForecastCategory::Pipeline),
            };
            db.save_stage(None, None, &r, &actor).unwrap();
        }
    }
    let all = db.stages().unwrap();
    let open = all.iter().find(|s| s.kind == StageKind::Open).unwrap();
    let won = all.iter().find(|s| s.kind == StageKind::Won).unwrap();
    (open.id, won.id)
}

#[test]
fn an_empty_backend_says_so() {
    for (name, db, _keep) in backends("an_empty_backend_says_so") {
        assert!(db.is_empty().unwrap(), "{name}");
        assert_eq!(db.count_customers(&CustomerFilter::default()).unwrap(), 0);
        let page = db
            .customer_page(
                &CustomerFilter::default(),
                CustomerSort::Name,
                None,
                PageDirection::Forward,
                10,
            )
            .unwrap();
        assert!(page.is_empty(), "{name}");
    }
}

#[test]
fn customers_are_saved_read_back_and_paged_by_keyset() {
    for (name, mut db, _keep) in backends("customers_are_saved_read_back_and_paged_by_keyset") {
        let actor = common::actor();
        for i in 0..25 {
            let city = if i % 2 == 0 { "Paris" } else { "Lyon" };
            db.save_customer(
                None,
                None,
                &customer(&format!("Firm {i:02}"), city),
                common::today(),
                &actor,
            )
            .unwrap();
        }
        assert!(!db.is_empty().unwrap(), "{name}");
        assert_eq!(db.count_customers(&CustomerFilter::default()).unwrap(), 25);
        let paris = CustomerFilter {
            search: "paris".into(),
            ..Default::default()
        };
        assert_eq!(db.count_customers(&paris).unwrap(), 13, "{name}: search");
        // Pages of 10 going forward cover every row once, in name order.
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = db
                .customer_page(
                    &CustomerFilter::default(),
                    CustomerSort::Name,
                    cursor.as_ref(),
                    PageDirection::Forward,
                    10,
                )
                .unwrap();
            if page.is_empty() {
                break;
            }
            let last = page.last().unwrap();
            cursor = Some(Cursor {
                sort_key: last.sort_key.clone(),
                id: last.id,
            });
            seen.extend(page.into_iter().map(|r| r.name));
        }
        let expected: Vec<String> = (0..25).map(|i| format!("Firm {i:02}")).collect();
        assert_eq!(seen, expected, "{name}");
        // One customer by its name, then by id; a duplicate name is refused at the field.
        let id = db.find_row(Entity::Customer, "firm 07").unwrap();
        let d = db.customer_detail(id).unwrap().unwrap();
        assert_eq!(
            (d.name.as_str(), d.city.as_deref()),
            ("Firm 07", Some("Lyon"))
        );
        let err = db
            .save_customer(
                None,
                None,
                &customer("Firm 07", "Nice"),
                common::today(),
                &actor,
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Field { field: "name", .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_save_on_a_stale_version_is_refused_and_the_trail_records_each_write() {
    for (name, mut db, _keep) in
        backends("a_save_on_a_stale_version_is_refused_and_the_trail_records_each_write")
    {
        let actor = common::actor();
        let before = db.audit_high_water().unwrap();
        let id = db
            .save_customer(
                None,
                None,
                &customer("Versioned", "Rome"),
                common::today(),
                &actor,
            )
            .unwrap();
        let v1 = db.customer_detail(id).unwrap().unwrap().version;
        db.save_customer(
            Some(id),
            Some(v1),
            &customer("Versioned", "Milan"),
            common::today(),
            &actor,
        )
        .unwrap();
        // The form that read v1 is now stale.
        let err = db
            .save_customer(
                Some(id),
                Some(v1),
                &customer("Versioned", "Turin"),
                common::today(),
                &actor,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{name}: {err}");
        assert_eq!(
            db.customer_detail(id).unwrap().unwrap().city.as_deref(),
            Some("Milan")
        );
        let entries = db
            .audit_entries(&AuditFilter {
                entity: Some("customer".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert!(
            entries.iter().filter(|e| e.entity_id == id).count() >= 2,
            "{name}"
        );
        // Undo takes the last change back.
        let after = db.audit_high_water().unwrap();
        assert!(after > before);
        let v2 = db.customer_detail(id).unwrap().unwrap().version;
        let mark = db.audit_high_water().unwrap();
        db.save_customer(
            Some(id),
            Some(v2),
            &customer("Versioned", "Naples"),
            common::today(),
            &actor,
        )
        .unwrap();
        let to = db.audit_high_water().unwrap();
        db.undo_range(mark, to, &actor).unwrap();
        assert_eq!(
            db.customer_detail(id).unwrap().unwrap().city.as_deref(),
            Some("Milan"),
            "{name}: undone"
        );
    }
}

#[test]
fn deals_move_through_stages_and_are_deleted_with_their_history() {
    for (name, mut db, _keep) in
        backends("deals_move_through_stages_and_are_deleted_with_their_history")
    {
        let actor = common::actor();
        let (open, stage_name) = open_stage_and_a_buyer(&mut *db);
        let fields = DealFields {
            name: "Big one".into(),
            customer: Some("Buyer".into()),
            owner: None,
            amount: funnel::domain::Money(1_000_000),
            expected_close: None,
            stage: Some(stage_name),
            product: None,
        };
        let deal = db
            .save_deal(None, None, &fields, common::today(), &actor)
            .unwrap();
        let card = db.deal_card(deal).unwrap().unwrap();
        assert_eq!(card.amount.cents(), 1_000_000, "{name}");
        assert_eq!(db.deals_in_stage(open, 10).unwrap().len(), 1);
        assert_eq!(db.open_deals().unwrap().len(), 1);
        db.move_deal(deal, &Move::Won, common::today(), &actor)
            .unwrap();
        assert!(
            db.open_deals().unwrap().is_empty(),
            "{name}: won is not open"
        );
        // A won deal holds its order: deleting it needs force, and then goes whole.
        let plan = db.removal_plan(Entity::Deal, deal).unwrap();
        assert!(plan.ledger.is_some(), "{name}");
        assert!(db.remove(Entity::Deal, deal, false, &actor).is_err());
        db.remove(Entity::Deal, deal, true, &actor).unwrap();
        assert!(db.deal_card(deal).unwrap().is_none(), "{name}");
    }
}

#[test]
fn the_organisation_and_targets_round_trip() {
    for (name, mut db, _keep) in backends("the_organisation_and_targets_round_trip") {
        let actor = common::actor();
        let team = TeamRecord {
            external_id: None,
            name: "North".into(),
            parent: None,
        };
        db.save_team(None, None, &team, &actor).unwrap();
        let rep = RepRecord {
            external_id: None,
            name: "Ada Lind".into(),
            email: None,
            team: Some("North".into()),
            capacity: Some(1.0),
            hired_on: None,
            active: Some(true),
        };
        db.save_rep(None, None, &rep, &actor).unwrap();
        let org = db.organisation().unwrap();
        assert!(org.teams.iter().any(|t| t.name == "North"), "{name}");
        assert!(org
            .reps
            .iter()
            .any(|r| r.name == "Ada Lind" && r.team.as_deref() == Some("North")));
        let (id, _) = db
            .set_target(
                TargetScope::Team,
                Some("North"),
                "2026-12",
                TargetMetric::WonRevenue,
                5_000_000,
                "plan",
                &actor,
            )
            .unwrap();
        db.revise_target(id, 6_000_000, "new hire", &actor).unwrap();
        let revisions = db.target_revisions(id).unwrap();
        assert_eq!(revisions.len(), 2, "{name}: set and revised");
        let row = db.target(id).unwrap().unwrap();
        assert_eq!(row.name, "North");
    }
}

#[test]
fn the_data_version_moves_with_every_write_and_the_cache_keeps_by_it() {
    for (name, mut db, _keep) in
        backends("the_data_version_moves_with_every_write_and_the_cache_keeps_by_it")
    {
        let v0 = db.data_version().unwrap();
        db.keep_analysis("probe", &v0, "{\"x\":1}");
        assert_eq!(
            db.cached_analysis("probe", &v0).unwrap().as_deref(),
            Some("{\"x\":1}")
        );
        db.save_customer(
            None,
            None,
            &customer("Writer", "Bern"),
            common::today(),
            &common::actor(),
        )
        .unwrap();
        let v1 = db.data_version().unwrap();
        assert_ne!(v0, v1, "{name}");
        assert!(db.cached_analysis("probe", &v1).unwrap().is_none());
        // Export streams a header and one row per customer.
        let mut rows = 0;
        let mut header = Vec::new();
        db.export(
            "customers",
            &mut |h| {
                header = h.iter().map(|s| s.to_string()).collect();
                Ok(())
            },
            &mut |_| {
                rows += 1;
                Ok(())
            },
        )
        .unwrap();
        assert!(header.contains(&"name".to_string()), "{name}");
        assert_eq!(rows, 1);
    }
}

#[test]
fn segment_runs_round_trip_with_history_and_moves() {
    use funnel::domain::segments::{NewSegmentRun, SegmentProfile};
    for (name, mut db, _keep) in backends("segment_runs_round_trip_with_history_and_moves") {
        let ids = oslo_customers(db.as_mut(), "Seg", 3);
        let profile = |name: &str, customers: usize| SegmentProfile {
            name: name.into(),
            description: format!("{customers} of them"),
            customers,
            revenue_cents: 100 * customers as i64,
            recency_days: 10.0,
            frequency: 2.0,
            monetary_cents: 5000.0,
            tenure_days: 300.0,
            breadth: 1.5,
        };
        let run = |profiles: Vec<SegmentProfile>, members: Vec<(i64, usize)>| NewSegmentRun {
            as_of: "2026-11-01".into(),
            created_at: "2026-11-01T00:00:00Z".into(),
            k: profiles.len(),
            silhouette: 0.5,
            adjusted_rand_min: Some(0.95),
            profiles,
            members,
        };
        assert!(
            db.segment_run(None).unwrap().is_none(),
            "{name}: no run yet"
        );
        let first = db
            .save_segment_run(&run(
                vec![profile("loyal", 2), profile("new", 1)],
                vec![(ids[0], 0), (ids[1], 0), (ids[2], 1)],
            ))
            .unwrap();
        let second = db
            .save_segment_run(&run(
                vec![profile("loyal", 1), profile("at risk", 2)],
                vec![(ids[0], 0), (ids[1], 1), (ids[2], 1)],
            ))
            .unwrap();
        let newest = db.segment_run(None).unwrap().unwrap();
        assert_eq!(newest.id, second, "{name}");
        assert_eq!(newest.profiles[1], profile("at risk", 2));
        assert_eq!(newest.adjusted_rand_min, Some(0.95));
        assert_eq!(db.previous_segment_run(second).unwrap(), Some(first));
        assert_eq!(db.previous_segment_run(first).unwrap(), None);
        let moves = db.segment_moves(first, second).unwrap();
        let moves: Vec<(String, String, usize)> = moves
            .into_iter()
            .map(|m| (m.from, m.to, m.customers))
            .collect();
        assert_eq!(
            moves,
            [
                ("loyal".to_string(), "at risk".to_string(), 1),
                ("new".to_string(), "at risk".to_string(), 1)
            ]
        );
        let history: Vec<String> = db
            .segment_history(ids[1])
            .unwrap()
            .into_iter()
            .map(|h| h.segment)
            .collect();
        assert_eq!(history, ["loyal", "at risk"], "{name}");
    }
}

#[test]
fn customer_intelligence_is_stored_whole_and_pages_by_value() {
    use funnel::domain::intel::{CustomerIntel, NeedLine, OfferLine};
    use funnel::domain::Money;
    use funnel::store::intel::NewIntelRun;
    for (name, mut db, _keep) in
        backends("customer_intelligence_is_stored_whole_and_pages_by_value")
    {
        let ids = oslo_customers(db.as_mut(), "Val", 12);
        let value = |i: usize| CustomerIntel {
            customer_id: ids[i],
            as_of: "2026-11-01".into(),
            segment: Some(
                if i.is_multiple_of(2) {
                    "loyal"
                } else {
                    "at risk"
                }
                .into(),
            ),
            tier: Some(if i < 3 { "A" } else { "C" }.into()),
            p_alive: Some(1.0 - i as f64 / 20.0),
            churn_risk: Some(i as f64 / 20.0),
            expected_purchases: Some(2.0),
            // Two customers share a value: the id breaks the tie.
            predicted_value: Some(Money(100_000 - 1_000 * (i as i64 / 2) * 2)),
            lifetime_value: Some(Money(5_000 * i as i64)),
            need: (i == 0).then(|| NeedLine {
                family: "Platform".into(),
                share: 0.6,
                rule: "last bought Platform".into(),
            }),
            offers: vec![OfferLine {
                product: "Funnel Core (CORE)".into(),
                reason: "popular".into(),
            }],
        };
        // Ten of the twelve valued; the last two have no orders.
        let run = NewIntelRun {
            created_at: "2026-11-01T00:00:00Z".into(),
            as_of: "2026-11-01".into(),
            segments: None,
            notes: vec!["needs: too little history".into()],
            customers: (0..10).map(value).collect(),
        };
        let id = db.save_intel_run(&run).unwrap();
        let last = db.last_intel_run().unwrap().unwrap();
        assert_eq!(
            (last.id, last.customers, last.valued),
            (id, 12, 10),
            "{name}"
        );
        assert_eq!(last.notes, run.notes);
        assert_eq!(db.customer_intel(ids[0]).unwrap(), Some(value(0)), "{name}");
        let empty = db.customer_intel(ids[11]).unwrap().unwrap();
        assert_eq!((empty.predicted_value, empty.offers.len()), (None, 0));
        // By predicted value, highest first, in pages of 4: every row once, the unvalued
        // last; then backwards from the end.
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = db
                .customer_page(
                    &CustomerFilter::default(),
                    CustomerSort::PredictedValue,
                    cursor.as_ref(),
                    PageDirection::Forward,
                    4,
                )
                .unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(Cursor {
                sort_key: last.sort_key.clone(),
                id: last.id,
            });
            seen.extend(page.iter().map(|r| (r.predicted_value.map(|m| m.0), r.id)));
        }
        let mut want: Vec<(Option<i64>, i64)> = (0..12)
            .map(|i| {
                (
                    (i < 10).then(|| 100_000 - 1_000 * (i as i64 / 2) * 2),
                    ids[i],
                )
            })
            .collect();
        want.sort_by(|a, b| {
            b.0.unwrap_or(-1)
                .cmp(&a.0.unwrap_or(-1))
                .then(b.1.cmp(&a.1))
        });
        assert_eq!(seen, want, "{name}");
        let tail = db
            .customer_page(
                &CustomerFilter::default(),
                CustomerSort::PredictedValue,
                None,
                PageDirection::Backward,
                3,
            )
            .unwrap();
        let tail: Vec<i64> = tail.iter().map(|r| r.id).collect();
        assert_eq!(tail, want[9..].iter().map(|w| w.1).collect::<Vec<_>>());
        // Filters on the stored values.
        let count = |f: CustomerFilter| db.count_customers(&f).unwrap();
        let tier_a = CustomerFilter {
            tier: Some("A".into()),
            ..Default::default()
        };
        assert_eq!(count(tier_a), 3, "{name}");
        let risky = CustomerFilter {
            min_churn_pct: Some(25),
            ..Default::default()
        };
        assert_eq!(count(risky), 5, "{name}: churn 0.25 .. 0.45");
        let at_risk = CustomerFilter {
            rfm_segment: Some("at risk".into()),
            ..Default::default()
        };
        assert_eq!(count(at_risk), 5, "{name}");
        let tiers = db.intel_tiers().unwrap();
        assert_eq!(
            tiers
                .iter()
                .map(|t| (t.0.as_str(), t.1))
                .collect::<Vec<_>>(),
            [("A", 3), ("C", 7)]
        );
        // A second run replaces the values whole: a customer it does not value is cleared.
        let second = NewIntelRun {
            customers: vec![value(1)],
            ..run
        };
        db.save_intel_run(&second).unwrap();
        assert_eq!(
            db.customer_intel(ids[0]).unwrap().unwrap().tier,
            None,
            "{name}"
        );
        assert_eq!(db.customer_intel(ids[1]).unwrap(), Some(value(1)));
    }
}

/// A rep with one owned customer (a contact interval of 7 days) and one without an owner;
/// their ids.
fn rep_with_customers(db: &mut dyn Backend) -> (i64, i64) {
    let actor = common::actor();
    let rep = RepRecord {
        external_id: None,
        name: "Ada Lind".into(),
        email: None,
        team: None,
        capacity: Some(1.0),
        hired_on: None,
        active: Some(true),
    };
    db.save_rep(None, None, &rep, &actor).unwrap();
    let mut owned = customer("Fjord AS", "Oslo");
    owned.owner = Some("Ada Lind".into());
    owned.contact_every_days = Some(7);
    let owned = db
        .save_customer(None, None, &owned, common::today(), &actor)
        .unwrap();
    let orphan = db
        .save_customer(
            None,
            None,
            &customer("Nobody's AB", "Bergen"),
            common::today(),
            &actor,
        )
        .unwrap();
    (owned, orphan)
}

fn activity(kind: ActivityKind, done_on: Option<chrono::NaiveDate>) -> ActivityRecord {
    ActivityRecord {
        external_id: None,
        customer: CustomerRef::Name(String::new()),
        deal: None,
        rep: Some("Ada Lind".into()),
        kind,
        subject: Some("check in".into()),
        due_on: None,
        done_on,
        outcome: None,
    }
}

#[test]
fn the_agenda_and_saved_plans_round_trip() {
    for (name, mut db, _keep) in backends("the_agenda_and_saved_plans_round_trip") {
        let actor = common::actor();
        let today = common::today();
        let (owned, _) = rep_with_customers(&mut *db);
        let day = |d: i64| today + chrono::Duration::days(d);
        // A call today with a follow-up in two days.
        db.log_activity(
            owned,
            &activity(ActivityKind::Call, Some(today)),
            Some(day(2)),
            &actor,
        )
        .unwrap();
        let scope = AgendaScope::Rep("Ada Lind".into());
        let open = db.open_activities(&scope, &day(7).to_string()).unwrap();
        assert_eq!(open.len(), 1, "{name}");
        assert_eq!(open[0].due_on, day(2).to_string());
        assert_eq!(
            db.busiest_rep(&day(7).to_string()).unwrap().as_deref(),
            Some("Ada Lind")
        );
        assert_eq!(
            db.busiest_rep(&day(1).to_string()).unwrap(),
            None,
            "nothing due yet"
        );
        let id = open[0].id;
        db.change_activity(id, &AgendaChange::Snooze { to: day(5) }, &actor)
            .unwrap();
        assert_eq!(
            db.open_activities(&scope, &day(7).to_string()).unwrap()[0].due_on,
            day(5).to_string()
        );
        let done = AgendaChange::Complete {
            on: day(5),
            outcome: Some("ordered".into()),
        };
        db.change_activity(id, &done, &actor).unwrap();
        assert!(db
            .open_activities(&scope, &day(7).to_string())
            .unwrap()
            .is_empty());
        assert!(
            db.change_activity(id, &done, &actor).is_err(),
            "{name}: done twice"
        );
        // What the priority reads: the same for one rep and for every rep at once.
        let (capacity, one) = db.plan_customers("Ada Lind", &today.to_string()).unwrap();
        assert_eq!(capacity, 1.0);
        assert_eq!(one.len(), 1, "her customer, not the unowned one");
        let all = db.plan_customers_all(&today.to_string()).unwrap();
        let ada = all.iter().find(|r| r.rep == "Ada Lind").unwrap();
        assert_eq!(ada.customers, one, "{name}");
        // A plan saved, then read back with the contacts logged in its days.
        let visits = [PlanVisit {
            day: day(1),
            customer_id: owned,
            score: 0.5,
            probability: 0.25,
            reasons: "contact overdue".into(),
        }];
        let plan = db
            .save_plan("Ada Lind", &today.to_string(), "greedy", &visits, &actor)
            .unwrap();
        db.log_activity(
            owned,
            &activity(ActivityKind::Visit, Some(day(1))),
            None,
            &actor,
        )
        .unwrap();
        let record = db.plan_record(None, Some("Ada Lind")).unwrap();
        assert_eq!(record.plan.id, plan);
        assert_eq!(record.visits.len(), 1);
        assert!(record.logged.iter().any(|l| l.customer_id == owned
            && l.done_on == day(1).to_string()
            && l.kind == "visit"));
        assert!(db.plan_record(Some(plan + 100), None).is_err());
        assert!(db
            .save_plan("Ada Lind", "2026-11-22", "x", &[], &actor)
            .is_err());
    }
}

#[test]
fn rule_runs_act_once_per_key_and_alerts_are_dismissed() {
    for (name, mut db, _keep) in backends("rule_runs_act_once_per_key_and_alerts_are_dismissed") {
        let actor = common::actor();
        let (_, orphan) = rep_with_customers(&mut *db);
        assert_eq!(
            db.customers_without_owner().unwrap(),
            vec![(orphan, "Nobody's AB".to_string())],
            "{name}"
        );
        let hit = |key: &str| Hit {
            key: key.into(),
            message: format!("about {key}"),
            customer_id: Some(orphan),
            deal_id: None,
        };
        let run = |rule: &str| RuleRun {
            rule: rule.into(),
            ran_at: actor.at.clone(),
            as_of: "2026-11-22".into(),
            dry_run: false,
            matched: 1,
            acted: 1,
            summary: "1 found".into(),
        };
        let alert = RuleAction {
            rule: "watch".into(),
            then: Then::Alert,
            hit: hit("k1"),
            due_on: None,
            to: None,
        };
        let reassign = RuleAction {
            rule: "orphans".into(),
            then: Then::Reassign,
            hit: hit("k2"),
            due_on: None,
            to: Some("Ada Lind".into()),
        };
        assert_eq!(
            db.save_rule_run(&run("watch"), std::slice::from_ref(&alert), &[], &actor)
                .unwrap(),
            1
        );
        assert_eq!(
            db.save_rule_run(&run("orphans"), &[reassign], &[], &actor)
                .unwrap(),
            1
        );
        assert!(
            db.customers_without_owner().unwrap().is_empty(),
            "{name}: reassigned"
        );
        // Again with the same key: nothing new.
        assert_eq!(
            db.save_rule_run(&run("watch"), &[alert], &[], &actor)
                .unwrap(),
            0
        );
        assert!(db.rule_keys("watch").unwrap().contains("k1"));
        let last = db.last_rule_runs().unwrap();
        assert_eq!(last.len(), 2, "one line per rule, the latest");
        assert_eq!(last.iter().find(|r| r.rule == "watch").unwrap().acted, 0);
        let (n, alerts) = db.open_alerts(10).unwrap();
        assert_eq!((n, alerts.len()), (1, 1));
        assert_eq!(alerts[0].message, "about k1");
        db.dismiss_alert(alerts[0].id, &actor.at).unwrap();
        assert_eq!(db.open_alerts(10).unwrap().0, 0);
        assert!(
            db.dismiss_alert(alerts[0].id, &actor.at).is_err(),
            "{name}: dismissed twice"
        );
        assert!(db.rule_marks("slips").unwrap().is_empty());
    }
}

/// The pipeline as it stood on a past morning, and what the deals open then went on to
/// do: what `funnel pipeline --backtest` and the simulation's learned win rates read.
#[test]
fn the_pipeline_of_a_past_day_and_what_its_deals_did() {
    for (name, mut db, _keep) in backends("the_pipeline_of_a_past_day_and_what_its_deals_did") {
        let actor = common::actor();
        let (open, stage_name) = open_stage_and_a_buyer(&mut *db);
        let day = |d: i64| common::today() + chrono::Duration::days(d);
        let iso = |d: i64| day(d).format("%Y-%m-%d").to_string();
        let fields = DealFields {
            name: "Slipping".into(),
            customer: Some("Buyer".into()),
            owner: None,
            amount: funnel::domain::Money(500_000),
            expected_close: Some(day(20)),
            stage: Some(stage_name),
            product: None,
        };
        let deal = db.save_deal(None, None, &fields, day(0), &actor).unwrap();
        db.move_deal(deal, &Move::Won, day(30), &actor).unwrap();
        // Created on day 0: not open on day 0's morning, open from day 1 to day 30's.
        assert!(db.pipeline_as_of(&iso(0)).unwrap().is_empty(), "{name}");
        assert!(db.pipeline_as_of(&iso(31)).unwrap().is_empty(), "{name}");
        let then = db.pipeline_as_of(&iso(5)).unwrap();
        assert_eq!(then.len(), 1, "{name}");
        assert_eq!(then[0].cents, 500_000, "{name}");
        assert!(then[0].won, "{name}");
        assert_eq!(
            then[0].closed_on.as_deref(),
            Some(iso(30).as_str()),
            "{name}"
        );
        assert_eq!(
            then[0].stage_then,
            Some(open),
            "{name}: the stage it was in then"
        );
        // Snapshots on days 5 and 10: two deal-snapshots 15 and 10 days before the
        // expected close, both won by day 40, neither by day 30 (the close is not before it).
        let days = [iso(5), iso(10)];
        let groups = db.snapshot_outcomes(&days, &iso(40)).unwrap();
        let mut seen: Vec<(Option<i64>, Option<i64>, i64, i64)> = groups
            .iter()
            .map(|g| (g.stage, g.days_to_close, g.won, g.deals))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![(Some(open), Some(10), 1, 1), (Some(open), Some(15), 1, 1)],
            "{name}"
        );
        // Its size class, computed by the store as the domain computes it: 500,000 cents
        // has 6 digits and leads with 50, class 13.
        for g in &groups {
            assert_eq!(
                g.size,
                funnel::domain::deals::size_bucket(500_000),
                "{name}"
            );
            assert_eq!(g.size, Some(13), "{name}");
        }
        let by_30: i64 = db
            .snapshot_outcomes(&days, &iso(30))
            .unwrap()
            .iter()
            .map(|g| g.won)
            .sum();
        assert_eq!(by_30, 0, "{name}");
        // Its slip, 10 days late, under the stage it was in; none before day 30.
        let slips = db.close_slips_between(&iso(0), &iso(31), 100).unwrap();
        assert_eq!(
            slips.get(&open).map(Vec::as_slice),
            Some(&[10.0][..]),
            "{name}"
        );
        assert!(db
            .close_slips_between(&iso(0), &iso(30), 100)
            .unwrap()
            .is_empty());
    }
}
