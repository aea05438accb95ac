//! The store on PostgreSQL against a real server, through the real binary: the same data
//! gives the same figures on both backends, and writers in several processes at once
//! never lose an update. The server is the one `.ci/run` starts (FUNNEL_TEST_PG_URL and
//! FUNNEL_TEST_PG_PASSWORD); without one each test says SKIPPED on stderr and passes.

mod common;
use common::pg::{env_of, server, Scratch, Server};
use funnel::domain::deals::Move;
use funnel::store::backend::Deals;
use funnel::store::postgres::{PgStore, Target};

/// The real binary with the test server's password and the clock fixed.
fn funnel(s: &Server, db: &str) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_funnel"));
    c.env_remove("FUNNEL_DB")
        .env("PGPASSWORD", &s.password)
        .env("FUNNEL_TODAY", "2026-11-22")
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("funnel-test-data"),
        )
        .arg("--db")
        .arg(db);
    c
}

/// stdout of a command that must succeed.
fn run(s: &Server, db: &str, args: &[&str]) -> String {
    let out = funnel(s, db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{db} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn store(s: &Server, url: &str) -> PgStore {
    let t = Target::parse(url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    PgStore::open(t).unwrap()
}

#[test]
fn every_figure_is_the_same_on_both_backends() {
    let Some(s) = server("postgres_backend::same_figures") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("same.db");
    let file = file.to_str().unwrap();
    let pg = Scratch::new(&s, "same_figures");
    let demo = [
        "demo",
        "--customers",
        "300",
        "--deals",
        "3000",
        "--months",
        "24",
    ];
    for db in [file, pg.url.as_str()] {
        run(&s, db, &demo);
        run(&s, db, &["recompute"]);
        // Writes through the forms' paths: a target set and revised.
        run(
            &s,
            db,
            &[
                "targets",
                "set",
                "--company",
                "--period",
                "2027-01",
                "250000",
                "--reason",
                "plan",
            ],
        );
    }
    let rep = run(&s, file, &["--format", "csv", "export", "reps"])
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    let mut commands: Vec<Vec<String>> = [
        "pipeline",
        "targets list",
        "score",
        "forecast",
        "forecast --by team",
        "forecast --by rep --period quarter",
        "clv",
        "segments",
        "recommend --evaluate --calibration-end 2026-06-30",
        "needs",
        "needs --evaluate",
        "needs --rules",
        "agenda --all",
        "rules list",
    ]
    .iter()
    .map(|c| c.split(' ').map(String::from).collect())
    .collect();
    commands.push(vec!["plan".into(), "--rep".into(), rep.clone()]);
    for line in run(&s, file, &["report", "--list"]).lines() {
        let name = line.split_whitespace().next().unwrap().to_string();
        commands.push(vec!["report".into(), name]);
    }
    for kind in funnel::app::EXPORT_KINDS {
        // Both logs hold moments of their own runs: compared apart below.
        if !matches!(*kind, "audit_log" | "import_batches" | "target_revisions") {
            commands.push(vec!["export".into(), kind.to_string()]);
        }
    }
    for format in ["csv", "json"] {
        for c in &commands {
            let mut args = vec!["--format", format];
            args.extend(c.iter().map(String::as_str));
            let a = run(&s, file, &args);
            let b = run(&s, &pg.url, &args);
            assert_eq!(a, b, "{args:?} differs between SQLite and PostgreSQL");
        }
    }
    // The revision's values, who and why (not when) on both.
    let revisions = |db: &str| -> Vec<String> {
        run(&s, db, &["--format", "csv", "export", "target_revisions"])
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                format!("{} {} {} {} {}", f[0], f[1], f[2], f[3], f[6])
            })
            .collect()
    };
    assert_eq!(revisions(file), revisions(&pg.url));
}

#[test]
fn concurrent_writers_in_several_processes_never_lose_an_update() {
    let Some(s) = server("postgres_backend::concurrent_writers") else {
        return;
    };
    let pg = Scratch::new(&s, "concurrent");
    run(
        &s,
        &pg.url,
        &[
            "demo",
            "--customers",
            "100",
            "--deals",
            "600",
            "--months",
            "12",
        ],
    );
    let db = store(&s, &pg.url);
    let open: Vec<i64> = db
        .stages()
        .unwrap()
        .into_iter()
        .filter(|st| st.kind == funnel::domain::StageKind::Open)
        .map(|st| st.id)
        .collect();
    let hot: Vec<i64> = pg
        .client()
        .query(
            "SELECT d.id FROM deals d JOIN stages s ON s.id = d.stage_id
             WHERE s.kind = 'open' ORDER BY d.id LIMIT 4",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(hot.len(), 4);
    let revisions_before: i64 = pg
        .client()
        .query_one(
            "SELECT count(*) FROM target_revisions WHERE target_id = 1",
            &[],
        )
        .unwrap()
        .get(0);
    // Six processes revise the same target eight times each (distinct values), while four
    // sessions move the same four deals between the open stages.
    const WRITERS: usize = 6;
    const EACH: usize = 8;
    let mut procs = Vec::new();
    for w in 0..WRITERS {
        let url = pg.url.clone();
        let password = s.password.clone();
        procs.push(std::thread::spawn(move || {
            let s = Server {
                url: url.clone(),
                password,
            };
            for i in 0..EACH {
                let value = format!("{}", 10_000 + w * 100 + i);
                run(
                    &s,
                    &url,
                    &["targets", "revise", "1", &value, "--reason", "load test"],
                );
            }
        }));
    }
    let mut movers = Vec::new();
    for m in 0..4 {
        let url = pg.url.clone();
        let password = s.password.clone();
        let (hot, open) = (hot.clone(), open.clone());
        movers.push(std::thread::spawn(move || {
            let s = Server {
                url: url.clone(),
                password,
            };
            let mut db = store(&s, &url);
            let actor = funnel::store::audit::Actor::current();
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
            for i in 0..10 {
                let deal = hot[(m + i) % hot.len()];
                let to = open[(m + 2 * i) % open.len()];
                db.move_deal(deal, &Move::Stage(to), today, &actor).unwrap();
            }
        }));
    }
    for p in procs {
        p.join().unwrap();
    }
    for m in movers {
        m.join().unwrap();
    }
    let mut c = pg.client();
    // Every revision kept, each starting from the value the one before left: no writer
    // read a value another had already replaced.
    let chain: Vec<(Option<i64>, i64)> = c
        .query(
            "SELECT old_value, new_value FROM target_revisions WHERE target_id = 1 ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        chain.len() as i64,
        revisions_before + (WRITERS * EACH) as i64
    );
    for w in chain.windows(2) {
        assert_eq!(
            w[1].0,
            Some(w[0].1),
            "a revision started from a stale value"
        );
    }
    let value: i64 = c
        .query_one("SELECT value FROM targets WHERE id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(value, chain.last().unwrap().1);
    // Each hot deal's stage history is one unbroken chain ending where the deal is.
    for deal in hot {
        let changes: Vec<(Option<i64>, i64)> = c
            .query(
                "SELECT from_stage_id, to_stage_id FROM stage_changes WHERE deal_id = $1
                 ORDER BY id",
                &[&deal],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for w in changes.windows(2) {
            assert_eq!(
                w[1].0,
                Some(w[0].1),
                "deal {deal}: a move from a stale stage"
            );
        }
        let now: i64 = c
            .query_one("SELECT stage_id FROM deals WHERE id = $1", &[&deal])
            .unwrap()
            .get(0);
        assert_eq!(now, changes.last().unwrap().1, "deal {deal}");
    }
}

#[test]
fn an_import_batch_brought_along_is_reverted_on_the_server_as_on_the_file() {
    let Some(s) = server("postgres_backend::revert") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.db");
    let file = file.to_str().unwrap();
    run(
        &s,
        file,
        &[
            "demo",
            "--customers",
            "60",
            "--deals",
            "300",
            "--months",
            "12",
        ],
    );
    let csv = dir.path().join("c.csv");
    std::fs::write(
        &csv,
        "external_id,name,city\nX-1,Acme New,Oslo\nC-000001,Renamed Customer,Bergen\n",
    )
    .unwrap();
    run(&s, file, &["import", "customers", csv.to_str().unwrap()]);
    let pg = Scratch::new(&s, "revert");
    run(&s, file, &["migrate", "--from", file, "--to", &pg.url]);
    for db in [file, pg.url.as_str()] {
        let said = run(&s, db, &["import", "revert", "1"]);
        assert!(said.contains("1 row removed, 1 row restored"), "{said}");
    }
    for kind in ["customers", "contacts", "deals"] {
        assert_eq!(
            run(&s, file, &["--format", "csv", "export", kind]),
            run(&s, &pg.url, &["--format", "csv", "export", kind]),
            "{kind}"
        );
    }
    // The same audit entries, but for when they were written.
    let trail = |db: &str| -> Vec<String> {
        run(&s, db, &["--format", "csv", "export", "audit_log"])
            .lines()
            .map(|l| {
                let mut f: Vec<&str> = l.splitn(3, ',').collect();
                f.remove(1);
                f.join(",")
            })
            .collect()
    };
    assert_eq!(trail(file), trail(&pg.url));
}

/// A command's exit code, stdout and stderr.
fn outcome(s: &Server, db: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = funnel(s, db);
    if args.first() == Some(&"import") {
        // Imports build their indexes at the end as a large one does (a different path
        // through the importer, which changes SQLite's temp_store).
        c.env("FUNNEL_IMPORT_INDEXES", "deferred");
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `text` (a CSV export) with the fields `drop` (by header name) left out of every line.
fn without(text: &str, drop: &[&str]) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut keep: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        if i == 0 {
            keep = (0..rec.len())
                .filter(|&j| !drop.contains(&&rec[j]))
                .collect();
        }
        out.push(keep.iter().map(|&j| rec[j].to_string()).collect());
    }
    out
}

#[test]
fn every_import_writes_the_same_rows_on_both_backends() {
    let Some(s) = server("postgres_backend::imports") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let src = path("src.db");
    let demo = [
        "demo",
        "--customers",
        "60",
        "--deals",
        "400",
        "--months",
        "12",
    ];
    run(&s, &src, &demo);
    let file = path("dst.db");
    let pg = Scratch::new(&s, "imports");
    let both = |args: &[&str]| -> (Option<i32>, String, String) {
        let a = outcome(&s, &file, args);
        let b = outcome(&s, &pg.url, args);
        assert_eq!(a, b, "{args:?} differs between SQLite and PostgreSQL");
        a
    };
    // Every kind from the demo into empty databases (references created as they come),
    // then again: the second time nothing is new.
    let kinds = common::IMPORT_KINDS;
    for kind in kinds {
        let csv = path(&format!("{kind}.csv"));
        run(&s, &src, &["--format", "csv", "export", kind, "-o", &csv]);
        let (code, said, _) = both(&["import", kind, &csv, "--create-missing"]);
        assert_eq!(code, Some(0), "{kind}: {said}");
    }
    for kind in kinds {
        let (_, said, _) = both(&["import", kind, &path(&format!("{kind}.csv"))]);
        assert!(said.contains(" 0 inserted"), "{kind}: {said}");
    }
    // Deals moved on: some won (history, an order in the ledger, the customer active),
    // some repriced.
    let deals = std::fs::read_to_string(path("deals.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(deals.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut w = csv::Writer::from_path(path("deals-moved.csv")).unwrap();
    w.write_record(&header).unwrap();
    let (mut won, mut repriced) = (0, 0);
    for (i, rec) in rdr.records().enumerate() {
        let mut f: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        if f[col("closed_on")].is_empty() && i % 3 == 0 {
            f[col("stage")] = "Closed Won".into();
            f[col("closed_on")] = "2026-11-22".into();
            won += 1;
        } else if i % 7 == 0 {
            let amount: f64 = f[col("amount")].parse().unwrap();
            f[col("amount")] = format!("{:.2}", amount + 125.5);
            repriced += 1;
        }
        w.write_record(&f).unwrap();
    }
    w.flush().unwrap();
    assert!(won > 5 && repriced > 5, "{won} won, {repriced} repriced");
    let (code, said, _) = both(&["import", "deals", &path("deals-moved.csv")]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!(" {} updated", won + repriced)),
        "{said}"
    );
    // A vendor export with bad rows: refused whole, then with --skip-invalid (creating
    // the customers and stages it names); a dry run writes nothing.
    let hubspot = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hubspot_deals.csv");
    let (code, _, said) = both(&["import", "deals", hubspot, "--create-missing"]);
    assert_eq!(code, Some(1), "{said}");
    both(&[
        "import",
        "deals",
        hubspot,
        "--create-missing",
        "--skip-invalid",
        "--dry-run",
    ]);
    let (code, said, _) = both(&[
        "import",
        "deals",
        hubspot,
        "--create-missing",
        "--skip-invalid",
    ]);
    assert_eq!(code, Some(0), "{said}");
    // Rows without external ids (found again by their content), and orders naming no
    // deal: the server then works on a copy of every deal and order.
    let loose = path("loose.csv");
    std::fs::write(
        &loose,
        "name,customer,amount,stage,created_on,closed_on\n\
         Walk-in,Corner Shop,500,Closed Won,2026-10-01,2026-11-01\n\
         Phone order,Corner Shop,250,Closed Lost,2026-10-02,2026-11-02\n",
    )
    .unwrap();
    let orders = path("loose-orders.csv");
    std::fs::write(
        &orders,
        "customer,ordered_on,amount\nCorner Shop,2026-11-05,99.50\nCorner Shop,2026-11-06,12\n",
    )
    .unwrap();
    for round in 0..2 {
        for (kind, csv) in [("deals", &loose), ("orders", &orders)] {
            let (code, said, _) = both(&["import", kind, csv, "--create-missing"]);
            assert_eq!(code, Some(0), "{said}");
            assert_eq!(said.contains(" 2 inserted"), round == 0, "{said}");
        }
    }
    // Customers renamed and added, then that batch reverted on both.
    let customers = path("customers-more.csv");
    std::fs::write(
        &customers,
        "external_id,name,city\nC-000001,Renamed Customer,Bergen\nX-1,Acme New,Oslo\n",
    )
    .unwrap();
    let (_, said, _) = both(&["import", "customers", &customers]);
    let batch = said
        .split("import revert ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap()
        .to_string();
    both(&["import", "revert", &batch]);
    // The same rows everywhere, and the same audit trail and batches but for the moments
    // each run wrote them.
    for kind in funnel::app::EXPORT_KINDS {
        let args = ["--format", "csv", "export", kind];
        let (a, b) = (run(&s, &file, &args), run(&s, &pg.url, &args));
        let moments = ["at", "created_at", "changed_at", "reverted_at"];
        assert_eq!(without(&a, &moments), without(&b, &moments), "{kind}");
    }
    for args in [
        ["--format", "csv", "pipeline"],
        ["--format", "csv", "targets list"],
    ] {
        let args: Vec<&str> = args.iter().flat_map(|a| a.split(' ')).collect();
        assert_eq!(run(&s, &file, &args), run(&s, &pg.url, &args), "{args:?}");
    }
    // The server's batch counter ahead of its batches (a sequence never goes back, and a
    // failed import may have moved it): the next batch takes the counter's next id.
    let next: i64 = pg
        .client()
        .query_one(
            "SELECT setval(pg_get_serial_sequence('import_batches', 'id'), max(id) + 3) + 1 FROM import_batches",
            &[],
        )
        .unwrap()
        .get(0);
    let said = run(&s, &pg.url, &["import", "customers", &customers]);
    assert!(said.contains(&format!("batch {next} ")), "{said}");
    run(&s, &pg.url, &["doctor"]);
}

/// The TUI on a backend, driven by keys as `tests/tui.rs` drives it.
struct Screens {
    store: Box<dyn funnel::store::backend::Backend>,
    cache: funnel::tui::worker::Cache,
    app: funnel::tui::state::App,
}

impl Screens {
    fn open(mut store: Box<dyn funnel::store::backend::Backend>) -> Screens {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let opts = funnel::app::demo::DemoOptions {
            customers: 200,
            deals: 1200,
            ..funnel::app::demo::DemoOptions::new(today)
        };
        let actor = funnel::store::audit::Actor::current();
        funnel::app::demo::generate(&mut *store, &opts, &actor, &mut |_, _| {}).unwrap();
        let app = funnel::tui::state::App::new(
            funnel::tui::keymap::Keymap::defaults(),
            funnel::tui::theme::Theme::default_dark(),
            today,
            "crm".into(),
            None,
        );
        let mut s = Screens {
            store,
            cache: funnel::tui::worker::Cache::default(),
            app,
        };
        let empty = funnel::app::is_empty(&*s.store).unwrap();
        let out = s.app.on_reply(funnel::tui::worker::Reply::Opened { empty });
        s.run(out);
        s
    }

    fn run(&mut self, mut requests: Vec<funnel::tui::worker::Request>) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        while !requests.is_empty() {
            let mut replies = Vec::new();
            for r in requests.drain(..) {
                funnel::tui::worker::handle(
                    &mut *self.store,
                    &mut self.cache,
                    r,
                    today,
                    &mut |reply| replies.push(reply),
                );
            }
            for reply in replies {
                requests.extend(self.app.on_reply(reply));
            }
        }
    }

    fn keys(&mut self, text: &str) {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        for k in text.split_whitespace() {
            let events: Vec<KeyEvent> = match k {
                "enter" => vec![KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)],
                "esc" => vec![KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)],
                "tab" => vec![KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)],
                "ctrl-s" => vec![KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)],
                "ctrl-r" => vec![KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)],
                s => s
                    .chars()
                    .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
                    .collect(),
            };
            for e in events {
                let r = self.app.handle_key(e);
                self.run(r);
            }
        }
    }

    fn screen(&self) -> String {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        t.draw(|f| funnel::tui::view::render(&self.app, f)).unwrap();
        t.backend().to_string()
    }
}

#[test]
fn the_tui_shows_the_same_screens_on_both_backends() {
    let Some(s) = server("postgres_backend::tui") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pg = Scratch::new(&s, "tui");
    let mut file = Screens::open(Box::new(
        funnel::store::Store::open(&dir.path().join("tui.db")).unwrap(),
    ));
    let mut server = Screens::open(Box::new(store(&s, &pg.url)));
    // Every screen, a drill-down, the explanation of a deal, and a saved target proposal
    // (a write through the forms' path).
    for (keys, name) in [
        ("", "dashboard"),
        ("enter j j", "customers"),
        ("esc enter", "detail"),
        ("esc esc esc 2 enter", "pipeline"),
        ("x", "explain"),
        ("esc v", "pipeline list"),
        ("esc 3 enter", "targets"),
        ("esc 4 enter j", "forecast"),
        ("esc 5 enter", "reports"),
        ("esc 3 enter P ctrl-s", "proposal saved"),
        ("esc esc esc 8", "segments"),
        ("esc 9", "agenda"),
        ("tab", "agenda plan"),
    ] {
        file.keys(keys);
        server.keys(keys);
        assert_eq!(file.screen(), server.screen(), "{name}");
        if std::env::var_os("FUNNEL_SHOW_SCREENS").is_some() {
            println!("{name}:\n{}", server.screen());
        }
    }
    // Real screens, not two equal error messages.
    assert!(server.app.dashboard.is_some());
    assert_eq!(server.app.customers.total, Some(200));

    // Someone else, in another session, renames the first customer on the list; the
    // TUI's reload (ctrl-r) shows it.
    server.keys("esc esc esc esc");
    let first = server.app.customers.rows[0].id;
    let other = store(&s, &pg.url);
    let detail = other.customer_detail(first).unwrap().unwrap();
    let mut record = funnel::domain::records::CustomerRecord {
        external_id: detail.external_id.clone(),
        name: "Aaa Renamed Elsewhere".into(),
        owner: detail.owner.clone(),
        industry: detail.industry.clone(),
        segment: detail.segment.as_deref().and_then(|s| s.parse().ok()),
        region: detail.region.clone(),
        city: detail.city.clone(),
        country: detail.country.clone(),
        email: detail.email.clone(),
        phone: detail.phone.clone(),
        status: detail.status.parse().unwrap(),
        contact_every_days: detail.contact_every_days,
        created_on: None,
    };
    other
        .save_customer(
            Some(first),
            Some(detail.version),
            &record,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            &funnel::store::audit::Actor::current(),
        )
        .unwrap();
    assert!(!server.screen().contains("Aaa Renamed"));
    server.keys("ctrl-r");
    assert!(
        server.screen().contains("Aaa Renamed"),
        "{}",
        server.screen()
    );
    // And a form still open on the old version is refused, not saved over it.
    record.name = "Stale Form".into();
    let stale = other.save_customer(
        Some(first),
        Some(detail.version),
        &record,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        &funnel::store::audit::Actor::current(),
    );
    assert!(
        matches!(stale, Err(funnel::store::StoreError::Conflict { .. })),
        "{stale:?}"
    );
}
