//! TUI at scale: time from start to the first full dashboard frame, the cost of a key
//! press plus redraw while scrolling the customer list, and peak memory.
//!
//!     FUNNEL_BENCH_DB=/path/to/big.db cargo bench --bench tui
//!
//! FUNNEL_BENCH_DB names a database to open (for example one made with
//! `funnel demo --customers 100000 --deals 1000000`); without it a demo of
//! FUNNEL_BENCH_CUSTOMERS / FUNNEL_BENCH_DEALS (default 100,000 / 1,000,000) is generated
//! first, which takes about half a minute. The frame is drawn on ratatui's TestBackend at
//! 120x40, so the figures are the app's own work, not the terminal's.

mod common;
use criterion::Criterion;
use funnel::store::Store;
use funnel::tui::keymap::Keymap;
use funnel::tui::state::App;
use funnel::tui::theme::Theme;
use funnel::tui::worker::{self, Reply, Request};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::time::Instant;

fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Runs requests to completion; returns those it was told to hold back (background work
/// that follows the first frame).
fn drain(
    app: &mut App,
    store: &mut Store,
    today: chrono::NaiveDate,
    mut requests: Vec<Request>,
    hold: fn(&Request) -> bool,
) -> Vec<Request> {
    let mut held = Vec::new();
    while !requests.is_empty() {
        let mut replies: Vec<Reply> = Vec::new();
        for r in requests.drain(..) {
            if hold(&r) {
                held.push(r);
                continue;
            }
            worker::handle(
                store,
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
    held
}

fn nothing(_: &Request) -> bool {
    false
}

/// What the first frame does not wait for: the forecast recompute (only on a database
/// without a stored run) and the stage conversions, which arrive a moment later.
fn background(r: &Request) -> bool {
    matches!(r, Request::Recompute | Request::Conversions)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    let path = common::bench_db(dir.path(), "tui.db", today);

    // Start to first full frame: open the database, load the dashboard and the first page
    // of customers, draw.
    let started = Instant::now();
    let mut store = Store::open(&path).expect("open");
    let mut app = App::new(
        Keymap::defaults(),
        Theme::default_dark(),
        today,
        "bench".into(),
        None,
    );
    let empty = store.is_empty().expect("is_empty");
    let out = app.on_reply(Reply::Opened { empty });
    let later = drain(&mut app, &mut store, today, out, background);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal
        .draw(|f| funnel::tui::view::render(&app, f))
        .expect("draw");
    let first_frame = started.elapsed();
    let conversions: Vec<Request> = later
        .into_iter()
        .filter(|r| matches!(r, Request::Conversions))
        .collect();
    drain(&mut app, &mut store, today, conversions, nothing);
    terminal
        .draw(|f| funnel::tui::view::render(&app, f))
        .expect("draw");
    let with_conversion = started.elapsed();
    let customers = app.customers.total.unwrap_or(0);
    println!(
        "start to first full dashboard frame ({customers} customers): {:.1} ms",
        first_frame.as_secs_f64() * 1e3
    );
    println!(
        "  … and with stage conversions filled in: {:.1} ms",
        with_conversion.as_secs_f64() * 1e3
    );
    assert!(app.dashboard.is_some(), "dashboard loaded");

    let mut c = Criterion::default().configure_from_args().sample_size(50);

    // The customer intelligence the value sorts read: recomputed as `R` does after the
    // forecasts (segments, lifetime value, needs, offers; stored in one transaction).
    let started = Instant::now();
    let intel = funnel::app::intel::recompute(&mut store, today, &mut |_, _| {})
        .expect("customer intelligence");
    println!(
        "customer intelligence recompute ({} customers, {} valued, {} with a need): {:.1} s",
        intel.run.customers,
        intel.run.valued,
        intel.with_need,
        started.elapsed().as_secs_f64()
    );
    // One page of 100 from the middle of the list, by name and by each value: the value
    // sorts walk their own index as the name sort walks its own.
    use funnel::domain::customers::{Cursor, CustomerFilter, CustomerSort, PageDirection};
    let filter = CustomerFilter::default();
    let sorts = [
        CustomerSort::Name,
        CustomerSort::PredictedValue,
        CustomerSort::ChurnRisk,
        CustomerSort::LifetimeValue,
    ];
    for sort in sorts {
        let page = |cursor: Option<&Cursor>, limit: usize| {
            funnel::app::customer_page(&store, &filter, sort, cursor, PageDirection::Forward, limit)
                .expect("page")
        };
        let middle = page(None, customers as usize / 2).pop().expect("a row");
        let cursor = Cursor {
            sort_key: middle.sort_key,
            id: middle.id,
        };
        let name = format!("customers: page of 100 mid-list by {}", sort.label());
        c.bench_function(&name, |b| b.iter(|| page(Some(&cursor), 100)));
    }

    // Scrolling: a key press through update, any page it needs, and a redraw; by name and
    // by predicted value.
    let out = app.update(funnel::tui::action::Action::Open);
    drain(&mut app, &mut store, today, out, nothing);
    let j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    for sort in &sorts[..2] {
        app.customers.sort = *sort;
        let out = app.reload_customers();
        drain(&mut app, &mut store, today, out, nothing);
        let name = format!("customers by {}: key j + redraw (120x40)", sort.label());
        c.bench_function(&name, |b| {
            b.iter(|| {
                let out = app.handle_key(j);
                drain(&mut app, &mut store, today, out, nothing);
                terminal
                    .draw(|f| funnel::tui::view::render(&app, f))
                    .expect("draw");
            })
        });
        println!("scrolled to row {} of {customers}", app.customers.selected);
    }
    c.final_summary();
    if let Some(p) = peak_mib() {
        println!("peak memory of this process: {p:.0} MiB");
    }
}
