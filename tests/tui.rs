//! The TUI driven through key sequences against a real (temporary) database, snapshots of
//! every screen at several sizes with the clock fixed, and the real binary in a
//! pseudo-terminal.

mod common;
use funnel::store::customers::{CustomerFilter, CustomerSort};
use funnel::store::Store;
use funnel::tui::keymap::Keymap;
use funnel::tui::state::{App, Pane, Popup, Screen};
use funnel::tui::theme::Theme;
use funnel::tui::worker::{self, Reply, Request};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;

struct Harness {
    _dir: tempfile::TempDir,
    store: Store,
    cache: worker::Cache,
    app: App,
}

fn fill_demo(store: &mut Store, customers: usize, deals: usize) {
    let opts = funnel::app::demo::DemoOptions {
        customers,
        deals,
        ..funnel::app::demo::DemoOptions::new(common::today())
    };
    funnel::app::demo::generate(store, &opts, &common::actor(), &mut |_, _| {}).unwrap();
}

fn demo_store(dir: &std::path::Path, customers: usize, deals: usize) -> Store {
    let mut store = Store::open(&dir.join("tui.db")).unwrap();
    fill_demo(&mut store, customers, deals);
    store
}

impl Harness {
    /// A harness on a database made by `fill`.
    fn with(fill: impl FnOnce(&mut Store)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("tui.db")).unwrap();
        fill(&mut store);
        let app = App::new(
            Keymap::defaults(),
            Theme::default_dark(),
            common::today(),
            "test.db".into(),
            None,
        );
        let mut h = Harness {
            _dir: dir,
            store,
            cache: worker::Cache::default(),
            app,
        };
        let empty = h.store.is_empty().unwrap();
        h.reply(Reply::Opened { empty });
        h
    }

    fn new(customers: usize, deals: usize) -> Harness {
        Harness::with(|store| {
            if customers > 0 {
                fill_demo(store, customers, deals);
            }
        })
    }

    /// Runs requests on the worker's handler, synchronously, until none are left.
    fn run(&mut self, mut requests: Vec<Request>) {
        while !requests.is_empty() {
            let mut replies = Vec::new();
            for r in requests.drain(..) {
                worker::handle(
                    &mut self.store,
                    &mut self.cache,
                    r,
                    common::today(),
                    &mut |reply| replies.push(reply),
                );
            }
            for reply in replies {
                requests.extend(self.app.on_reply(reply));
            }
        }
    }

    fn mouse(&mut self, kind: MouseEventKind, column: u16, row: u16) {
        let r = self.app.handle_mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        });
        self.run(r);
    }

    fn reply(&mut self, r: Reply) {
        let out = self.app.on_reply(r);
        self.run(out);
    }

    fn keys(&mut self, text: &str) {
        for k in text.split_whitespace() {
            let event = match k {
                "enter" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                "esc" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                "tab" => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
                "bs" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
                "ctrl-d" => KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
                "ctrl-u" => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
                "ctrl-c" => KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                "ctrl-s" => KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
                "ctrl-t" => KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL),
                "ctrl-w" => KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL),
                "ctrl-a" => KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL),
                "home" => KeyEvent::new(KeyCode::Home, KeyModifiers::NONE),
                "end" => KeyEvent::new(KeyCode::End, KeyModifiers::NONE),
                "left" => KeyEvent::new(KeyCode::Left, KeyModifiers::NONE),
                "del" => KeyEvent::new(KeyCode::Delete, KeyModifiers::NONE),
                "space" => KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
                s => {
                    let mut out = Vec::new();
                    for c in s.chars() {
                        out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
                    }
                    for e in out {
                        let r = self.app.handle_key(e);
                        self.run(r);
                    }
                    continue;
                }
            };
            let r = self.app.handle_key(event);
            self.run(r);
        }
    }

    /// Empties the focused form field.
    fn clear_field(&mut self) {
        if let Some(Popup::Form(f)) = &self.app.popup {
            let n = f.values[f.focus].chars().count();
            for _ in 0..n {
                self.keys("bs");
            }
        }
    }

    fn form(&self) -> &funnel::tui::state::Form {
        match &self.app.popup {
            Some(Popup::Form(f)) => f,
            other => panic!("no form open: {other:?}"),
        }
    }

    fn screen(&self, w: u16, h: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| funnel::tui::view::render(&self.app, f))
            .unwrap();
        terminal.backend().to_string()
    }

    fn nth_customer_by_name(&self, n: usize, search: &str) -> String {
        let like = format!("%{search}%");
        self.store
            .connection()
            .query_row(
                "SELECT name FROM customers WHERE name LIKE ?1 OR email LIKE ?1 OR city LIKE ?1
                 ORDER BY name COLLATE NOCASE, id LIMIT 1 OFFSET ?2",
                rusqlite::params![like, n as i64],
                |r| r.get(0),
            )
            .unwrap()
    }
}

#[test]
fn empty_database_opens_on_welcome_and_d_loads_the_demo() {
    let mut h = Harness::new(0, 0);
    assert_eq!(h.app.screen, Screen::Welcome);
    let screen = h.screen(120, 40);
    assert!(screen.contains("This database is empty"), "{screen}");
    assert!(screen.contains("funnel import customers customers.csv"));
    h.keys("d");
    assert_eq!(h.app.screen, Screen::Dashboard);
    assert_eq!(h.app.customers.total, Some(2000));
    let d = h.app.dashboard.as_ref().unwrap();
    assert!(
        d.forecast.is_some(),
        "the demo load makes the first forecast run"
    );
    assert!(h.app.task.is_none());
}

#[test]
fn panes_focus_and_drill_into_customers() {
    let mut h = Harness::new(300, 1500);
    assert_eq!(h.app.screen, Screen::Dashboard);
    assert_eq!(h.app.pane, Pane::Customers);
    h.keys("tab");
    assert_eq!(h.app.pane, Pane::Funnel);
    h.keys("4");
    assert_eq!(h.app.pane, Pane::Forecast);
    h.keys("l");
    assert_eq!(h.app.pane, Pane::Customers, "wraps around");
    h.keys("enter");
    assert_eq!(h.app.screen, Screen::Customers);
    h.keys("j j enter");
    assert_eq!(h.app.screen, Screen::Detail);
    let detail = h.app.detail.as_ref().expect("detail loaded");
    assert_eq!(detail.name, h.nth_customer_by_name(2, ""));
    let deals: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM deals WHERE customer_id = ?1",
            [detail.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(detail.deals.len() as i64, deals.min(50));
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Customers);
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Dashboard);
    h.keys("q");
    assert!(h.app.quit);
}

#[test]
fn scrolling_pages_the_list_in_from_the_database() {
    let mut h = Harness::new(600, 1200);
    h.keys("enter");
    assert_eq!(h.app.customers.total, Some(600));
    for _ in 0..170 {
        h.keys("j");
    }
    let c = &h.app.customers;
    assert_eq!(c.selected, 170);
    assert_eq!(
        c.selected_row().unwrap().name,
        h.nth_customer_by_name(170, "")
    );
    assert!(
        c.rows.len() <= funnel::tui::state::WINDOW,
        "only a window is held"
    );
    h.keys("G");
    assert_eq!(h.app.customers.selected, 599);
    assert_eq!(
        h.app.customers.selected_row().unwrap().name,
        h.nth_customer_by_name(599, "")
    );
    for _ in 0..3 {
        h.keys("k");
    }
    assert_eq!(
        h.app.customers.selected_row().unwrap().name,
        h.nth_customer_by_name(596, "")
    );
    h.keys("g g");
    assert_eq!(h.app.customers.selected, 0);
    assert_eq!(
        h.app.customers.selected_row().unwrap().name,
        h.nth_customer_by_name(0, "")
    );
    // Up from the end back through a page boundary keeps rows and positions in step.
    h.keys("G");
    for _ in 0..250 {
        h.keys("k");
    }
    assert_eq!(
        h.app.customers.selected_row().unwrap().name,
        h.nth_customer_by_name(349, "")
    );
    h.keys("ctrl-d");
    assert!(h.app.customers.selected > 349);
}

#[test]
fn search_is_a_text_field_and_filters_as_you_type() {
    let mut h = Harness::new(400, 800);
    h.keys("/");
    assert_eq!(h.app.screen, Screen::Customers);
    h.keys("labs");
    assert_eq!(h.app.customers.filter.search, "labs");
    let count = h
        .store
        .count_customers(&CustomerFilter {
            search: "labs".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(h.app.customers.total, Some(count));
    assert_eq!(
        h.app.customers.selected_row().unwrap().name,
        h.nth_customer_by_name(0, "labs")
    );
    h.keys("bs bs bs bs j");
    assert_eq!(
        h.app.customers.filter.search, "j",
        "inside the field j is a letter"
    );
    h.keys("esc");
    assert!(!h.app.customers.editing_search);
    assert_eq!(h.app.customers.filter.search, "");
    assert_eq!(h.app.customers.total, Some(400));
    h.keys("f");
    assert_eq!(h.app.customers.filter.segment.as_deref(), Some("smb"));
    h.keys("x");
    assert_eq!(h.app.customers.filter, CustomerFilter::default());
}

#[test]
fn help_and_palette_come_from_the_keymap() {
    let mut h = Harness::new(200, 600);
    h.keys("?");
    assert!(matches!(h.app.popup, Some(Popup::Help { .. })));
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("recompute forecasts, scores, segments and values"),
        "{screen}"
    );
    h.keys("esc :");
    assert!(matches!(h.app.popup, Some(Popup::Palette { .. })));
    h.keys("rcmp");
    assert_eq!(
        h.app.palette_matches()[0].0,
        funnel::tui::action::Action::Recompute
    );
    let runs_before: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM forecast_runs", [], |r| r.get(0))
        .unwrap();
    h.keys("enter");
    let runs_after: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM forecast_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs_after, runs_before + 1);
    assert!(h.app.status.as_ref().unwrap().0.contains("forecast run"));
}

#[test]
fn x_explains_the_selected_deal_with_the_same_model_as_the_cli() {
    let mut h = Harness::new(300, 1500);
    h.keys("2 enter");
    let card = h.app.pipeline.selected().expect("a card").1.clone();
    // The request goes out with the popup waiting, spinner on.
    let reqs = h
        .app
        .handle_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert_eq!(reqs, vec![Request::Explain { deal_id: card.id }]);
    assert!(h.app.busy());
    h.run(reqs);
    let Some(Popup::Explain { body: Some(x), .. }) = &h.app.popup else {
        panic!("explanation shown: {:?}", h.app.popup);
    };
    let scored = funnel::app::scoring::score(&h.store, common::today()).unwrap();
    let want = funnel::app::scoring::explain_deal(&scored, &card.id.to_string()).unwrap();
    assert_eq!(**x, want);
    assert!(x.headline.contains(&card.name), "{}", x.headline);
    assert!(!x.factors.is_empty());
    assert!(!h.app.busy());
    let screen = h.screen(120, 40);
    assert!(screen.contains("why: "), "{screen}");
    // The first factor (long ones wrap: its start).
    let start: String = x.factors[0].0.chars().take(40).collect();
    assert!(screen.contains(&start), "{screen}");
    h.keys("esc");
    assert!(h.app.popup.is_none());
    // A second explanation comes from the worker's cached model.
    h.keys("x");
    assert!(matches!(
        h.app.popup,
        Some(Popup::Explain { body: Some(_), .. })
    ));
    h.keys("esc");
}

#[test]
fn pipeline_board_moves_wins_and_loses_deals_through_the_app_layer() {
    let mut h = Harness::new(300, 1500);
    h.keys("2 enter");
    assert_eq!(h.app.screen, Screen::Pipeline);
    let board = h.app.pipeline.board.as_ref().expect("board loaded");
    assert_eq!(board.columns.len(), 4);
    let top = board.columns[0].cards[0].clone();
    let largest: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT max(amount_cents) FROM deals WHERE stage_id = ?1",
            [board.columns[0].stage_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(top.amount.cents(), largest, "cards come largest first");
    let second_stage = board.columns[1].stage_id;

    h.keys(">");
    let stage: i64 = h
        .store
        .connection()
        .query_row("SELECT stage_id FROM deals WHERE id = ?1", [top.id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stage, second_stage);
    let audited: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM audit_log WHERE entity = 'deal' AND entity_id = ?1 AND action = 'update'", [top.id], |r| r.get(0))
        .unwrap();
    assert_eq!(audited, 1);
    assert!(h.app.status.as_ref().unwrap().0.contains("moved"));

    // Lost needs a reason; the popup is a text field (W and j are letters in it).
    h.keys("l");
    let (_, card) = h.app.pipeline.selected().unwrap();
    let lost_id = card.id;
    h.keys("L enter");
    assert!(
        matches!(h.app.popup, Some(Popup::LostReason { .. })),
        "an empty reason is refused"
    );
    h.keys("Went");
    h.keys("space");
    h.keys("with");
    h.keys("space");
    h.keys("Jira");
    h.keys("enter");
    assert!(h.app.popup.is_none());
    let (kind, reason): (String, String) = h
        .store
        .connection()
        .query_row(
            "SELECT s.kind, d.lost_reason FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.id = ?1",
            [lost_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), reason.as_str()), ("lost", "Went with Jira"));

    // Won puts the deal in the ledger, dated today.
    let (_, card) = h.app.pipeline.selected().unwrap();
    let won_id = card.id;
    h.keys("W y");
    let order: (String, i64) = h
        .store
        .connection()
        .query_row(
            "SELECT ordered_on, amount_cents FROM orders WHERE deal_id = ?1",
            [won_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(order.0, "2026-11-22");
    h.keys("v");
    assert!(h.app.pipeline.list);
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Dashboard);
}

#[test]
fn targets_and_forecast_panes_drill_into_their_screens() {
    let mut h = Harness::new(300, 1500);
    h.keys("3 enter");
    assert_eq!(h.app.screen, Screen::Targets);
    // The screen shows what the app layer computes for this month's revenue targets.
    let want = funnel::app::targets::list(
        &h.store,
        Some(funnel::domain::Period::month_of(common::today())),
        None,
        Some(funnel::domain::TargetMetric::WonRevenue),
        common::today(),
    )
    .unwrap();
    assert!(!want.is_empty());
    assert_eq!(h.app.targets.rows, want);
    let d = h.app.dashboard.as_ref().unwrap();
    let board = &d.targets.leaderboard;
    assert!(!board.is_empty());
    let att: Vec<f64> = board.iter().filter_map(|r| r.attainment()).collect();
    assert!(
        att.windows(2).all(|w| w[0] >= w[1]),
        "best attainment first"
    );
    // Some reps are above their target and some below: the demo plans it that way.
    let first_of_month: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM targets WHERE scope = 'rep' AND period = '2026-11'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(first_of_month > 0);
    h.keys("esc 4 enter");
    assert_eq!(h.app.screen, Screen::Forecast);
    h.keys("j j");
    assert_eq!(h.app.forecast_sel, 2);
    let screen = h.screen(120, 40);
    assert!(screen.contains("theta"), "the method is named: {screen}");
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Dashboard);
}

#[test]
fn targets_are_set_revised_and_proposed_through_forms() {
    use funnel::domain::{Period, TargetMetric};
    let mut h = Harness::new(300, 1500);
    h.keys("3 enter");
    let nov = Period::month_of(common::today());
    assert_eq!(h.app.targets.period, nov);
    h.keys("] ]");
    assert_eq!(h.app.targets.period, nov.next().next());
    h.keys("[ [ p");
    assert_eq!(h.app.targets.period, Period::quarter_of(common::today()));
    h.keys("p p m");
    assert_eq!(
        (h.app.targets.period, h.app.targets.metric),
        (nov, TargetMetric::WonDeals)
    );
    let before = h.app.targets.rows.len();
    // Set: the form opens for this period and metric; the amount is the fifth field.
    h.keys("s");
    assert!(
        matches!(&h.app.popup, Some(Popup::Form(f)) if f.kind == funnel::app::edits::FormKind::SetTarget)
    );
    h.keys("tab tab tab tab 4x ctrl-s");
    // A bad count is refused at its field, nothing saved.
    let Some(Popup::Form(f)) = &h.app.popup else {
        panic!("form still open")
    };
    assert!(f.error_for("amount").is_some(), "{:?}", f.errors);
    h.clear_field();
    h.keys("40 ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(h.app.targets.rows.len(), before + 1);
    let row = h
        .app
        .targets
        .rows
        .iter()
        .find(|r| r.target.name == "Company")
        .unwrap()
        .clone();
    assert_eq!(row.target.value, 40);
    // Revise the selected (the company, listed first) with a reason.
    h.app.targets.selected = h
        .app
        .targets
        .rows
        .iter()
        .position(|r| r.target.id == row.target.id)
        .unwrap();
    h.keys("r");
    h.clear_field();
    h.keys("45 tab more space calls ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    let revs = h.store.target_revisions(row.target.id).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!((revs[1].old_value, revs[1].new_value), (Some(40), 45));
    assert_eq!(revs[1].reason, "more calls");
    // Propose: reviewed in a popup, saved only on enter.
    h.keys("P ctrl-s");
    let Some(Popup::Proposal { proposal, .. }) = &h.app.popup else {
        panic!("proposal shown: {:?}", h.app.popup)
    };
    let period = proposal.period.clone();
    assert_eq!(period, "2026-12");
    let count = |h: &Harness| {
        h.store
            .target_rows(Some(period.as_str()), None, Some(TargetMetric::WonRevenue))
            .unwrap()
            .iter()
            .filter(|t| {
                h.store
                    .target_revisions(t.id)
                    .unwrap()
                    .iter()
                    .any(|r| r.reason == "proposal: goal method")
            })
            .count()
    };
    assert_eq!(count(&h), 0, "nothing saved before enter");
    h.keys("enter");
    assert!(h.app.popup.is_none());
    assert!(count(&h) > 10, "company, teams and reps saved");
}

#[test]
fn reports_run_break_down_and_export() {
    let mut h = Harness::new(300, 1500);
    h.keys("5");
    assert_eq!(h.app.screen, Screen::Reports);
    // win-rates is the sixth report; b cycles the breakdown and reruns it.
    h.keys("j j j j j enter");
    let r = h.app.reports.report.clone().expect("ran");
    assert_eq!(r.name, "win-rates");
    h.keys("b b");
    assert_eq!(h.app.reports.by, Some("team"));
    let r = h.app.reports.report.clone().unwrap();
    assert_eq!(r.table.columns[0], "team");
    let want =
        funnel::app::reports::run(&h.store, "win-rates", Some("team"), None, common::today())
            .unwrap();
    assert_eq!(r, want);
    // On a narrow terminal whole columns are hidden, named, and scrolled into view.
    let narrow = h.screen(60, 16);
    assert!(narrow.contains("more column(s)"), "{narrow}");
    assert!(!narrow.contains("average_won"), "{narrow}");
    h.keys("l l l l l");
    let scrolled = h.screen(60, 16);
    assert!(scrolled.contains("average_won"), "{scrolled}");
    assert!(
        scrolled.contains("team"),
        "the first column stays: {scrolled}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (csv, md) =
        funnel::app::reports::export(&r, Some("team"), dir.path(), common::today()).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("team,closed,won,lost,win_rate"), "{text}");
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("| team | closed |"));
}

#[test]
fn stale_customer_replies_are_dropped() {
    let mut h = Harness::new(100, 200);
    let old_gen = h.app.customers.gen;
    let first = h.app.customers.rows[0].clone();
    let _ = h.app.reload_customers();
    h.app.on_reply(Reply::Customers {
        gen: old_gen,
        anchor: worker::Anchor::Replace { first_index: 0 },
        rows: Ok(vec![]),
        total: Some(0),
    });
    assert_eq!(
        h.app.customers.rows[0], first,
        "an old generation does not overwrite the list"
    );
}

#[test]
fn snapshots_of_every_screen_at_three_sizes() {
    const SIZES: [(u16, u16); 3] = [(120, 40), (80, 24), (60, 16)];
    let mut h = Harness::new(300, 1500);
    let shoot = |h: &Harness, name: &str| {
        for (w, hgt) in SIZES {
            let screen = h.screen(w, hgt);
            // Every size keeps the way out and the way to the keys.
            let footer = screen.lines().last().unwrap_or_default();
            assert!(
                footer.contains("? help") && footer.contains("q quit"),
                "{name} {w}x{hgt}: {footer}"
            );
            insta::assert_snapshot!(format!("{name}_{w}x{hgt}"), screen);
        }
    };
    shoot(&h, "dashboard");
    insta::assert_snapshot!("too_small_50x12", h.screen(50, 12));
    h.keys("enter j j");
    shoot(&h, "customers");
    h.keys("?");
    shoot(&h, "help");
    h.keys("esc enter");
    shoot(&h, "detail");
    h.keys("e");
    shoot(&h, "form");
    h.keys("esc esc esc 2 enter");
    shoot(&h, "pipeline");
    h.keys("x");
    shoot(&h, "explain");
    h.keys("esc v");
    shoot(&h, "pipeline_list");
    h.keys("esc 3 enter");
    shoot(&h, "targets");
    h.keys("esc 4 enter j");
    shoot(&h, "forecast");
    h.keys("esc 5 enter");
    shoot(&h, "reports");
    h.keys("esc 3 enter P ctrl-s");
    shoot(&h, "proposal");
    h.keys("esc esc esc 8");
    assert_eq!(h.app.screen, Screen::Segments);
    shoot(&h, "segments");
    h.keys("esc 9");
    assert_eq!(h.app.screen, Screen::Agenda);
    shoot(&h, "agenda");
    h.keys("tab");
    shoot(&h, "agenda_plan");
    let w = Harness::new(0, 0);
    shoot(&w, "welcome");
}

#[test]
fn owner_and_region_filters_narrow_the_list() {
    let mut h = Harness::new(300, 600);
    let rep: String = h
        .store
        .connection()
        .query_row("SELECT name FROM reps ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let expected: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM customers c JOIN reps r ON r.id = c.owner_rep_id WHERE r.name = ?1",
            [&rep],
            |r| r.get(0),
        )
        .unwrap();
    h.keys("/ esc o");
    assert!(matches!(h.app.popup, Some(Popup::Filter { .. })));
    for (i, word) in rep.split(' ').enumerate() {
        if i > 0 {
            h.keys("space");
        }
        h.keys(word);
    }
    h.keys("enter");
    assert_eq!(h.app.customers.total, Some(expected));
    assert!(h
        .app
        .customers
        .rows
        .iter()
        .all(|r| r.owner.as_deref() == Some(rep.as_str())));
    h.keys("r EMEA enter");
    let both: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM customers c JOIN reps r ON r.id = c.owner_rep_id WHERE r.name = ?1 AND c.region = 'EMEA'",
            [&rep],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(h.app.customers.total, Some(both));
    h.keys("x");
    assert_eq!(h.app.customers.total, Some(300));
}

#[test]
fn the_binary_asks_before_creating_a_database_in_a_terminal() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    let bin = env!("CARGO_BIN_EXE_funnel");
    let cmd = format!("exec {bin} --db {}", db.display());
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the script command (util-linux) runs the binary in a pty");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"n\n").unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Create a new one there?"), "{text}");
    assert!(text.contains("nothing created"), "{text}");
    assert!(!db.exists(), "a mistyped --db makes no database");
}

#[test]
fn the_binary_shows_the_dashboard_in_a_terminal_and_exits_cleanly() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    drop(demo_store(dir.path(), 100, 300));
    let db = dir.path().join("tui.db");
    let bin = env!("CARGO_BIN_EXE_funnel");
    // `script` runs the command in a pseudo-terminal and passes our stdin to it.
    let cmd = format!("stty cols 100 rows 30; exec {bin} --db {}", db.display());
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        // The TUI runs on the same clock as every command.
        .env("FUNNEL_TODAY", "2026-11-22")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the script command (util-linux) runs the binary in a pty");
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    // Wait (up to 20 s) until the dashboard has been drawn, then quit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if String::from_utf8_lossy(&seen.lock().unwrap()).contains("Forecast") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"q").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let out = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(status.success(), "exit status {status:?}\n{out}");
    for pane in ["Customers", "Funnel", "Targets", "Forecast"] {
        assert!(out.contains(pane), "{pane} missing from the screen:\n{out}");
    }
    assert!(
        out.contains("2026-11-22"),
        "FUNNEL_TODAY reaches the TUI:\n{out}"
    );
    assert!(out.contains("\x1b[?1049h"), "entered the alternate screen");
    assert!(
        out.contains("\x1b[?1049l"),
        "left the alternate screen on quit"
    );
}

#[test]
fn a_form_never_overwrites_a_change_made_elsewhere_while_it_was_open() {
    let mut h = Harness::new(60, 200);
    h.keys("enter e");
    let id = h.app.detail.as_ref().unwrap().id;
    let field_at = |h: &Harness, name: &str| {
        h.form()
            .kind
            .fields()
            .iter()
            .position(|f| f.name == name)
            .unwrap()
    };
    let city_before = h.form().values[field_at(&h, "city")].clone();
    // Another process changes the city while the form is open.
    let mut other = Store::open(&h._dir.path().join("tui.db")).unwrap();
    let detail = other.customer_detail(id).unwrap().unwrap();
    let mut values: Vec<(String, String)> = funnel::app::edits::customer_values(&detail)
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    values.iter_mut().find(|(f, _)| f == "city").unwrap().1 = "Elsewhere".into();
    funnel::app::edits::save(
        &mut other,
        funnel::app::edits::FormKind::EditCustomer(id),
        &values,
        Some(&funnel::app::edits::Base::new(
            detail.version,
            &funnel::app::edits::customer_values(&detail),
        )),
        common::today(),
        &common::actor(),
    )
    .unwrap();
    let stored = |h: &Harness, col: &str| -> Option<String> {
        h.store
            .connection()
            .query_row(
                &format!("SELECT {col} FROM customers WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    // This form changes the phone and saves: refused, both values shown, nothing written.
    for _ in 0..field_at(&h, "phone") {
        h.keys("tab");
    }
    h.clear_field();
    h.keys("555-0100 ctrl-s");
    assert!(h.app.popup.is_some(), "not saved");
    let shown = h
        .form()
        .error_for("city")
        .unwrap_or_else(|| panic!("{:?}", h.form().errors))
        .to_string();
    assert!(shown.contains("now 'Elsewhere'"), "{shown}");
    assert_eq!(
        h.form().values[field_at(&h, "city")],
        city_before,
        "yours still in the form"
    );
    assert!(h
        .form()
        .error_for("")
        .unwrap()
        .contains("ctrl-t takes theirs"));
    assert_eq!(stored(&h, "city").as_deref(), Some("Elsewhere"));
    assert_ne!(stored(&h, "phone").as_deref(), Some("555-0100"));
    let screen = h.screen(100, 40);
    assert!(screen.contains("Elsewhere"), "{screen}");
    // ctrl-t takes theirs; the save then keeps their city and this form's phone.
    h.keys("ctrl-t ctrl-s");
    assert!(h.app.popup.is_none(), "saved");
    assert_eq!(stored(&h, "city").as_deref(), Some("Elsewhere"));
    assert_eq!(stored(&h, "phone").as_deref(), Some("555-0100"));

    // Again, and this time keep yours: a second ctrl-s saves the form's values over theirs.
    h.keys("e");
    let detail = other.customer_detail(id).unwrap().unwrap();
    let mut values: Vec<(String, String)> = funnel::app::edits::customer_values(&detail)
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    values.iter_mut().find(|(f, _)| f == "city").unwrap().1 = "Third Place".into();
    funnel::app::edits::save(
        &mut other,
        funnel::app::edits::FormKind::EditCustomer(id),
        &values,
        Some(&funnel::app::edits::Base::new(
            detail.version,
            &funnel::app::edits::customer_values(&detail),
        )),
        common::today(),
        &common::actor(),
    )
    .unwrap();
    h.keys("ctrl-s");
    assert!(h
        .form()
        .error_for("city")
        .unwrap()
        .contains("now 'Third Place'"));
    assert_eq!(stored(&h, "city").as_deref(), Some("Third Place"));
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none(), "saved on the second ctrl-s");
    assert_eq!(
        stored(&h, "city").as_deref(),
        Some("Elsewhere"),
        "yours kept"
    );
    // A change elsewhere to a field the form does not hold is no conflict.
    h.keys("e");
    other
        .connection()
        .execute(
            "UPDATE customers SET created_on = '2020-01-01' WHERE id = ?1",
            [id],
        )
        .unwrap();
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none());
}

#[test]
fn the_audit_screen_pages_back_through_the_trail_and_shows_before_and_after() {
    let mut h = Harness::with(|store| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.csv");
        let mut text = String::from("external_id,name,city\n");
        for i in 0..300 {
            text.push_str(&format!("A{i},Audited {i},Lima\n"));
        }
        std::fs::write(&file, &text).unwrap();
        let o = common::opts();
        let import = |store: &mut Store| {
            funnel::store::import::import_file(
                store,
                funnel::store::import::ImportKind::Customers,
                &file,
                &o,
                &common::actor(),
            )
            .unwrap()
        };
        import(store);
        // The same customers again, moved: one update entry each.
        text = text.replace(",Lima", ",Cusco");
        std::fs::write(&file, &text).unwrap();
        assert_eq!(import(store).updated, 300);
    });
    let total: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(total > 300, "{total}");
    h.keys("7");
    assert_eq!(h.app.screen, Screen::Audit);
    assert_eq!(h.app.audit.rows.len(), funnel::tui::audit::AUDIT_PAGE);
    assert!(!h.app.audit.complete);
    // Newest first: the last update, with its row before and after on enter.
    let newest = &h.app.audit.rows[0];
    assert_eq!(
        (newest.action.as_str(), newest.entity.as_str()),
        ("update", "customer")
    );
    h.keys("enter");
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("before") && screen.contains("Lima") && screen.contains("Cusco"),
        "{screen}"
    );
    // Going down reads the older pages, keyset by id, until the first entry.
    for _ in 0..40 {
        h.keys("G");
    }
    assert!(h.app.audit.complete);
    assert_eq!(h.app.audit.rows.len() as i64, total);
    let ids: Vec<i64> = h.app.audit.rows.iter().map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    h.keys("esc");
    assert_eq!(h.app.screen, Screen::Dashboard);
}

#[test]
fn form_fields_edit_like_a_shell_line() {
    let mut h = Harness::new(60, 200);
    h.keys("enter e");
    let name = h.form().values[0].clone();
    // Entering a prefilled field selects it: a movement key keeps the text.
    h.keys("home Z");
    assert_eq!(h.form().values[0], format!("Z{name}"));
    h.keys("ctrl-a del end");
    assert_eq!(h.form().values[0], name);
    // Typing into a freshly entered field replaces what was there.
    h.keys("tab tab tab tab tab tab");
    let city_at = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "city")
        .unwrap();
    assert_eq!(h.form().focus, city_at);
    h.keys("New space York space City ctrl-w");
    assert_eq!(h.form().values[city_at], "New York ");
    // A field's error goes as soon as its value is edited.
    let email_at = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "email")
        .unwrap();
    h.keys("tab tab");
    assert_eq!(h.form().focus, email_at);
    h.keys("nope ctrl-s");
    assert!(h.form().error_for("email").is_some());
    h.keys("end @x.example");
    assert!(h.form().error_for("email").is_none());
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none(), "saved");
}

#[test]
fn forms_validate_at_the_field_and_save_through_the_app_layer() {
    let mut h = Harness::new(120, 400);
    h.keys("enter e");
    assert_eq!(h.app.screen, Screen::Detail);
    let id = h.app.detail.as_ref().unwrap().id;
    assert_eq!(
        h.form().values[0],
        h.app.detail.as_ref().unwrap().name,
        "prefilled"
    );
    // A bad email is refused at its field and nothing is written.
    let email_at = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "email")
        .unwrap();
    for _ in 0..email_at {
        h.keys("tab");
    }
    h.clear_field();
    h.keys("nope ctrl-s");
    assert!(h
        .form()
        .error_for("email")
        .unwrap()
        .contains("not an email address"));
    assert_eq!(h.form().focus, email_at);
    h.clear_field();
    h.keys("ceo@example.com");
    let city_at = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "city")
        .unwrap();
    let _ = city_at;
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none(), "saved");
    let email: String = h
        .store
        .connection()
        .query_row("SELECT email FROM customers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(email, "ceo@example.com");
    assert_eq!(
        h.app.detail.as_ref().unwrap().email.as_deref(),
        Some("ceo@example.com"),
        "the view reloaded"
    );
    let audited: String = h
        .store
        .connection()
        .query_row(
            "SELECT before_json FROM audit_log WHERE entity = 'customer' AND entity_id = ?1 AND action = 'update'",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(audited.contains("info@"), "before image kept: {audited}");

    // Unknown owner: the store's reason lands on the owner field.
    h.keys("e tab");
    h.clear_field();
    h.keys("Nobody");
    h.keys("space");
    h.keys("Here ctrl-s");
    assert!(h
        .form()
        .error_for("owner")
        .unwrap()
        .contains("no rep named 'Nobody Here'"));
    h.keys("esc");

    // Add and edit a contact; log an activity with a follow-up.
    let contacts_before = h.app.detail.as_ref().unwrap().contacts.len();
    h.keys("c Jo");
    h.keys("space");
    h.keys("Park ctrl-s");
    assert_eq!(
        h.app.detail.as_ref().unwrap().contacts.len(),
        contacts_before + 1
    );
    h.keys("E tab");
    h.clear_field();
    h.keys("CFO ctrl-s");
    let titles: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM contacts WHERE customer_id = ?1 AND title = 'CFO'",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(titles >= 1);
    let acts_before: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM activities WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    h.keys("n tab Demo tab tab Keen tab tab 2026-12-01 ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    let acts_after: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM activities WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        acts_after,
        acts_before + 2,
        "the activity and its follow-up call"
    );
    assert!(h
        .app
        .status
        .as_ref()
        .unwrap()
        .0
        .contains("follow-up call due 2026-12-01"));

    // A new customer from the list.
    h.keys("esc a Brand");
    h.keys("space");
    h.keys("New");
    h.keys("space");
    h.keys("Co ctrl-s");
    let n: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM customers WHERE name = 'Brand New Co'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn explaining_before_any_model_was_learned_ends_its_task() {
    let mut h = Harness::new(120, 400);
    h.keys("2 enter");
    assert_eq!(h.app.screen, Screen::Pipeline);
    h.keys("x");
    assert!(
        matches!(&h.app.popup, Some(Popup::Explain { body: Some(_), .. })),
        "{:?}",
        h.app.popup
    );
    assert_eq!(h.app.task, None, "the learning task ended with the answer");
    h.keys("esc R");
    assert_eq!(h.app.task, None);
    let status = h.app.status.clone().unwrap_or_default().0;
    assert!(!status.contains("busy") && !status.is_empty(), "{status}");
}

#[test]
fn movement_keys_on_other_screens_leave_the_customer_list_alone() {
    let mut h = Harness::new(120, 400);
    let before = (h.app.customers.selected, h.app.customers.gen);
    for (open, screen) in [
        ("3 enter", Screen::Targets),
        ("4 enter", Screen::Forecast),
        ("5", Screen::Reports),
    ] {
        h.keys(open);
        assert_eq!(h.app.screen, screen);
        h.keys("G ctrl-d ctrl-u g g G");
        assert_eq!(
            (h.app.customers.selected, h.app.customers.gen),
            before,
            "{screen:?} moved the hidden customer list"
        );
        h.keys("esc");
    }
    // The Reports screen's own list: G picks the last report.
    h.keys("5 G");
    assert_eq!(
        h.app.reports.selected,
        funnel::app::reports::REPORTS.len() - 1
    );
    h.keys("esc");
    // A customer's detail: the keys move among its contacts, not the list behind it.
    h.keys("1 enter enter");
    assert_eq!(h.app.screen, Screen::Detail);
    let before = (h.app.customers.selected, h.app.customers.gen);
    h.keys("G ctrl-d g g");
    assert_eq!((h.app.customers.selected, h.app.customers.gen), before);
}

#[test]
fn winning_asks_first_and_u_takes_back_the_last_action() {
    let mut h = Harness::new(120, 400);
    let count = |h: &Harness, sql: &str| -> i64 {
        h.store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let orders = count(&h, "SELECT count(*) FROM orders");
    h.keys("2 enter");
    let (_, card) = h.app.pipeline.selected().unwrap();
    let (deal, stage_sql) = (
        card.id,
        format!("SELECT stage_id FROM deals WHERE id = {}", card.id),
    );
    let stage = count(&h, &stage_sql);
    h.keys("W");
    assert!(matches!(h.app.popup, Some(Popup::Confirm { .. })));
    h.keys("n");
    assert_eq!(
        count(&h, "SELECT count(*) FROM orders"),
        orders,
        "no: nothing written"
    );
    h.keys("W y");
    assert_eq!(count(&h, "SELECT count(*) FROM orders"), orders + 1);
    assert_ne!(count(&h, &stage_sql), stage);
    // u: the deal is back in its stage and its order out of the ledger.
    h.keys("u");
    let status = h.app.status.clone().unwrap().0;
    assert!(
        status.starts_with("undone:") && status.contains("marked won"),
        "{status}"
    );
    assert_eq!(count(&h, "SELECT count(*) FROM orders"), orders);
    assert_eq!(count(&h, &stage_sql), stage);
    let history = count(
        &h,
        &format!("SELECT count(*) FROM stage_changes WHERE deal_id = {deal} AND changed_on = '2026-11-22'"),
    );
    assert_eq!(history, 0, "the won stage change went too");
    h.keys("u");
    assert!(h.app.status.clone().unwrap().0.contains("nothing to undo"));
    // A form save is undone too; a change made since by someone else refuses the undo.
    h.keys("esc 1 enter enter e");
    let id = h.app.detail.as_ref().unwrap().id;
    let city_at = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "city")
        .unwrap();
    for _ in 0..city_at {
        h.keys("tab");
    }
    let city = |h: &Harness| -> String {
        h.store
            .connection()
            .query_row(
                "SELECT coalesce(city, '') FROM customers WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let original = city(&h);
    h.keys("Undoville ctrl-s");
    assert_eq!(city(&h), "Undoville");
    h.keys("u");
    assert_eq!(city(&h), original, "undone");
    // Saved again, then changed by another process: u refuses and changes nothing.
    h.keys("e");
    for _ in 0..city_at {
        h.keys("tab");
    }
    h.keys("Twiceville ctrl-s");
    let mut other = Store::open(&h._dir.path().join("tui.db")).unwrap();
    let d = other.customer_detail(id).unwrap().unwrap();
    let mut values: Vec<(String, String)> = funnel::app::edits::customer_values(&d)
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    values.iter_mut().find(|(f, _)| f == "phone").unwrap().1 = "+1 555 0199".into();
    funnel::app::edits::save(
        &mut other,
        funnel::app::edits::FormKind::EditCustomer(id),
        &values,
        None,
        common::today(),
        &common::actor(),
    )
    .unwrap();
    h.keys("u");
    let status = h.app.status.clone().unwrap();
    assert!(status.1 && status.0.contains("changed since"), "{status:?}");
    assert_eq!(city(&h), "Twiceville");
}

#[test]
fn help_scrolls_and_the_mouse_wheel_moves_lists() {
    let mut h = Harness::new(60, 200);
    h.keys("?");
    let first = h.screen(60, 16);
    assert!(first.contains("scroll"), "{first}");
    for _ in 0..5 {
        let r = h
            .app
            .handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        h.run(r);
    }
    assert!(matches!(h.app.popup, Some(Popup::Help { scroll: 5, .. })));
    assert_ne!(h.screen(60, 16), first, "the keys moved up");
    h.keys("esc");
    // The wheel moves the customer list like ↓, and does nothing over a popup.
    h.keys("1");
    let before = h.app.customers.selected;
    h.mouse(MouseEventKind::ScrollDown, 0, 0);
    assert_eq!(h.app.customers.selected, before + 1);
    h.keys("?");
    h.mouse(MouseEventKind::ScrollDown, 0, 0);
    assert_eq!(h.app.customers.selected, before + 1);
}

#[test]
fn labels_say_what_they_mean() {
    let mut h = Harness::new(120, 400);
    // A deal is named as the screens name it, not by row id.
    h.keys("2 enter W y");
    let status = h.app.status.clone().unwrap().0;
    assert!(
        status.starts_with("D-") && status.contains("marked won"),
        "{status}"
    );
    // The list view's column is days in the stage.
    h.keys("v");
    let screen = h.screen(120, 40);
    assert!(screen.contains("In stage"), "{screen}");
    h.keys("esc");
    // A period without targets has no pace to show.
    h.keys("3 enter");
    for _ in 0..30 {
        h.keys("]");
    }
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("no targets") && !screen.contains("pace 0%"),
        "{screen}"
    );
}

#[test]
fn deals_are_added_and_edited_on_the_pipeline() {
    let mut h = Harness::new(120, 400);
    let customer: String = h
        .store
        .connection()
        .query_row("SELECT name FROM customers WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    h.keys("2 enter a");
    assert_eq!(
        h.form().values[3],
        "Prospecting",
        "the focused column's stage is the default"
    );
    h.keys("Pilot tab");
    for word in customer
        .split(' ')
        .collect::<Vec<_>>()
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_string()
            } else {
                format!("space {w}")
            }
        })
    {
        h.keys(&word);
    }
    h.keys("tab 12,500.00 ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    let (amount, stage_changes): (i64, i64) = h
        .store
        .connection()
        .query_row(
            "SELECT d.amount_cents, (SELECT count(*) FROM stage_changes WHERE deal_id = d.id) FROM deals d WHERE d.name = 'Pilot'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((amount, stage_changes), (1_250_000, 1));
    // A deal made on screen gets a readable external id from its row id, so its export
    // re-imports as an update.
    let (id, ext): (i64, String) = h
        .store
        .connection()
        .query_row(
            "SELECT id, external_id FROM deals WHERE name = 'Pilot'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(ext, format!("D-{id:07}"));
    // Edit the selected deal's amount; a bad amount is refused at the field.
    let edited = h.app.pipeline.selected().unwrap().1.id;
    h.keys("e tab");
    h.clear_field();
    h.keys("12,50 ctrl-s");
    assert!(h
        .form()
        .error_for("amount")
        .unwrap()
        .contains("thousands separators"));
    h.clear_field();
    h.keys("99 ctrl-s");
    assert!(h.app.popup.is_none());
    let cents: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT amount_cents FROM deals WHERE id = ?1",
            [edited],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cents, 9_900);
}

#[test]
fn a_long_form_scrolls_to_the_focused_field_on_a_small_terminal() {
    let mut h = Harness::new(60, 120);
    h.keys("enter enter e");
    for _ in 0..11 {
        h.keys("tab");
    }
    let screen = h.screen(60, 16);
    assert!(screen.contains("External id"), "{screen}");
}

/// The four-stage opportunities export of `tests/data/fixtures`, imported on 2024-03-31:
/// its data ends on 2024-03-20, years before the harness's today.
fn import_opportunities(store: &mut Store) {
    use funnel::store::import::{import_file, layout::Mapping, ImportKind, ImportOptions};
    let fixture = |n: &str| common::data(&format!("fixtures/{n}"));
    let mut o = ImportOptions {
        today: chrono::NaiveDate::from_ymd_opt(2024, 3, 31),
        ..Default::default()
    };
    for (kind, name) in [
        (ImportKind::Stages, "stages.csv"),
        (ImportKind::Products, "products.csv"),
        (ImportKind::Teams, "teams.csv"),
        (ImportKind::Reps, "reps.csv"),
    ] {
        assert!(
            import_file(store, kind, &fixture(name), &o, &common::actor())
                .unwrap()
                .committed
        );
    }
    let text = std::fs::read_to_string(fixture("opportunities.toml")).unwrap();
    o.mapping = Some(Mapping::from_toml(&text).unwrap());
    o.create_missing = true;
    let r = import_file(
        store,
        ImportKind::Deals,
        &fixture("opportunities.csv"),
        &o,
        &common::actor(),
    )
    .unwrap();
    assert!(r.committed);
}

#[test]
fn data_that_ended_long_ago_is_said_and_viewed_as_of_its_last_day() {
    let mut h = Harness::with(import_opportunities);
    assert_eq!(h.app.screen, Screen::Dashboard);
    let screen = h.screen(120, 40);
    assert!(
        screen.contains("data ends 2024-03-20: nothing closed in 90 days"),
        "{screen}"
    );
    h.keys("T");
    let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 20).unwrap();
    assert_eq!(h.app.today, day);
    assert_eq!(
        h.app.dashboard.as_ref().unwrap().today,
        day,
        "the worker reloaded as of then"
    );
    let screen = h.screen(120, 40);
    assert!(screen.contains("as of the data's last day"), "{screen}");
    // The pipeline's ages count to that day, and a stage with too few winners says so.
    h.keys("2 enter");
    assert_eq!(h.app.screen, Screen::Pipeline);
    let screen = h.screen(120, 40);
    assert!(screen.contains("not enough history"), "{screen}");
    assert!(!screen.contains("learning thresholds"), "{screen}");
    // Deals the import dated after that day (no dates in the file: the import's day) are
    // not shown with a negative age.
    assert!(!screen.contains("-11d"), "{screen}");
    assert!(screen.contains(" 0d"), "{screen}");
    h.keys("esc T");
    assert_eq!(h.app.today, common::today());
}

#[test]
fn setup_forms_never_overwrite_a_change_made_elsewhere_either() {
    let mut h = Harness::with(import_opportunities);
    h.keys("6 l");
    assert_eq!(h.app.setup.tab, funnel::tui::setup::Tab::Reps);
    h.keys("e");
    let rep = h.app.setup.data.as_ref().unwrap().reps[0].clone();
    // Another process gives the rep an email while the form is open.
    let mut other = Store::open(&h._dir.path().join("tui.db")).unwrap();
    let mut values: Vec<(String, String)> = funnel::app::edits::rep_values(&rep)
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    values.iter_mut().find(|(f, _)| f == "email").unwrap().1 = "new@example.com".into();
    funnel::app::edits::save(
        &mut other,
        funnel::app::edits::FormKind::Rep(Some(rep.id)),
        &values,
        Some(&funnel::app::edits::Base::new(
            rep.version,
            &funnel::app::edits::rep_values(&rep),
        )),
        common::today(),
        &common::actor(),
    )
    .unwrap();
    // This form changes the capacity: refused, the email shown as it is now.
    h.keys("tab tab");
    h.clear_field();
    h.keys("0.5 ctrl-s");
    assert!(h
        .form()
        .error_for("email")
        .is_some_and(|e| e.contains("now 'new@example.com'")));
    let email = |h: &Harness| -> Option<String> {
        h.store
            .connection()
            .query_row("SELECT email FROM reps WHERE id = ?1", [rep.id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    assert_eq!(email(&h).as_deref(), Some("new@example.com"));
    h.keys("ctrl-t ctrl-s");
    assert!(h.app.popup.is_none());
    let capacity: f64 = h
        .store
        .connection()
        .query_row("SELECT capacity FROM reps WHERE id = ?1", [rep.id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        (email(&h).as_deref(), capacity),
        (Some("new@example.com"), 0.5)
    );
}

#[test]
fn setup_adds_and_edits_the_organisation_with_audit() {
    let mut h = Harness::with(import_opportunities);
    h.keys("6");
    assert_eq!(h.app.screen, Screen::Setup);
    let screen = h.screen(100, 30);
    // Teams in tree order, sub-teams indented under their parent.
    assert!(screen.contains("Company West"), "{screen}");
    assert!(screen.contains("  Central"), "{screen}");
    let audit_before: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();

    // A new team under an existing one.
    h.keys("a North tab Company space West ctrl-s");
    assert!(h.app.popup.is_none(), "saved: {:?}", h.app.popup);
    let parent: String = h
        .store
        .connection()
        .query_row(
            "SELECT p.name FROM teams t JOIN teams p ON p.id = t.parent_id WHERE t.name = 'North'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(parent, "Company West");

    // A parent below the team itself is refused at the field, and nothing is written.
    h.keys("g g e tab");
    h.clear_field();
    h.keys("Central ctrl-s");
    let errors = &h.form().errors;
    assert!(
        errors
            .iter()
            .any(|(f, r)| f == "parent" && r.contains("cycle")),
        "{errors:?}"
    );
    h.keys("esc");

    // A rep's capacity, edited on the Reps tab.
    h.keys("l");
    assert_eq!(h.app.setup.tab, funnel::tui::setup::Tab::Reps);
    h.keys("j e tab tab");
    assert_eq!(h.form().kind.fields()[h.form().focus].name, "capacity");
    h.clear_field();
    h.keys("0.75 ctrl-s");
    assert!(h.app.popup.is_none(), "saved: {:?}", h.app.popup);
    let cap: f64 = h
        .store
        .connection()
        .query_row(
            "SELECT capacity FROM reps WHERE name = 'Ben Part'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cap, 0.75);

    // A stage with deals keeps its kind.
    h.keys("l l");
    assert_eq!(h.app.setup.tab, funnel::tui::setup::Tab::Stages);
    h.keys("j j e tab");
    h.clear_field();
    h.keys("open ctrl-s");
    let errors = &h.form().errors;
    assert!(
        errors
            .iter()
            .any(|(f, r)| f == "kind" && r.contains("3 deals")),
        "{errors:?}"
    );
    h.keys("esc");

    // Every change audited: the team insert and the rep update.
    let audit: Vec<(String, String)> = {
        let conn = h.store.connection();
        let mut stmt = conn
            .prepare("SELECT action, entity FROM audit_log WHERE id > ?1 ORDER BY id")
            .unwrap();
        stmt.query_map([audit_before], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        audit,
        vec![
            ("insert".to_string(), "team".to_string()),
            ("update".to_string(), "rep".to_string())
        ]
    );
    for (w, hgt) in [(120, 40), (80, 24), (60, 16)] {
        insta::assert_snapshot!(format!("setup_stages_{w}x{hgt}"), h.screen(w, hgt));
    }
}

#[test]
fn rows_are_deleted_after_asking_and_customers_merged_from_the_screens() {
    let mut h = Harness::new(60, 300);
    let count = |h: &Harness, sql: &str| -> i64 {
        h.store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    // A deal on the board: D asks with what goes with it, n keeps it, y deletes it, u
    // puts it back.
    h.keys("2 enter");
    let (_, card) = h.app.pipeline.selected().unwrap();
    let deal = card.id;
    let alive = format!("SELECT count(*) FROM deals WHERE id = {deal}");
    h.keys("D");
    match &h.app.popup {
        Some(Popup::Confirm {
            question, strong, ..
        }) => {
            assert!(question.starts_with("Delete deal "), "{question}");
            assert!(question.contains("stage change"), "{question}");
            assert!(!strong);
        }
        other => panic!("{other:?}"),
    }
    h.keys("n");
    assert_eq!(count(&h, &alive), 1);
    h.keys("D y");
    assert_eq!(count(&h, &alive), 0);
    assert!(h.app.status.clone().unwrap().0.starts_with("deleted deal "));
    h.keys("u");
    assert_eq!(count(&h, &alive), 1, "undone");

    // A customer with revenue: only F deletes it.
    h.keys("esc 1 enter");
    let paying = h
        .app
        .customers
        .rows
        .iter()
        .position(|r| {
            count(
                &h,
                &format!("SELECT count(*) FROM orders WHERE customer_id = {}", r.id),
            ) > 0
        })
        .unwrap();
    for _ in 0..paying {
        h.keys("j");
    }
    let id = h.app.customers.selected_row().unwrap().id;
    let alive = format!("SELECT count(*) FROM customers WHERE id = {id}");
    h.keys("D");
    assert!(matches!(
        h.app.popup,
        Some(Popup::Confirm { strong: true, .. })
    ));
    h.keys("y");
    assert!(
        h.app.popup.is_some(),
        "y does not delete a customer with revenue"
    );
    assert_eq!(count(&h, &alive), 1);
    h.keys("F");
    assert_eq!(count(&h, &alive), 0);
    h.keys("u");
    assert_eq!(count(&h, &alive), 1);

    // The customer view: tab moves to the timeline, D deletes the activity.
    h.keys("enter");
    let d = h.app.detail.clone().unwrap();
    assert_eq!(d.id, id);
    h.keys("tab j");
    let activity = d.activities[1].id;
    h.keys("D y");
    assert_eq!(
        count(
            &h,
            &format!("SELECT count(*) FROM activities WHERE id = {activity}")
        ),
        0
    );
    // M merges this customer into another, named in a form; the view goes back to the list.
    let (other, other_ext): (i64, String) = h
        .store
        .connection()
        .query_row(
            "SELECT id, external_id FROM customers WHERE id <> ?1 ORDER BY id LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let revenue = count(&h, "SELECT sum(amount_cents) FROM orders");
    h.keys("M");
    h.keys("Nobody-at-all ctrl-s");
    assert!(h.form().error_for("into").is_some());
    h.clear_field();
    h.keys(&other_ext);
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(count(&h, &alive), 0);
    assert_eq!(h.app.screen, Screen::Customers);
    assert_eq!(count(&h, "SELECT sum(amount_cents) FROM orders"), revenue);
    assert!(
        count(
            &h,
            &format!("SELECT count(*) FROM orders WHERE customer_id = {other}")
        ) > 0
    );
}

#[test]
fn pickers_complete_names_and_every_field_error_shows_at_once() {
    let mut h = Harness::new(60, 300);
    let one = |h: &Harness, sql: &str| -> String {
        h.store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let customer = one(
        &h,
        "SELECT name FROM customers ORDER BY length(name) DESC LIMIT 1",
    );
    let product = one(&h, "SELECT name FROM products ORDER BY id LIMIT 1");
    let rep = one(&h, "SELECT name FROM reps ORDER BY id LIMIT 1");
    // Every problem of a form in one round: a bad amount, an unknown customer, an unknown
    // owner and an unknown product.
    h.keys("2 enter a");
    h.keys("Picked-deal tab");
    h.keys("Nobody-Ltd-xyz tab");
    assert_eq!(
        h.form().focus,
        2,
        "no suggestion was highlighted: tab moved on"
    );
    h.keys("lots tab tab");
    h.keys("ZZ-no-product tab tab");
    h.keys("Nobody-Rep-xyz ctrl-s");
    let f = h.form();
    for field in ["customer", "amount", "product", "owner"] {
        assert!(f.error_for(field).is_some(), "{field}: {:?}", f.errors);
    }
    h.keys("esc");

    // A customer by a few of its letters: suggestions come from the database as typed,
    // the best highlighted, tab takes it.
    h.keys("a Picked-deal tab");
    let letters: String = customer
        .split_whitespace()
        .map(|w| w.chars().next().unwrap())
        .collect::<String>()
        .to_lowercase();
    h.keys(&letters);
    let pick = h.form().pick.clone().expect("suggestions");
    assert!(pick.matches.contains(&customer), "{pick:?} for {letters}");
    while h.form().pick.as_ref().unwrap().matches[h.form().pick.as_ref().unwrap().chosen.unwrap()]
        != customer
    {
        h.keys("ctrl-n");
    }
    h.keys("tab");
    assert_eq!(h.form().values[1], customer);
    h.keys("12000 tab tab");
    // The product by part of its name; the owner from the reps.
    let part: String = product.chars().take(4).collect::<String>().to_lowercase();
    h.keys(&part);
    assert_eq!(h.form().pick.as_ref().unwrap().chosen, Some(0));
    h.keys("tab");
    assert!(
        h.form().values[4].eq_ignore_ascii_case(&product)
            || h.form().values[4].to_lowercase().contains(&part),
        "{:?}",
        h.form().values
    );
    h.keys("tab");
    let rep_part: String = rep.split_whitespace().next().unwrap().to_string();
    h.keys(&rep_part);
    h.keys("tab ctrl-s");
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    let saved = one(
        &h,
        "SELECT c.name || '|' || coalesce(p.name, '') || '|' || coalesce(r.name, '') FROM deals d
           JOIN customers c ON c.id = d.customer_id LEFT JOIN products p ON p.id = d.product_id
           LEFT JOIN reps r ON r.id = d.owner_rep_id WHERE d.name = 'Picked-deal'",
    );
    let parts: Vec<&str> = saved.split('|').collect();
    assert_eq!(parts[0], customer);
    assert!(!parts[1].is_empty(), "{saved}");
    assert!(parts[2].starts_with(&rep_part), "{saved}");
}

#[test]
fn text_and_popup_keys_come_from_the_keymap() {
    let mut h = Harness::new(60, 300);
    h.app.keymap = Keymap::with_overrides(
        "[text]\nkill_word = \"ctrl-b\"\ncursor_left = \"left\"\n[question]\nconfirm = \"j\"\ncancel = [\"esc\", \"x\"]\n",
    )
    .unwrap();
    h.keys("/");
    h.keys("acme space corp");
    let ctrl_b = KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL);
    let r = h.app.handle_key(ctrl_b);
    h.run(r);
    assert_eq!(h.app.customers.filter.search, "acme ");
    // `?` lists the popup and text keys too, as remapped.
    h.keys("enter ?");
    assert!(matches!(h.app.popup, Some(Popup::Help { .. })));
    h.keys("word");
    let help = h.screen(100, 60);
    assert!(
        help.contains("in text fields") && help.contains("ctrl-b"),
        "{help}"
    );
    h.keys("esc");
    // The question's keys: j says yes here, y does not.
    h.keys("esc 2 enter W y");
    assert!(
        matches!(h.app.popup, Some(Popup::Confirm { .. })),
        "{:?} {:?} {:?}",
        h.app.screen,
        h.app.popup,
        h.app.status
    );
    let screen = h.screen(100, 30);
    assert!(screen.contains("j: yes"), "{screen}");
    h.keys("x");
    assert!(h.app.popup.is_none());
}

#[test]
fn a_click_selects_the_row_or_pane_under_it() {
    let mut h = Harness::new(60, 300);
    let click = MouseEventKind::Down(MouseButton::Left);
    // Dashboard: a click in the funnel pane (top right) focuses it.
    let screen = h.screen(120, 40);
    // The screen's text quotes each line: columns count characters after the quote.
    let locate = |screen: &str, needle: &str| -> (u16, u16) {
        screen
            .lines()
            .enumerate()
            .find_map(|(y, l)| {
                l.find(needle)
                    .map(|b| (l[..b].chars().count() as u16 - 1, y as u16))
            })
            .unwrap()
    };
    let (col, row) = locate(&screen, "2 Funnel");
    h.mouse(click, col + 4, row + 2);
    assert_eq!(h.app.pane, Pane::Funnel);
    // The customer list: a click on the fourth row selects it; the keys go on from there.
    h.keys("1 enter");
    let screen = h.screen(120, 40);
    let y = screen
        .lines()
        .position(|l| l.contains("Name") && l.contains("Owner"))
        .unwrap() as u16;
    h.mouse(click, 10, y + 4);
    assert_eq!(h.app.customers.selected, 3);
    h.keys("j");
    assert_eq!(h.app.customers.selected, 4);
    // Below the last row: nothing changes.
    h.mouse(click, 10, 39);
    assert_eq!(h.app.customers.selected, 4);
    // The board: a click on the second card of the third column.
    h.keys("esc 2 enter");
    let screen = h.screen(120, 40);
    let third = &h.app.pipeline.board.as_ref().unwrap().columns[2].name;
    let (col, top) = locate(&screen, &format!(" {third} · "));
    h.mouse(click, col + 2, top + 1 + 3);
    assert_eq!(h.app.pipeline.column, 2);
    assert_eq!(h.app.pipeline.rows[2], 1);
}

#[test]
fn paging_is_answered_while_a_recompute_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lanes.db");
    drop(demo_store_at(&path, 300, 3000));
    let (to_worker, replies, worker) = lanes(path);
    to_worker.send(Request::Recompute).unwrap();
    // Once the recompute is under way, a page of customers is asked for…
    loop {
        if let Reply::Progress {
            task: "recompute", ..
        } = replies.recv().unwrap()
        {
            break;
        }
    }
    to_worker
        .send(Request::Customers {
            gen: 1,
            filter: CustomerFilter::default(),
            sort: funnel::store::customers::CustomerSort::default(),
            cursor: None,
            direction: funnel::store::customers::PageDirection::Forward,
            limit: 20,
            anchor: worker::Anchor::Replace { first_index: 0 },
            count: false,
        })
        .unwrap();
    // …and comes back before the recompute is done: the two run on separate lanes.
    let mut order = Vec::new();
    while order.len() < 2 {
        match replies.recv().unwrap() {
            Reply::Customers { .. } => order.push("customers"),
            Reply::TaskDone {
                task: "recompute",
                result,
            } => {
                assert!(result.is_ok(), "{result:?}");
                order.push("recompute")
            }
            _ => {}
        }
    }
    assert_eq!(order, ["customers", "recompute"]);
    drop(to_worker);
    worker.join().unwrap();
}

/// `ctrl-g` (CancelJob) stops the background job under way: the recompute's reply is an
/// error, then `Cancelled`; nothing of it is stored; the next job runs normally.
#[test]
fn a_running_recompute_is_cancelled_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cancel.db");
    drop(demo_store_at(&path, 300, 3000));
    let runs = |path: &std::path::Path| -> i64 {
        Store::open(path)
            .unwrap()
            .connection()
            .query_row("SELECT count(*) FROM forecast_runs", [], |r| r.get(0))
            .unwrap()
    };
    let before = runs(&path);
    let (to_worker, replies, worker) = lanes(path.clone());
    to_worker.send(Request::Recompute).unwrap();
    loop {
        if let Reply::Progress {
            task: "recompute", ..
        } = replies.recv().unwrap()
        {
            break;
        }
    }
    to_worker.send(Request::CancelJob).unwrap();
    let done = recompute_result(&replies);
    assert!(done.is_err(), "{done:?}");
    assert_eq!(replies.recv().unwrap(), Reply::Cancelled("recomputing"));
    assert_eq!(runs(&path), before, "a cancelled recompute stores nothing");
    // The UI says so and clears the task.
    let mut h = Harness::new(3, 30);
    h.reply(Reply::Progress {
        task: "recompute",
        phase: "fitting".into(),
        done: 0.5,
    });
    let sent = h
        .app
        .handle_key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL));
    assert_eq!(sent, [Request::CancelJob]);
    assert_eq!(h.app.status.as_ref().unwrap().0, "cancelling…");
    h.reply(Reply::Cancelled("recomputing"));
    assert!(h.app.task.is_none());
    assert!(h
        .app
        .status
        .as_ref()
        .unwrap()
        .0
        .starts_with("cancelled recomputing"));
    // The next job is not cancelled.
    to_worker.send(Request::Recompute).unwrap();
    let again = recompute_result(&replies);
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(runs(&path), before + 1);
    drop(to_worker);
    worker.join().unwrap();
}

/// What the next finished recompute answered (replies before it are skipped).
fn recompute_result(replies: &std::sync::mpsc::Receiver<Reply>) -> Result<String, String> {
    loop {
        if let Reply::TaskDone {
            task: "recompute",
            result,
        } = replies.recv().unwrap()
        {
            return result;
        }
    }
}

/// The real worker (both lanes) on a database with data, once it has opened it.
fn lanes(
    path: std::path::PathBuf,
) -> (
    std::sync::mpsc::Sender<Request>,
    std::sync::mpsc::Receiver<Reply>,
    std::thread::JoinHandle<()>,
) {
    let (to_worker, requests) = std::sync::mpsc::channel();
    let (events, replies) = std::sync::mpsc::channel::<Reply>();
    fn same(r: Reply) -> Reply {
        r
    }
    let worker = worker::spawn(path, common::today(), requests, events, same);
    assert!(matches!(
        replies.recv().unwrap(),
        Reply::Opened { empty: false }
    ));
    (to_worker, replies, worker)
}

fn demo_store_at(path: &std::path::Path, customers: usize, deals: usize) -> Store {
    let mut store = Store::open(path).unwrap();
    fill_demo(&mut store, customers, deals);
    store
}

#[test]
fn keys_shared_with_the_dashboard_work_on_the_forecast_screen() {
    let mut h = Harness::new(60, 300);
    h.keys("4 enter");
    assert_eq!(h.app.screen, Screen::Forecast);
    // `/` searches customers from here as from the dashboard (they share a keymap).
    h.keys("/");
    assert_eq!(h.app.screen, Screen::Customers);
    assert!(h.app.customers.editing_search);
}

/// The shared data table keeps its view between frames: after scrolling down, moving back
/// up inside the view moves the highlight, not the rows; leaving the view at the top
/// scrolls one row.
#[test]
fn a_scrolled_list_moves_the_highlight_before_the_rows() {
    let mut h = Harness::new(300, 1500);
    h.keys("enter");
    assert_eq!(h.app.screen, Screen::Customers);
    // 20 lines: a bar, the border, the header and the status line leave 15 rows.
    for _ in 0..30 {
        h.keys("j");
        h.screen(120, 20);
    }
    assert_eq!(h.app.customers.selected, 30);
    let top = h.app.customers.scroll.top();
    assert!(top > 0 && top <= 30 && 30 < top + 20, "top {top}");
    let first_shown = h.nth_customer_by_name(top + 1, "");
    h.keys("k k k");
    let screen = h.screen(120, 20);
    assert_eq!(h.app.customers.selected, 27);
    assert_eq!(h.app.customers.scroll.top(), top, "the rows stay put");
    assert!(screen.contains(&first_shown[..first_shown.len().min(20)]));
    // Up to the first row shown, then one more: the list scrolls by one.
    while h.app.customers.selected > top {
        h.keys("k");
        h.screen(120, 20);
    }
    assert_eq!(h.app.customers.scroll.top(), top);
    h.keys("k");
    h.screen(120, 20);
    assert_eq!(h.app.customers.scroll.top(), top - 1);
}

/// Whether every row of the customer list's window passes.
fn every_row(h: &Harness, f: impl Fn(&funnel::domain::customers::CustomerRow) -> bool) -> bool {
    h.app.customers.rows.iter().all(f)
}

#[test]
fn the_list_sorts_and_filters_on_the_stored_customer_intelligence() {
    // Opening a database without forecasts recomputes: customer intelligence included.
    let mut h = Harness::new(300, 1500);
    let stored: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM customer_intel WHERE predicted_value_cents IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored > 100, "{stored} customers valued");
    h.keys("enter s s s s");
    assert_eq!(h.app.customers.sort, CustomerSort::PredictedValue);
    // Walking down the list across page boundaries gives exactly the store's order:
    // highest predicted value first, customers without a value last.
    let all = funnel::app::customer_page(
        &h.store,
        &CustomerFilter::default(),
        CustomerSort::PredictedValue,
        None,
        funnel::store::customers::PageDirection::Forward,
        10_000,
    )
    .unwrap();
    assert_eq!(all.len(), 300);
    let mut seen = vec![h.app.customers.selected_row().unwrap().id];
    for _ in 0..299 {
        h.keys("j");
        seen.push(h.app.customers.selected_row().unwrap().id);
    }
    assert_eq!(seen, all.iter().map(|r| r.id).collect::<Vec<_>>());
    let values: Vec<i64> = all
        .iter()
        .map(|r| r.predicted_value.map(|m| m.0).unwrap_or(-1))
        .collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "descending");
    assert!(values[0] > 0 && values[299] == -1);
    // And back up again (pages read backwards).
    for _ in 0..299 {
        h.keys("k");
    }
    assert_eq!(h.app.customers.selected_row().unwrap().id, all[0].id);
    // Churn risk, highest first.
    h.keys("s");
    assert_eq!(h.app.customers.sort, CustomerSort::ChurnRisk);
    let risks: Vec<f64> = h
        .app
        .customers
        .rows
        .iter()
        .map(|r| r.churn_risk.unwrap_or(-1.0))
        .collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
    let screen = h.screen(120, 40);
    assert!(screen.contains("sort: churn risk ↓"), "{screen}");
    assert!(
        screen.contains("RFM segment") && screen.contains("Pred 12m"),
        "{screen}"
    );

    // Tier A: a fifth of the valued customers, every row tier A.
    h.keys("T");
    assert_eq!(h.app.customers.filter.tier.as_deref(), Some("A"));
    let a = h.app.customers.total.unwrap();
    assert_eq!(a, (stored + 4) / 5, "top 20% of {stored}");
    assert!(every_row(&h, |r| r.tier.as_deref() == Some("A")));
    h.keys("T T T");
    assert_eq!(h.app.customers.filter.tier, None);
    // Churn risk at least 50%.
    h.keys("C C");
    assert_eq!(h.app.customers.filter.min_churn_pct, Some(50));
    assert!(every_row(&h, |r| r.churn_risk.is_some_and(|c| c >= 0.5)));
    h.keys("x");
    // A least predicted value, typed; a value that is not an amount keeps the popup open.
    h.keys("V a b c enter");
    assert!(matches!(h.app.popup, Some(Popup::Filter { .. })));
    assert!(
        h.app.status.as_ref().is_some_and(|s| s.1),
        "{:?}",
        h.app.status
    );
    h.keys("bs bs bs 2 0 0 0 0 enter");
    assert_eq!(h.app.customers.filter.min_predicted_cents, Some(2_000_000));
    assert!(every_row(&h, |r| r
        .predicted_value
        .is_some_and(|m| m.0 >= 2_000_000)));
    let n = h.app.customers.total.unwrap();
    assert!(n > 0 && n < stored, "{n} of {stored}");
    h.keys("x");
    // The RFM segments cycle through the last run's names.
    let names = h.app.segments.names();
    assert!(!names.is_empty());
    h.keys("F");
    assert_eq!(h.app.customers.filter.rfm_segment.as_ref(), Some(&names[0]));
    assert!(every_row(&h, |r| r.rfm_segment.as_ref() == Some(&names[0])));
}

#[test]
fn the_segments_screen_lists_a_segments_customers_and_the_detail_explains_the_customer() {
    let mut h = Harness::new(300, 1500);
    h.keys("8");
    assert_eq!(h.app.screen, Screen::Segments);
    let o = h.app.segments.overview.clone().expect("loaded");
    let run = o.segments.expect("a segment run");
    assert_eq!(
        run.profiles.iter().map(|p| p.customers).sum::<usize>(),
        o.run.as_ref().unwrap().valued,
        "every valued customer is in a segment"
    );
    let screen = h.screen(120, 40);
    for p in &run.profiles {
        assert!(screen.contains(&p.name), "{screen}");
    }
    h.keys("G enter");
    let last = run.profiles.last().unwrap();
    assert_eq!(h.app.screen, Screen::Customers);
    assert_eq!(
        h.app.customers.filter.rfm_segment.as_ref(),
        Some(&last.name)
    );
    assert_eq!(h.app.customers.total, Some(last.customers as i64));
    // The detail of one of them: segment, tier, P(alive), need and offers.
    h.keys("enter");
    let d = h.app.detail.clone().expect("loaded");
    let intel = d.intel.expect("values stored");
    assert_eq!(intel.segment.as_ref(), Some(&last.name));
    assert_eq!(d.segment_history.len(), 1);
    assert_eq!(intel.offers.len(), 3);
    let screen = h.screen(120, 40);
    assert!(screen.contains("Insight as of 2026-11-22"), "{screen}");
    assert!(
        screen.contains(&format!("RFM segment {}", last.name)),
        "{screen}"
    );
    assert!(screen.contains("offer 1"), "{screen}");
    // A second recompute stores a second run: the history grows and moves are counted.
    h.keys("esc esc esc 8 R");
    let o = h.app.segments.overview.clone().unwrap();
    assert_eq!(o.previous_run, Some(run.id));
    assert!(h
        .screen(120, 40)
        .contains(&format!("Moved since run {}", run.id)));
}

#[test]
fn a_logged_activity_can_be_tied_to_one_of_the_customers_deals() {
    let mut h = Harness::new(100, 400);
    // A customer with two deals of one name: the name is ambiguous, the external id not.
    let (customer, deal, deal_name, deal_ext): (i64, i64, String, String) = h
        .store
        .connection()
        .query_row(
            "SELECT customer_id, id, name, external_id FROM deals d
             WHERE (SELECT count(*) FROM deals e WHERE e.customer_id = d.customer_id AND e.name = d.name) > 1
             ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let form = |deal: &str| Request::SaveForm {
        kind: funnel::app::edits::FormKind::Activity {
            customer_id: customer,
            completes: None,
        },
        values: vec![
            ("kind".into(), "call".into()),
            ("subject".into(), "Pricing".into()),
            ("done_on".into(), "2026-11-20".into()),
            ("deal".into(), deal.into()),
            ("follow_up".into(), "2026-11-27".into()),
        ],
        base: None,
    };
    // A deal the customer does not have is refused at the field; nothing is written.
    let before: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM activities", [], |r| r.get(0))
        .unwrap();
    let mut replies = Vec::new();
    worker::handle(
        &mut h.store,
        &mut h.cache,
        form("No Such Deal"),
        common::today(),
        &mut |r| replies.push(r),
    );
    assert!(
        matches!(&replies[..], [Reply::FormSaved(Err(funnel::app::edits::SaveError::Fields(f)))] if f.iter().any(|(n, m)| n == "deal" && m.contains("no deal"))),
        "{replies:?}"
    );
    let mut replies = Vec::new();
    worker::handle(
        &mut h.store,
        &mut h.cache,
        form(&deal_name.to_uppercase()),
        common::today(),
        &mut |r| replies.push(r),
    );
    assert!(
        matches!(&replies[..], [Reply::FormSaved(Err(funnel::app::edits::SaveError::Fields(f)))] if f[0].1.contains("give the external id")),
        "{replies:?}"
    );
    let mut replies = Vec::new();
    worker::handle(
        &mut h.store,
        &mut h.cache,
        form(&deal_ext),
        common::today(),
        &mut |r| replies.push(r),
    );
    assert!(
        matches!(&replies[..], [Reply::FormSaved(Ok(_))]),
        "{replies:?}"
    );
    let tied: Vec<(Option<i64>, Option<String>)> = h
        .store
        .connection()
        .prepare("SELECT deal_id, done_on FROM activities ORDER BY id DESC LIMIT 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The call and its follow-up, both tied to the deal.
    assert_eq!(
        tied,
        [(Some(deal), None), (Some(deal), Some("2026-11-20".into()))]
    );
    let after: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM activities", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, before + 2);
}

/// The Agenda screen: today's and overdue follow-ups, the visit plan with priorities; `n`
/// on a planned customer logs the visit with its outcome and next follow-up; `x` marks a
/// follow-up done, `z` snoozes one; the rules' alerts show on the dashboard with a count.
#[test]
fn the_agenda_logs_a_planned_visit_and_moves_follow_ups() {
    let mut h = Harness::new(300, 1500);
    let count = |h: &Harness, sql: &str| -> i64 {
        h.store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    h.keys("9");
    assert_eq!(h.app.screen, Screen::Agenda);
    let data = h.app.agenda.data.clone().expect("loaded");
    let rep = data
        .rep
        .clone()
        .expect("the rep with the most due is chosen");
    assert!(!data.items.is_empty());
    assert!(!data.plan.is_empty(), "a plan for {rep}");
    assert!(data
        .items
        .iter()
        .all(|i| i.rep.as_deref() == Some(rep.as_str())));
    // The plan: log a visit to the first planned customer, with an outcome and follow-up.
    h.keys("tab");
    let planned = data.plan[0].visit.clone();
    assert!(h.screen(120, 40).contains(&planned.customer));
    // S keeps the plan; the list then says how the saved plan is going.
    h.keys("S");
    let saved: i64 = h
        .store
        .connection()
        .query_row("SELECT count(*) FROM plan_visits", [], |r| r.get(0))
        .unwrap();
    assert_eq!(saved as usize, data.plan.len());
    let shown = h.screen(160, 40);
    assert!(shown.contains("saved plan #1"), "{shown}");
    assert!(
        shown.contains(&format!("0 of {} done", data.plan.len())),
        "{shown}"
    );
    let before = count(&h, "SELECT count(*) FROM activities");
    h.keys("n");
    assert_eq!(h.form().values[0], "visit");
    let outcome = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "outcome")
        .unwrap();
    let follow = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "follow_up")
        .unwrap();
    while h.form().focus != outcome {
        h.keys("tab");
    }
    h.keys("ordered");
    while h.form().focus != follow {
        h.keys("tab");
    }
    h.keys("2026-12-01 ctrl-s");
    assert!(h.app.popup.is_none(), "saved: {:?}", h.app.status);
    assert_eq!(count(&h, "SELECT count(*) FROM activities"), before + 2);
    let logged = count(
        &h,
        &format!(
            "SELECT count(*) FROM activities WHERE customer_id = {} AND kind = 'visit'
             AND done_on = '2026-11-22' AND outcome = 'ordered'",
            planned.customer_id
        ),
    );
    assert_eq!(logged, 1);
    // Due: mark the first follow-up done, snooze the next.
    h.keys("tab tab tab");
    assert_eq!(h.app.agenda.pane, funnel::tui::agenda::AgendaPane::Due);
    let items = h.app.agenda.data.clone().unwrap().items;
    let first = items
        .iter()
        .position(|i| i.activity_id.is_some())
        .expect("a follow-up");
    for _ in 0..first {
        h.keys("j");
    }
    let id = items[first].activity_id.unwrap();
    h.keys("x");
    assert_eq!(
        count(
            &h,
            &format!("SELECT count(*) FROM activities WHERE id = {id} AND done_on = '2026-11-22'")
        ),
        1,
        "{:?}",
        h.app.status
    );
    let items = h.app.agenda.data.clone().unwrap().items;
    assert!(
        items.iter().all(|i| i.activity_id != Some(id)),
        "gone from the list"
    );
    let next = items
        .iter()
        .position(|i| i.activity_id.is_some())
        .expect("another");
    h.keys("g g");
    for _ in 0..next {
        h.keys("j");
    }
    let id = items[next].activity_id.unwrap();
    h.keys("z");
    assert_eq!(h.form().values[0], "2026-11-23", "tomorrow by default");
    h.keys("ctrl-s");
    assert_eq!(
        count(
            &h,
            &format!("SELECT count(*) FROM activities WHERE id = {id} AND due_on = '2026-11-23'")
        ),
        1
    );
    let audited = count(
        &h,
        &format!("SELECT count(*) FROM audit_log WHERE entity = 'activity' AND entity_id = {id} AND action = 'update'"),
    );
    assert_eq!(audited, 1);
    // An alert from a rule: counted on the dashboard, listed on the agenda, dismissed.
    h.store
        .connection()
        .execute(
            "INSERT INTO rule_actions(rule, key, action, message, created_at)
             VALUES ('r', 'k', 'alert', 'a big deal slipped', '2026-11-22T08:00:00Z')",
            [],
        )
        .unwrap();
    h.keys("esc");
    h.run(vec![Request::Dashboard]);
    let top = h.screen(120, 40);
    assert!(
        top.contains("1 alert(s) · 9: agenda"),
        "{}",
        top.lines().next().unwrap()
    );
    h.keys("9 tab tab");
    assert!(h.screen(120, 40).contains("a big deal slipped"));
    h.keys("x");
    assert_eq!(
        count(
            &h,
            "SELECT count(*) FROM rule_actions WHERE dismissed_at IS NOT NULL"
        ),
        1
    );
    // The allocation, solved on the worker.
    h.keys("A");
    let a = h.app.agenda.allocation.clone().expect("solved");
    assert!(a.lp_cents >= a.greedy_cents);
    assert!(h.screen(120, 40).contains("Allocation 2026-11"));
}

/// `n` on the pipeline board logs a call on the selected deal: the form comes with the
/// deal (its external id), its customer and owner, and the activity is tied to the deal.
#[test]
fn a_call_is_logged_on_a_deal_from_the_board() {
    let mut h = Harness::new(300, 1500);
    h.keys("2 enter");
    assert_eq!(h.app.screen, Screen::Pipeline);
    let (_, card) = h.app.pipeline.selected().expect("a deal on the board");
    let card = card.clone();
    h.keys("n");
    let deal_field = h
        .form()
        .kind
        .fields()
        .iter()
        .position(|f| f.name == "deal")
        .unwrap();
    assert_eq!(
        h.form().values[deal_field],
        card.external_id.clone().unwrap_or(card.name.clone())
    );
    h.keys("ctrl-s");
    assert!(h.app.popup.is_none(), "saved: {:?}", h.app.status);
    let tied: i64 = h
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM activities WHERE deal_id = ?1 AND customer_id = ?2
             AND done_on = '2026-11-22' AND kind = 'call'",
            [card.id, card.customer_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tied, 1);
}
