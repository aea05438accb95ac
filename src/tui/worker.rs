//! The worker thread: it owns its own database connection and runs every query and model
//! so the UI thread never waits. Requests carry a generation; the UI drops stale replies,
//! and the worker skips queued requests that a newer one of the same kind replaces.

use crate::app;
use crate::app::dashboard::Dashboard;
use crate::app::Db as Store;
use crate::domain::audit::Actor;
use crate::domain::customers::{
    Cursor, CustomerDetail, CustomerFilter, CustomerRow, CustomerSort, PageDirection,
};
use chrono::NaiveDate;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

/// How a page of customers joins the rows the list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Replace the window; its first row is at this absolute index.
    Replace { first_index: usize },
    /// Rows that follow the window.
    Append,
    /// Rows that precede the window.
    Prepend,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Dashboard,
    Customers {
        gen: u64,
        filter: CustomerFilter,
        sort: CustomerSort,
        cursor: Option<Cursor>,
        direction: PageDirection,
        limit: usize,
        anchor: Anchor,
        /// Also count the matching customers (on a new filter).
        count: bool,
    },
    LoadDemo,
    Recompute,
    /// The organisation for the Setup screen.
    Setup,
    /// Takes back the last edit, move, won or lost of this session.
    Undo,
    /// A page of the audit trail, newest first, older than `before_id`.
    Audit {
        before_id: Option<i64>,
    },
    /// View everything as of another day (the last day with data, or back to today).
    SetToday(NaiveDate),
    CustomerDetail {
        gen: u64,
        id: i64,
    },
    Conversions,
    Board,
    StuckThresholds,
    MoveDeal {
        deal_id: i64,
        to: crate::domain::deals::Move,
    },
    SaveForm {
        kind: app::edits::FormKind,
        values: Vec<(String, String)>,
        /// What the form read of the edited row (`None` for a new row).
        base: Option<app::edits::Base>,
    },
    /// Why an open deal has its win probability.
    Explain {
        deal_id: i64,
    },
    /// Every target of a period and metric with where it stands.
    Targets {
        period: crate::domain::Period,
        metric: crate::domain::TargetMetric,
    },
    /// A proposal from a propose-targets form, to review.
    Propose {
        values: Vec<(String, String)>,
    },
    SaveProposal(Box<app::targets::Proposal>),
    /// The options of a form's pickers.
    PickLists,
    /// Customers matching what is typed into a customer picker.
    PickCustomers {
        text: String,
    },
    /// What deleting a row would take with it, to ask before deleting.
    PlanRemoval {
        entity: app::Entity,
        id: i64,
    },
    Remove {
        entity: app::Entity,
        id: i64,
        force: bool,
    },
    Report {
        name: String,
        by: Option<String>,
    },
    ExportReport {
        report: Box<app::reports::Report>,
        by: Option<String>,
    },
    /// The Segments screen's data: the last recompute's segments, moves and tiers.
    Segments,
    /// The Agenda screen's data.
    Agenda {
        whose: app::agenda::Whose,
    },
    /// A follow-up done today (the Agenda screen's `x`).
    AgendaDone {
        id: i64,
    },
    DismissAlert {
        id: i64,
    },
    /// This month's hours allocated to accounts.
    Allocate,
    /// How the stored models do against what happened since (the Forecast screen).
    Monitoring,
    /// Saves the plan shown for a rep.
    SavePlan {
        rep: String,
        method: String,
        plan: Vec<app::plan::Planned>,
    },
    /// Stops the background job that is running (a recompute, a report, the demo…): its
    /// statements fail as interrupted and what it was writing is rolled back.
    CancelJob,
}

/// Which worker thread runs a request: long jobs (learning, recomputing, reports, the
/// demo) run beside the quick ones, so that paging and search never wait behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Interactive,
    Background,
}

impl Request {
    pub fn lane(&self) -> Lane {
        match self {
            Request::LoadDemo
            | Request::Recompute
            | Request::Conversions
            | Request::StuckThresholds
            | Request::Explain { .. }
            | Request::Report { .. }
            | Request::ExportReport { .. }
            | Request::Propose { .. }
            | Request::Allocate
            | Request::Monitoring => Lane::Background,
            _ => Lane::Interactive,
        }
    }

    /// What a background job is called in messages.
    fn job_name(&self) -> &'static str {
        match self {
            Request::LoadDemo => "loading the demo",
            Request::Recompute => "recomputing",
            Request::Conversions => "stage conversions",
            Request::StuckThresholds => "stuck-deal thresholds",
            Request::Explain { .. } => "explaining the deal",
            Request::Report { .. } => "the report",
            Request::ExportReport { .. } => "the export",
            Request::Propose { .. } => "the proposal",
            Request::Allocate => "the allocation",
            _ => "the request",
        }
    }

    /// Requests of the same kind replace each other in the queue.
    /// `None` for requests that never replace another (every deal move is kept).
    fn kind(&self) -> Option<u8> {
        Some(match self {
            Request::Dashboard => 0,
            Request::Customers { .. } => 1,
            Request::LoadDemo => 2,
            Request::Recompute => 3,
            Request::CustomerDetail { .. } => 4,
            Request::Conversions => 5,
            Request::Board => 6,
            Request::StuckThresholds => 7,
            Request::Explain { .. } => 8,
            Request::Targets { .. } => 9,
            Request::Report { .. } => 10,
            Request::Setup => 11,
            Request::PickCustomers { .. } => 12,
            Request::PickLists => 13,
            Request::Segments => 14,
            Request::Agenda { .. } => 15,
            Request::Allocate => 16,
            Request::Monitoring => 17,
            Request::MoveDeal { .. }
            | Request::SaveForm { .. }
            | Request::AgendaDone { .. }
            | Request::SavePlan { .. }
            | Request::DismissAlert { .. }
            | Request::Propose { .. }
            | Request::SaveProposal(_)
            | Request::PlanRemoval { .. }
            | Request::Remove { .. }
            | Request::ExportReport { .. }
            | Request::Audit { .. }
            | Request::Undo
            | Request::CancelJob
            | Request::SetToday(_) => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Setup(Result<crate::domain::setup::Organisation, String>),
    /// What `u` took back, or why it could not.
    Undone(Result<String, String>),
    RemovalPlan(Result<app::RemovalPlan, String>),
    PickLists(Result<std::collections::HashMap<app::edits::Pick, Vec<String>>, String>),
    PickCustomers {
        text: String,
        names: Vec<String>,
    },
    Removed(Result<String, String>),
    Audit {
        before_id: Option<i64>,
        page: Result<Vec<crate::domain::audit::AuditEntry>, String>,
    },
    Segments(Result<Box<app::intel::Overview>, String>),
    Agenda(Result<Box<app::agenda::Screen>, String>),
    Allocation(Result<Box<app::allocate::Allocated>, String>),
    /// A follow-up done or an alert dismissed (the message), or why not.
    AgendaChanged(Result<String, String>),
    Monitoring(Result<Vec<String>, String>),
    Opened {
        empty: bool,
    },
    CustomerDetail {
        gen: u64,
        detail: Result<Option<Box<CustomerDetail>>, String>,
    },
    Dashboard(Result<Box<Dashboard>, String>),
    Conversions(Result<std::collections::HashMap<String, f64>, String>),
    Board(Result<Box<app::board::Board>, String>),
    StuckThresholds(Result<std::collections::HashMap<i64, f64>, String>),
    Moved(Result<String, String>),
    FormSaved(Result<String, app::edits::SaveError>),
    Explanation(Result<Box<app::scoring::Explanation>, String>),
    Targets {
        period: crate::domain::Period,
        metric: crate::domain::TargetMetric,
        rows: Result<Vec<app::targets::TargetStatus>, String>,
    },
    Proposal(Result<Box<app::targets::Proposal>, app::edits::FormErrors>),
    Report(Result<Box<app::reports::Report>, String>),
    /// A file written, or why not.
    Exported(Result<String, String>),
    Customers {
        gen: u64,
        anchor: Anchor,
        rows: Result<Vec<CustomerRow>, String>,
        total: Option<i64>,
    },
    Progress {
        task: &'static str,
        phase: String,
        done: f64,
    },
    TaskDone {
        task: &'static str,
        result: Result<String, String>,
    },
    /// A background job was stopped by `CancelJob` (its own reply, an error, came first).
    Cancelled(&'static str),
}

/// What the worker keeps between requests: the last learned win-probability model, so
/// explaining a deal does not relearn it (dropped whenever the data changes).
#[derive(Default)]
pub struct Cache {
    /// The learned model and the data version it was learned on (the other lane may have
    /// written since: a model of older data is learned again).
    scored: Option<(String, app::scoring::Scored)>,
    /// The session's edits, moves, wins and losses, newest last: the audit entries each
    /// wrote (after, up to] and what it was, for `u`.
    undo: Vec<(i64, i64, String)>,
    /// The day the screens are viewed as of, when the user moved it (`SetToday`).
    as_of: Option<NaiveDate>,
}

/// Keeps an action that wrote something on the undo list: the audit entries it wrote and
/// what it did (its message).
fn remember<E>(store: &Store, cache: &mut Cache, before: i64, result: &Result<String, E>) {
    if let Ok(what) = result {
        if let Ok(after) = app::audit_high_water(store) {
            if after > before {
                cache.undo.push((before, after, what.clone()));
            }
        }
    }
}

/// The Agenda screen's requests: its data, a follow-up done, a plan saved, an alert
/// dismissed, the allocation.
fn agenda(store: &mut Store, req: Request, today: NaiveDate, send: &mut dyn FnMut(Reply)) {
    match req {
        Request::Agenda { whose } => send(Reply::Agenda(
            app::agenda::screen(store, &whose, today)
                .map(Box::new)
                .map_err(|e| e.to_string()),
        )),
        Request::AgendaDone { id } => {
            let change = crate::domain::agenda::AgendaChange::Complete {
                on: today,
                outcome: None,
            };
            send(Reply::AgendaChanged(
                app::agenda::change(store, &id.to_string(), &change, &Actor::current())
                    .map(|_| format!("done on {today}"))
                    .map_err(|e| e.to_string()),
            ))
        }
        Request::SavePlan { rep, method, plan } => send(Reply::AgendaChanged(
            app::plan::save(store, &rep, today, &method, &plan, &Actor::current())
                .map(|id| {
                    format!("saved as plan #{id}: the Plan list and `funnel plan review --id {id}` compare it with what is done")
                })
                .map_err(|e| e.to_string()),
        )),
        Request::DismissAlert { id } => send(Reply::AgendaChanged(
            store
                .dismiss_alert(id, &Actor::current().at)
                .map(|_| format!("alert #{id} dismissed"))
                .map_err(|e| e.to_string()),
        )),
        Request::Allocate => send(Reply::Allocation(
            crate::domain::Period::parse(&format!("{}", today.format("%Y-%m")))
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    app::allocate::allocate(store, p, today, 4.0, &Default::default())
                        .map(Box::new)
                        .map_err(|e| e.to_string())
                }),
        )),
        _ => {}
    }
}

/// Runs one request against the store, sending replies (progress, then the result).
pub fn handle(
    store: &mut Store,
    cache: &mut Cache,
    req: Request,
    today: NaiveDate,
    send: &mut dyn FnMut(Reply),
) {
    if let Request::SetToday(d) = req {
        // What the worker learned as of the old day no longer holds.
        *cache = Cache {
            scored: None,
            as_of: Some(d),
            undo: std::mem::take(&mut cache.undo),
        };
        return;
    }
    let today = cache.as_of.unwrap_or(today);
    if matches!(
        req,
        Request::LoadDemo
            | Request::MoveDeal { .. }
            | Request::SaveForm { .. }
            | Request::SaveProposal(_)
            | Request::Remove { .. }
            | Request::Undo
    ) {
        cache.scored = None;
    }
    match req {
        Request::SetToday(_) => {}
        Request::Setup => send(Reply::Setup(
            app::organisation(store).map_err(|e| e.to_string()),
        )),
        Request::Audit { before_id } => {
            let filter = crate::domain::audit::AuditFilter {
                before_id,
                limit: super::audit::AUDIT_PAGE,
                ..Default::default()
            };
            send(Reply::Audit {
                before_id,
                page: app::audit(store, &filter).map_err(|e| e.to_string()),
            });
        }
        Request::Targets { period, metric } => {
            let rows = app::targets::list(store, Some(period), None, Some(metric), today)
                .map_err(|e| e.to_string());
            send(Reply::Targets {
                period,
                metric,
                rows,
            });
        }
        r @ (Request::Agenda { .. }
        | Request::AgendaDone { .. }
        | Request::SavePlan { .. }
        | Request::DismissAlert { .. }
        | Request::Allocate) => agenda(store, r, today, send),
        Request::Monitoring => send(Reply::Monitoring(
            app::monitoring(store, today).map_err(|e| e.to_string()),
        )),
        Request::Segments => send(Reply::Segments(
            app::intel::overview(store)
                .map(Box::new)
                .map_err(|e| e.to_string()),
        )),
        Request::Dashboard => {
            let d = app::dashboard::load(store, today)
                .map(Box::new)
                .map_err(|e| e.to_string());
            send(Reply::Dashboard(d));
        }
        Request::Customers {
            gen,
            filter,
            sort,
            cursor,
            direction,
            limit,
            anchor,
            count,
        } => {
            let rows = app::customer_page(store, &filter, sort, cursor.as_ref(), direction, limit)
                .map_err(|e| e.to_string());
            let total = if count {
                app::count_customers(store, &filter).ok()
            } else {
                None
            };
            send(Reply::Customers {
                gen,
                anchor,
                rows,
                total,
            });
        }
        Request::Board => {
            send(Reply::Board(
                app::board::load(store)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            ));
        }
        Request::PickLists => send(Reply::PickLists(
            app::edits::pick_options(store).map_err(|e| e.to_string()),
        )),
        Request::PickCustomers { text } => {
            let names = app::edits::customer_suggestions(store, &text).unwrap_or_default();
            send(Reply::PickCustomers { text, names })
        }
        Request::CustomerDetail { gen, id } => {
            let detail = app::customer_detail(store, id)
                .map(|d| d.map(Box::new))
                .map_err(|e| e.to_string());
            send(Reply::CustomerDetail { gen, detail });
        }
        req @ (Request::Propose { .. }
        | Request::Report { .. }
        | Request::ExportReport { .. }
        | Request::Explain { .. }
        | Request::LoadDemo
        | Request::StuckThresholds
        | Request::Conversions
        | Request::Recompute) => handle_jobs(store, cache, req, today, send),
        req => handle_writes(store, cache, req, today, send),
    }
}

/// The long jobs (the background lane): learning, recomputing, reports, proposals, the demo.
fn handle_jobs(
    store: &mut Store,
    cache: &mut Cache,
    req: Request,
    today: NaiveDate,
    send: &mut dyn FnMut(Reply),
) {
    match req {
        Request::Propose { values } => {
            let result = app::edits::proposal_request(&values).and_then(|(m, p, g)| {
                app::targets::propose(store, m, p, g, today)
                    .map(Box::new)
                    .map_err(|e| vec![(String::new(), e.to_string())])
            });
            send(Reply::Proposal(result));
        }
        Request::Report { name, by } => {
            // The screen's breakdown applies to the reports that have one.
            let by = by.filter(|_| app::reports::takes_breakdown(&name));
            send(Reply::Report(
                app::reports::run(store, &name, by.as_deref(), None, today)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            ));
        }
        Request::ExportReport { report, by } => {
            let dir = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
            send(Reply::Exported(
                app::reports::export(&report, by.as_deref(), &dir, today)
                    .map(|(c, m)| format!("wrote {} and {}", c.display(), m.display())),
            ));
        }
        Request::Explain { deal_id } => {
            let version = app::data_version(store).unwrap_or_default();
            if cache.scored.as_ref().is_some_and(|(v, _)| *v != version) {
                cache.scored = None;
            }
            if cache.scored.is_none() {
                send(Reply::Progress {
                    task: "explain",
                    phase: "learning win probabilities".into(),
                    done: 0.1,
                });
                match app::scoring::score(store, today) {
                    Ok(s) => cache.scored = Some((version, s)),
                    Err(e) => {
                        send(Reply::Explanation(Err(format!(
                            "win probabilities cannot be learned here: {e}"
                        ))));
                        return;
                    }
                }
            }
            let x = cache
                .scored
                .as_ref()
                .and_then(|(_, s)| app::scoring::explain_deal(s, &deal_id.to_string()))
                .map(Box::new)
                .ok_or_else(|| "that deal is not open any more".to_string());
            send(Reply::Explanation(x));
        }
        Request::LoadDemo => {
            let opts = app::demo::DemoOptions::new(today);
            let result =
                app::demo::generate(store, &opts, &Actor::current(), &mut |phase, done| {
                    send(Reply::Progress {
                        task: "demo",
                        phase: phase.to_string(),
                        done,
                    })
                });
            // Forecasts, scores and customer intelligence, so every screen has its numbers.
            let result = match result {
                Ok(r) => app::forecast::recompute_all(store, today, &mut |_, _| {})
                    .map(|_| {
                        format!(
                            "demo data loaded: {} customers, {} deals",
                            r.customers, r.deals
                        )
                    })
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            send(Reply::TaskDone {
                task: "demo",
                result,
            });
        }
        Request::StuckThresholds => {
            send(Reply::StuckThresholds(
                app::board::stuck_thresholds(store, today).map_err(|e| e.to_string()),
            ));
        }
        Request::Conversions => {
            send(Reply::Conversions(
                app::dashboard::conversions(store, today).map_err(|e| e.to_string()),
            ));
        }
        Request::Recompute => {
            // Forecasts and scores are stored together (one transaction) or not at all.
            let result = app::forecast::recompute_all(store, today, &mut |phase, done| {
                send(Reply::Progress {
                    task: "recompute",
                    phase: phase.to_string(),
                    done,
                })
            })
            .map_err(|e| e.to_string())
            .map(|r| {
                let id = r.forecast_run;
                let intel = match &r.intel {
                    Ok(i) => format!(
                        "; {} customers valued, {} segments",
                        i.run.valued,
                        i.segments.len()
                    ),
                    Err(e) => format!("; customer intelligence not stored: {e}"),
                };
                let msg = match (r.model, r.not_scored) {
                    (Some((run, s)), _) => {
                        let msg = if s.trained.useful() {
                            format!(
                                "forecast run {id} stored; model run {run} scored {} open deals",
                                s.open.len()
                            )
                        } else {
                            format!(
                                "forecast run {id} stored; model run {run} is no better than the base rate, so deals keep stage probabilities"
                            )
                        };
                        cache.scored = Some((app::data_version(store).unwrap_or_default(), s));
                        msg
                    }
                    (None, why) => format!(
                        "forecast run {id} stored; deals not scored: {}",
                        why.unwrap_or_default()
                    ),
                };
                msg + &intel
            });
            send(Reply::TaskDone {
                task: "recompute",
                result,
            });
        }
        _ => {}
    }
}

/// The writes of the screens: moves, forms, deletes, undo, saved proposals; each one that wrote is remembered for `u`.
fn handle_writes(
    store: &mut Store,
    cache: &mut Cache,
    req: Request,
    today: NaiveDate,
    send: &mut dyn FnMut(Reply),
) {
    match req {
        Request::SaveProposal(p) => {
            let result = app::targets::save_proposal(store, &p)
                .map(|n| {
                    format!(
                        "saved {n} {} targets for {} ({} method)",
                        "won_revenue", p.period, p.method
                    )
                })
                .map_err(|e| vec![(String::new(), e.to_string())]);
            send(Reply::FormSaved(
                result.map_err(app::edits::SaveError::Fields),
            ));
        }
        Request::MoveDeal { deal_id, to } => {
            let what = match &to {
                crate::domain::deals::Move::Stage(_) => "moved".to_string(),
                crate::domain::deals::Move::Won => "marked won".to_string(),
                crate::domain::deals::Move::Lost(r) => format!("marked lost ({r})"),
            };
            let before = app::audit_high_water(store).unwrap_or(0);
            let result = app::board::move_deal(store, deal_id, &to, today)
                .map(|_| {
                    // Named as the screens and exports name it (D-0005225), not by row id.
                    let name = app::deal_card(store, deal_id)
                        .ok()
                        .flatten()
                        .map(|c| match c.external_id {
                            Some(e) => format!("{e} {}", c.name),
                            None => c.name,
                        })
                        .unwrap_or_else(|| format!("deal {deal_id}"));
                    format!("{name} {what}")
                })
                .map_err(|e| e.to_string());
            remember(store, cache, before, &result);
            send(Reply::Moved(result));
        }
        Request::SaveForm { kind, values, base } => {
            let before = app::audit_high_water(store).unwrap_or(0);
            let result = app::edits::save(
                store,
                kind,
                &values,
                base.as_ref(),
                today,
                &Actor::current(),
            );
            remember(store, cache, before, &result);
            send(Reply::FormSaved(result));
        }
        Request::PlanRemoval { entity, id } => send(Reply::RemovalPlan(
            app::removal_plan(store, entity, id).map_err(|e| e.to_string()),
        )),
        Request::Remove { entity, id, force } => {
            let before = app::audit_high_water(store).unwrap_or(0);
            let result = app::remove(store, entity, id, force)
                .map(|p| format!("deleted {}", p.describe()))
                .map_err(|e| e.to_string());
            remember(store, cache, before, &result);
            send(Reply::Removed(result));
        }
        Request::Undo => {
            let result = match cache.undo.pop() {
                None => Err("nothing to undo in this session".to_string()),
                Some((from, to, what)) => match app::undo(store, from, to) {
                    Ok(_) => Ok(format!("undone: {what}")),
                    Err(e) => {
                        // Kept, so that the user can undo what came in between first.
                        cache.undo.push((from, to, what));
                        Err(e.to_string())
                    }
                },
            };
            send(Reply::Undone(result));
        }
        _ => {}
    }
}

/// Starts the worker on its own connection. `wrap` turns replies into the UI's events.
pub fn spawn<E: Send + 'static>(
    path: PathBuf,
    today: NaiveDate,
    requests: Receiver<Request>,
    events: Sender<E>,
    wrap: fn(Reply) -> E,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // The interactive lane opens the database first (it may create or migrate it and
        // says whether it is empty); the background lane opens its own connection after.
        let (to_quick, quick) = std::sync::mpsc::channel::<Request>();
        let (to_slow, slow) = std::sync::mpsc::channel::<Request>();
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<bool>();
        let quick_events = events.clone();
        let quick_path = path.clone();
        let interactive = std::thread::spawn(move || {
            let store = match app::open(&quick_path) {
                Ok(s) => s,
                Err(e) => {
                    let _ = quick_events.send(wrap(Reply::Dashboard(Err(e.to_string()))));
                    return;
                }
            };
            let empty = app::is_empty(&*store).unwrap_or(false);
            let _ = opened_tx.send(true);
            if quick_events.send(wrap(Reply::Opened { empty })).is_err() {
                return;
            }
            serve(store, quick, today, &quick_events, wrap, None);
        });
        let slow_events = events.clone();
        let cancel = crate::domain::jobs::CancelFlag::default();
        let watched = cancel.clone();
        let background = std::thread::spawn(move || {
            if opened_rx.recv().is_err() {
                return; // the database did not open: the interactive lane said why
            }
            match app::open(&path) {
                Ok(mut store) => {
                    store.watch_cancel(Some(watched.clone()));
                    serve(store, slow, today, &slow_events, wrap, Some(&watched))
                }
                Err(e) => {
                    let _ = slow_events.send(wrap(Reply::Dashboard(Err(e.to_string()))));
                }
            }
        });
        // Route each request to its lane; a new day goes to both.
        while let Ok(req) = requests.recv() {
            let sent = match (&req, req.lane()) {
                (Request::CancelJob, _) => {
                    cancel.cancel();
                    true
                }
                (Request::SetToday(_), _) => {
                    to_slow.send(req.clone()).is_ok() && to_quick.send(req).is_ok()
                }
                (_, Lane::Background) => to_slow.send(req).is_ok(),
                (_, Lane::Interactive) => to_quick.send(req).is_ok(),
            };
            if !sent {
                break;
            }
        }
        drop((to_quick, to_slow));
        let _ = interactive.join();
        let _ = background.join();
    })
}

/// One lane: runs its requests in order, keeping only the newest of each kind queued.
/// The background lane's jobs can be cancelled: `cancel` is cleared before each job, and
/// a job that ran while it was set is reported as cancelled after its own reply.
fn serve<E>(
    mut store: Box<Store>,
    requests: Receiver<Request>,
    today: NaiveDate,
    events: &Sender<E>,
    wrap: fn(Reply) -> E,
    cancel: Option<&crate::domain::jobs::CancelFlag>,
) {
    let mut cache = Cache::default();
    while let Ok(first) = requests.recv() {
        let mut queue = vec![first];
        while let Ok(more) = requests.try_recv() {
            if let Some(kind) = more.kind() {
                queue.retain(|q| q.kind() != Some(kind));
            }
            queue.push(more);
        }
        for req in queue {
            let mut send = |r: Reply| {
                let _ = events.send(wrap(r));
            };
            let name = req.job_name();
            if let Some(flag) = cancel {
                flag.reset();
            }
            handle(&mut *store, &mut cache, req, today, &mut send);
            if cancel.is_some_and(|f| f.is_cancelled()) {
                send(Reply::Cancelled(name));
            }
        }
    }
}
