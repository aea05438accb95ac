//! Deleting customers, contacts, deals and activities, and merging customers: what goes
//! with a row, the ledger guard, the audit trail, undo, and the database left consistent.

mod common;
use funnel::app::{self, Entity};
use funnel::store::Store;

fn demo(dir: &std::path::Path) -> Store {
    let mut store = Store::open(&dir.join("r.db")).unwrap();
    let opts = app::demo::DemoOptions {
        customers: 60,
        deals: 300,
        ..app::demo::DemoOptions::new(common::today())
    };
    app::demo::generate(&mut store, &opts, &common::actor(), &mut |_, _| {}).unwrap();
    store
}

fn count(store: &Store, sql: &str) -> i64 {
    store.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Row counts of every user table, to compare before and after.
fn counts(store: &Store) -> Vec<i64> {
    [
        "customers",
        "contacts",
        "deals",
        "stage_changes",
        "activities",
        "orders",
    ]
    .iter()
    .map(|t| count(store, &format!("SELECT count(*) FROM {t}")))
    .collect()
}

/// A customer with orders and one without (both with contacts and deals).
fn customers(store: &Store) -> (i64, i64) {
    let with = count(
        store,
        "SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
           AND EXISTS (SELECT 1 FROM contacts k WHERE k.customer_id = c.id) ORDER BY c.id LIMIT 1",
    );
    let without = count(
        store,
        "SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
           AND EXISTS (SELECT 1 FROM deals d WHERE d.customer_id = c.id) ORDER BY c.id LIMIT 1",
    );
    (with, without)
}

fn healthy(store: &Store) {
    let h = store.health().unwrap();
    assert!(h.healthy(), "{h:?}");
}

#[test]
fn a_customer_goes_with_what_belongs_to_it_and_comes_back_with_undo() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(dir.path());
    let (_, plain) = customers(&store);
    let before = counts(&store);
    let deals = count(
        &store,
        &format!("SELECT count(*) FROM deals WHERE customer_id = {plain}"),
    );
    let plan = store.removal_plan(Entity::Customer, plain).unwrap();
    assert!(plan.ledger.is_none());
    assert!(plan.with.contains(&("deals", deals)), "{:?}", plan.with);
    assert!(
        plan.describe().starts_with("customer "),
        "{}",
        plan.describe()
    );
    assert_eq!(counts(&store), before, "a plan writes nothing");

    let mark = app::audit_high_water(&store).unwrap();
    store
        .remove(Entity::Customer, plain, false, &common::actor())
        .unwrap();
    let after = counts(&store);
    assert_eq!(after[0], before[0] - 1);
    assert_eq!(after[2], before[2] - deals);
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM deals WHERE customer_id = {plain}")
        ),
        0
    );
    // Every row that went is in the trail with its before image.
    let deleted = count(
        &store,
        &format!("SELECT count(*) FROM audit_log WHERE id > {mark} AND action = 'delete' AND before_json IS NOT NULL"),
    );
    let gone: i64 = before.iter().sum::<i64>() - after.iter().sum::<i64>();
    assert!(deleted >= gone, "{deleted} audited for {gone} rows");
    healthy(&store);

    let to = app::audit_high_water(&store).unwrap();
    app::undo(&mut store, mark, to).unwrap();
    assert_eq!(counts(&store), before, "undo puts every row back");
    healthy(&store);
}

#[test]
fn the_ledger_guards_a_customer_and_a_won_deal_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(dir.path());
    let (paying, _) = customers(&store);
    let revenue = count(&store, "SELECT sum(amount_cents) FROM orders");
    let theirs = count(
        &store,
        &format!("SELECT sum(amount_cents) FROM orders WHERE customer_id = {paying}"),
    );
    let plan = store.removal_plan(Entity::Customer, paying).unwrap();
    assert_eq!(plan.ledger.unwrap().1.cents(), theirs);
    let err = store
        .remove(Entity::Customer, paying, false, &common::actor())
        .unwrap_err()
        .to_string();
    assert!(err.contains("revenue ledger"), "{err}");
    assert_eq!(
        count(&store, "SELECT sum(amount_cents) FROM orders"),
        revenue,
        "refused: nothing written"
    );
    // A won deal holds its order: refused too.
    let won = count(
        &store,
        "SELECT d.id FROM deals d JOIN orders o ON o.deal_id = d.id LIMIT 1",
    );
    assert!(store
        .remove(Entity::Deal, won, false, &common::actor())
        .is_err());
    // Forced, the revenue leaves the ledger with the rows.
    store
        .remove(Entity::Customer, paying, true, &common::actor())
        .unwrap();
    assert_eq!(
        count(&store, "SELECT sum(amount_cents) FROM orders"),
        revenue - theirs
    );
    healthy(&store);
}

#[test]
fn contacts_and_activities_are_deleted_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(dir.path());
    let before = counts(&store);
    let contact = count(&store, "SELECT min(id) FROM contacts");
    let activity = count(&store, "SELECT min(id) FROM activities");
    let p = store.removal_plan(Entity::Contact, contact).unwrap();
    assert!(p.with.is_empty() && p.ledger.is_none());
    assert!(p.label.starts_with("contact ") && p.label.contains(" of "));
    store
        .remove(Entity::Contact, contact, false, &common::actor())
        .unwrap();
    store
        .remove(Entity::Activity, activity, false, &common::actor())
        .unwrap();
    let after = counts(&store);
    assert_eq!(after[1], before[1] - 1);
    assert_eq!(after[4], before[4] - 1);
    assert_eq!(after[0], before[0]);
    // Something else is not deleted this way, and a missing row is named.
    assert!(store
        .removal_plan(Entity::Team, 1)
        .unwrap_err()
        .to_string()
        .contains("cannot be deleted"));
    let err = store
        .remove(Entity::Contact, contact, false, &common::actor())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("no contact {contact}")), "{err}");
}

#[test]
fn merging_moves_everything_keeps_the_revenue_and_one_primary_contact() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(dir.path());
    let (keep, gone) = (
        count(
            &store,
            "SELECT min(customer_id) FROM contacts WHERE is_primary = 1",
        ),
        count(
            &store,
            "SELECT max(customer_id) FROM contacts WHERE is_primary = 1",
        ),
    );
    // The kept customer lacks a phone and is younger: the merge fills one and keeps the
    // earlier date.
    store
        .connection()
        .execute(
            "UPDATE customers SET phone = NULL, created_on = '2026-01-01' WHERE id = ?1",
            [keep],
        )
        .unwrap();
    store
        .connection()
        .execute(
            "UPDATE customers SET phone = '+1 555 0100', created_on = '2020-05-05' WHERE id = ?1",
            [gone],
        )
        .unwrap();
    let revenue = count(&store, "SELECT sum(amount_cents) FROM orders");
    let moving: i64 = count(
        &store,
        &format!("SELECT (SELECT count(*) FROM deals WHERE customer_id = {gone}) + (SELECT count(*) FROM deals WHERE customer_id = {keep})"),
    );
    let m = store.merge_customers(keep, gone, &common::actor()).unwrap();
    assert!(m.filled.contains(&"phone"), "{m:?}");
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM customers WHERE id = {gone}")
        ),
        0
    );
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM deals WHERE customer_id = {keep}")
        ),
        moving
    );
    assert_eq!(
        count(&store, "SELECT sum(amount_cents) FROM orders"),
        revenue,
        "every order kept"
    );
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM contacts WHERE customer_id = {keep} AND is_primary = 1")
        ),
        1
    );
    let (phone, since): (String, String) = store
        .connection()
        .query_row(
            "SELECT phone, created_on FROM customers WHERE id = ?1",
            [keep],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (phone.as_str(), since.as_str()),
        ("+1 555 0100", "2020-05-05")
    );
    healthy(&store);
    let notes = count(
        &store,
        "SELECT count(*) FROM audit_log WHERE note LIKE 'merged into %'",
    );
    assert!(notes >= moving, "{notes}");
    assert!(store.merge_customers(keep, keep, &common::actor()).is_err());
}

#[test]
fn rows_are_found_by_external_id_name_or_row_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(dir.path());
    let (id, name, ext): (i64, String, String) = store
        .connection()
        .query_row(
            "SELECT id, name, external_id FROM customers ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(app::find_row(&store, Entity::Customer, &ext).unwrap(), id);
    assert_eq!(
        app::find_row(&store, Entity::Customer, &name.to_uppercase()).unwrap(),
        id
    );
    assert_eq!(
        app::find_row(&store, Entity::Customer, &id.to_string()).unwrap(),
        id
    );
    let err = app::find_row(&store, Entity::Customer, "Nobody Inc")
        .unwrap_err()
        .to_string();
    assert!(err.contains("'Nobody Inc'"), "{err}");
}
