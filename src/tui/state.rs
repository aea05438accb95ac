//! The TUI's state and its one `update`: keys become actions through the keymap, actions
//! and worker replies change the state and return the requests for the worker to run.

use super::action::Action;
use super::keymap::{self, Context, Key, Keymap, Lookup};
use super::theme::Theme;
use super::worker::{Anchor, Reply, Request};

mod customers;
mod dashboard;
mod picker;
mod pipeline;
mod popup_keys;
mod removal;
mod reports;
mod targets;
use crate::app::dashboard::Dashboard;
use crate::domain::customers::{Cursor, CustomerFilter, CustomerRow, CustomerSort, PageDirection};
use chrono::NaiveDate;
pub use picker::Picker;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Waiting for the worker to open the database.
    Loading,
    Welcome,
    Dashboard,
    Customers,
    /// One customer: contacts, deals, orders, activity timeline.
    Detail,
    /// Open deals by stage: a board, or a list.
    Pipeline,
    /// Targets of a period and metric: company, teams and reps against target, with
    /// forms to set, revise and propose.
    Targets,
    /// One forecast series at a time as a chart.
    Forecast,
    /// The organisation: teams, reps, products and stages, with forms.
    Setup,
    /// Every report: run one, break it down, export it.
    Reports,
    /// The audit trail, newest first.
    Audit,
    /// RFM segments, value tiers and who moved, from the last recompute.
    Segments,
    /// Follow-ups, the visit plan, the rules' alerts and the allocation.
    Agenda,
}

impl Screen {
    /// Every screen (each is registered in `tui::screens`).
    pub const ALL: &'static [Screen] = &[
        Screen::Loading,
        Screen::Welcome,
        Screen::Dashboard,
        Screen::Customers,
        Screen::Detail,
        Screen::Pipeline,
        Screen::Targets,
        Screen::Forecast,
        Screen::Setup,
        Screen::Reports,
        Screen::Audit,
        Screen::Segments,
        Screen::Agenda,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Customers,
    Funnel,
    Targets,
    Forecast,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Customers, Pane::Funnel, Pane::Targets, Pane::Forecast];
    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// What a typed customer-list filter sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Owner,
    Region,
    /// The least predicted value over the next 12 months (an amount).
    MinPredicted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help {
        filter: super::line::Input,
        /// Lines scrolled past (↑/↓, page up/down) when the list does not fit.
        scroll: usize,
    },
    Palette {
        input: super::line::Input,
        selected: usize,
    },
    /// Asking why a deal was lost before closing it.
    LostReason {
        deal_id: i64,
        deal: String,
        input: super::line::Input,
    },
    /// A target proposal to review: `enter` saves it, `esc` drops it.
    Proposal {
        proposal: Box<crate::app::targets::Proposal>,
        scroll: usize,
        saving: bool,
    },
    /// Why a deal has its win probability (`None` while the worker works it out).
    Explain {
        deal_id: i64,
        deal: String,
        body: Option<Box<crate::app::scoring::Explanation>>,
    },
    Form(Form),
    /// A one-line filter value for the customer list: owner or region.
    Filter {
        field: FilterField,
        input: super::line::Input,
    },
    /// A yes/no question before an action that is hard to take back by hand.
    Confirm {
        question: String,
        request: Box<Request>,
        /// Only `F` confirms (a delete the revenue ledger depends on).
        strong: bool,
    },
}

/// An add or edit form: one text field per field of the edit, errors shown at the field.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub kind: crate::app::edits::FormKind,
    pub values: Vec<String>,
    pub focus: usize,
    /// (field name, reason); "" is the form as a whole.
    pub errors: Vec<(String, String)>,
    pub saving: bool,
    /// What the form read of the edited row (`None` for a new row): the save is refused
    /// if the row has changed since.
    pub base: Option<crate::app::edits::Base>,
    /// After such a refusal: (field, the value stored now) where it differs from the form's.
    /// Saving again keeps the form's values; ctrl-t takes these.
    pub theirs: Vec<(String, String)>,
    /// The focused field's cursor.
    pub cursor: super::line::Cursor,
    /// Suggestions for the focused field, when it is a picker with something to suggest.
    pub pick: Option<Picker>,
}

/// Moves a list selection (`last` is the last index) for the movement keys; whether the
/// action was one.
pub(super) fn move_in_list(selected: &mut usize, last: usize, action: Action) -> bool {
    *selected = match action {
        Action::MoveDown => (*selected + 1).min(last),
        Action::MoveUp => selected.saturating_sub(1),
        Action::Top => 0,
        Action::Bottom => last,
        Action::HalfPageDown => (*selected + 10).min(last),
        Action::HalfPageUp => selected.saturating_sub(10),
        _ => return false,
    };
    true
}

impl Form {
    pub fn new(kind: crate::app::edits::FormKind, prefill: &[(&str, String)]) -> Form {
        let values = kind
            .fields()
            .iter()
            .map(|f| {
                prefill
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        Form {
            kind,
            values,
            focus: 0,
            errors: Vec::new(),
            saving: false,
            base: None,
            theirs: Vec::new(),
            cursor: super::line::Cursor::default(),
            pick: None,
        }
        .focused(0)
    }

    /// Moves the focus to field `i`, the cursor at its end with its text selected.
    pub fn focused(mut self, i: usize) -> Form {
        self.focus_on(i);
        self
    }

    fn focus_on(&mut self, i: usize) {
        self.focus = i.min(self.values.len().saturating_sub(1));
        self.cursor =
            super::line::Cursor::enter(self.values.get(self.focus).map_or("", |v| v.as_str()));
    }

    /// The form of an existing row read at `version`, showing what it was prefilled with.
    pub fn at_version(mut self, version: i64) -> Form {
        let shown: Vec<(&str, String)> = self
            .kind
            .fields()
            .iter()
            .zip(&self.values)
            .map(|(f, v)| (f.name, v.clone()))
            .collect();
        self.base = Some(crate::app::edits::Base::new(version, &shown));
        self
    }

    /// After a conflict: takes the stored values for the fields that differ.
    fn take_theirs(&mut self) {
        let fields = self.kind.fields();
        for (field, value) in std::mem::take(&mut self.theirs) {
            if let Some(i) = fields.iter().position(|f| f.name == field) {
                self.values[i] = value;
            }
        }
        self.errors.clear();
    }

    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, r)| r.as_str())
    }

    fn submission(&self) -> Vec<(String, String)> {
        self.kind
            .fields()
            .iter()
            .zip(&self.values)
            .map(|(f, v)| (f.name.to_string(), v.clone()))
            .collect()
    }
}

/// One part of the screens' reply handling: its replies taken, any other given back.
type ReplyPart = fn(&mut App, Reply) -> Result<Vec<Request>, Reply>;

/// What a mouse click on a drawn area selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitTarget {
    /// A dashboard pane (a click focuses it).
    Pane(Pane),
    Customers,
    /// A stage column of the board.
    BoardColumn(usize),
    PipelineList,
    Targets,
    Reports,
    Contacts,
    Timeline,
}

/// An area the last frame drew a list in: a click on its `n`th line selects row
/// `first + n` (for a card board, `first + n / per_row`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub area: ratatui::layout::Rect,
    pub target: HitTarget,
    pub first: usize,
    /// Lines per row (3 for a board card, 1 for a list row; 0: the area is a pane).
    pub per_row: u16,
}

/// The targets screen's state.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetsScreen {
    pub period: crate::domain::Period,
    pub metric: crate::domain::TargetMetric,
    pub rows: Vec<crate::app::targets::TargetStatus>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
    /// Where the list's view begins (kept between frames).
    pub scroll: super::view::table::Scroll,
}

pub use crate::app::targets::METRICS;

/// Breakdowns the reports screen cycles through with `b`.
pub const BREAKDOWNS: [Option<&str>; 7] = [
    None,
    Some("rep"),
    Some("team"),
    Some("product"),
    Some("region"),
    Some("source"),
    Some("segment"),
];

/// The reports screen's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportsScreen {
    /// Index into `app::reports::REPORTS`.
    pub selected: usize,
    pub by: Option<&'static str>,
    pub report: Option<crate::app::reports::Report>,
    pub loading: bool,
    pub scroll: usize,
    /// Columns scrolled past (the first column always shows).
    pub col_offset: usize,
}

/// The pipeline screen's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoardState {
    pub board: Option<crate::app::board::Board>,
    /// Selected column, and the selected card in each column.
    pub column: usize,
    pub rows: Vec<usize>,
    /// A list of every loaded deal instead of columns.
    pub list: bool,
    pub list_row: usize,
    /// Where the list's view begins (kept between frames).
    pub list_scroll: super::view::table::Scroll,
    /// Days after which a deal counts as stuck, by stage id.
    pub stuck: std::collections::HashMap<i64, f64>,
    /// Whether the thresholds have been learned (a stage may still have none: not enough
    /// history).
    pub stuck_learned: bool,
}

impl BoardState {
    /// Every loaded card with its column, largest first (the list view's order).
    pub fn flat(&self) -> Vec<(usize, &crate::domain::deals::DealCard)> {
        let mut all: Vec<(usize, &crate::domain::deals::DealCard)> = self
            .board
            .iter()
            .flat_map(|b| b.columns.iter().enumerate())
            .flat_map(|(i, c)| c.cards.iter().map(move |card| (i, card)))
            .collect();
        all.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.1.id.cmp(&b.1.id)));
        all
    }

    /// The selected card and its column.
    pub fn selected(&self) -> Option<(usize, &crate::domain::deals::DealCard)> {
        if self.list {
            return self.flat().get(self.list_row).copied();
        }
        let col = self.board.as_ref()?.columns.get(self.column)?;
        let row = *self.rows.get(self.column).unwrap_or(&0);
        col.cards.get(row).map(|c| (self.column, c))
    }

    fn clamp(&mut self) {
        let Some(b) = &self.board else { return };
        self.rows.resize(b.columns.len(), 0);
        self.column = self.column.min(b.columns.len().saturating_sub(1));
        for (r, c) in self.rows.iter_mut().zip(&b.columns) {
            *r = (*r).min(c.cards.len().saturating_sub(1));
        }
        let n = self.flat().len();
        self.list_row = self.list_row.min(n.saturating_sub(1));
    }

    fn move_row(&mut self, delta: i64) {
        if self.list {
            let n = self.flat().len() as i64;
            self.list_row = (self.list_row as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
            return;
        }
        let Some(b) = &self.board else { return };
        let Some(col) = b.columns.get(self.column) else {
            return;
        };
        let n = col.cards.len() as i64;
        if let Some(r) = self.rows.get_mut(self.column) {
            *r = (*r as i64 + delta).clamp(0, (n - 1).max(0)) as usize;
        }
    }
}

/// Rows the customer list keeps around the selection, and how many it asks for at once.
pub const WINDOW: usize = 300;
pub const PAGE: usize = 100;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerList {
    /// A window of the list: `rows[0]` is at absolute position `first`.
    pub rows: Vec<CustomerRow>,
    pub first: usize,
    /// Absolute position of the selected row.
    pub selected: usize,
    pub total: Option<i64>,
    pub filter: CustomerFilter,
    pub sort: CustomerSort,
    pub gen: u64,
    pub loading: bool,
    pub editing_search: bool,
    /// The search line's cursor while it is edited.
    pub search_cursor: super::line::Cursor,
    /// Where the list's view begins (kept between frames).
    pub scroll: super::view::table::Scroll,
}

impl CustomerList {
    pub fn selected_row(&self) -> Option<&CustomerRow> {
        self.selected
            .checked_sub(self.first)
            .and_then(|i| self.rows.get(i))
    }
    fn last_index(&self) -> usize {
        self.total
            .map(|t| (t.max(1) - 1) as usize)
            .unwrap_or(self.first + self.rows.len().saturating_sub(1))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: &'static str,
    pub phase: String,
    pub done: f64,
}

pub struct App {
    pub screen: Screen,
    pub pane: Pane,
    pub popup: Option<Popup>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub dashboard: Option<Dashboard>,
    pub dashboard_error: Option<String>,
    pub customers: CustomerList,
    pub detail: Option<crate::domain::customers::CustomerDetail>,
    detail_gen: u64,
    pub pipeline: BoardState,
    /// Selected contact on the customer view.
    pub contact_sel: usize,
    /// Selected activity on the customer view, and whether the timeline has the focus
    /// (else the contacts).
    pub activity_sel: usize,
    pub timeline_focus: bool,
    /// Selected series on the forecast screen.
    pub forecast_sel: usize,
    pub targets: TargetsScreen,
    pub reports: ReportsScreen,
    pub setup: super::setup::SetupScreen,
    pub audit: super::audit::AuditScreen,
    pub segments: super::segments::SegmentsScreen,
    pub agenda: super::agenda::AgendaScreen,
    /// The stored models against what happened since (the Forecast screen), once read.
    pub monitoring: Option<Vec<String>>,
    /// The options of the forms' pickers (`None` until loaded; dropped after a save,
    /// which may have added a rep, team, product, stage or region).
    pub pick_lists: Option<std::collections::HashMap<crate::app::edits::Pick, Vec<String>>>,
    pick_lists_pending: bool,
    /// The text a customer picker last asked about, and the names found for it.
    pick_customers: (String, Vec<String>),
    /// Open the edit form once the customer view has loaded.
    edit_when_loaded: bool,
    pub pending: Vec<Key>,
    /// A message for the status line, and whether it is an error.
    pub status: Option<(String, bool)>,
    pub task: Option<Task>,
    pub today: NaiveDate,
    /// The day the session started with (`--today` or the clock); `today` differs when
    /// the user views the data as of its last day.
    pub real_today: NaiveDate,
    pub db_label: String,
    pub quit: bool,
    /// Terminal size, for paging by half a screen.
    pub size: (u16, u16),
    /// Spinner frame, advanced while work is pending.
    pub tick: usize,
    /// Where the last frame drew its lists, for mouse clicks (filled while drawing).
    pub hits: std::cell::RefCell<Vec<Hit>>,
}

const SEGMENTS: [Option<&str>; 4] = [None, Some("smb"), Some("mid_market"), Some("enterprise")];
const STATUSES: [Option<&str>; 4] = [None, Some("prospect"), Some("active"), Some("churned")];
const TIERS: [Option<&str>; 4] = [None, Some("A"), Some("B"), Some("C")];

fn cycle(options: &[Option<&str>], current: &Option<String>) -> Option<String> {
    let i = options
        .iter()
        .position(|o| o.map(str::to_string) == *current)
        .unwrap_or(0);
    options[(i + 1) % options.len()].map(str::to_string)
}

impl App {
    pub fn new(
        keymap: Keymap,
        theme: Theme,
        today: NaiveDate,
        db_label: String,
        warning: Option<String>,
    ) -> App {
        App {
            screen: Screen::Loading,
            pane: Pane::Customers,
            popup: None,
            keymap,
            theme,
            dashboard: None,
            dashboard_error: None,
            customers: CustomerList::default(),
            detail: None,
            detail_gen: 0,
            pipeline: BoardState::default(),
            contact_sel: 0,
            activity_sel: 0,
            pick_lists: None,
            pick_lists_pending: false,
            pick_customers: Default::default(),
            timeline_focus: false,
            forecast_sel: 0,
            targets: TargetsScreen {
                period: crate::domain::Period::month_of(today),
                metric: crate::domain::TargetMetric::WonRevenue,
                rows: Vec::new(),
                selected: 0,
                loading: false,
                error: None,
                scroll: Default::default(),
            },
            reports: ReportsScreen::default(),
            setup: Default::default(),
            audit: Default::default(),
            segments: Default::default(),
            agenda: Default::default(),
            monitoring: None,
            edit_when_loaded: false,
            pending: Vec::new(),
            status: warning.map(|w| (w, true)),
            task: None,
            today,
            real_today: today,
            db_label,
            quit: false,
            size: (120, 40),
            tick: 0,
            hits: Default::default(),
        }
    }

    pub fn context(&self) -> Context {
        super::screens::def(self.screen).context
    }

    /// Whether something is running (the spinner ticks only then).
    pub fn busy(&self) -> bool {
        self.task.is_some()
            || matches!(self.popup, Some(Popup::Explain { body: None, .. }))
            || matches!(self.popup, Some(Popup::Proposal { saving: true, .. }))
            || (self.screen == Screen::Targets && self.targets.loading)
            || (self.screen == Screen::Reports && self.reports.loading)
            || self.customers.loading
            || self.screen == Screen::Loading
            || (self.screen == Screen::Dashboard
                && self.dashboard.is_none()
                && self.dashboard_error.is_none())
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = (w, h);
    }

    /// Reloads the targets screen for its period and metric.
    fn targets_request(&mut self) -> Vec<Request> {
        self.targets.loading = true;
        vec![Request::Targets {
            period: self.targets.period,
            metric: self.targets.metric,
        }]
    }

    /// Runs the selected report with the chosen breakdown.
    fn report_request(&mut self) -> Vec<Request> {
        let Some((name, _)) = crate::app::reports::REPORTS.get(self.reports.selected) else {
            return Vec::new();
        };
        self.reports.loading = true;
        vec![Request::Report {
            name: name.to_string(),
            by: self.reports.by.map(str::to_string),
        }]
    }

    fn half_page(&self) -> usize {
        (self.size.1 as usize).saturating_sub(6).max(2) / 2
    }

    /// A key press: popup first, then a text field, then the screen's keymap.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let had_form = matches!(self.popup, Some(Popup::Form(_)));
        let mut out = self.key_inner(key);
        if !had_form && matches!(self.popup, Some(Popup::Form(_))) {
            out.extend(self.sync_picker());
        }
        out
    }

    fn key_inner(&mut self, key: KeyEvent) -> Vec<Request> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let k = Key::from_event(key);
        if k.ctrl && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if self.popup.is_some() {
            return self.popup_key(k);
        }
        if self.customers.editing_search {
            return self.search_key(k);
        }
        self.pending.push(k);
        match self.keymap.lookup(self.context(), &self.pending) {
            Lookup::Pending => Vec::new(),
            Lookup::Action(a) => {
                self.pending.clear();
                self.update(a)
            }
            Lookup::None => {
                // A stray key after a chord start: try it on its own.
                let retry = self.pending.len() > 1;
                self.pending.clear();
                if retry {
                    return self.key_inner(key);
                }
                Vec::new()
            }
        }
    }

    /// Palette entries matching the input, best first: (action, keys, description).
    pub fn palette_matches(&self) -> Vec<(Action, String, &'static str)> {
        let input = match &self.popup {
            Some(Popup::Palette { input, .. }) => input.text.to_lowercase(),
            _ => String::new(),
        };
        let mut scored: Vec<(i64, Action, String, &'static str)> =
            keymap::describe(&self.keymap, self.context())
                .into_iter()
                .filter_map(|(keys, action, desc)| {
                    // A match in the action's own name counts for more than one in its
                    // description.
                    let by_name =
                        fuzzy_score(&input, &action.name().replace('_', " ")).map(|s| s + 5);
                    let by_desc = fuzzy_score(&input, &desc.to_lowercase());
                    by_name.max(by_desc).map(|s| (s, action, keys, desc))
                })
                .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name().cmp(b.1.name())));
        scored.into_iter().map(|(_, a, k, d)| (a, k, d)).collect()
    }

    pub fn update(&mut self, action: Action) -> Vec<Request> {
        // The screen's own keys first (as registered in `tui::screens`), then the ones every
        // screen has.
        if let Some(out) = (super::screens::def(self.screen).keys)(self, action) {
            return out;
        }
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            // Keys of text fields and popups, handled there.
            Action::CursorLeft
            | Action::CursorRight
            | Action::LineStart
            | Action::LineEnd
            | Action::DeleteBack
            | Action::DeleteForward
            | Action::KillToStart
            | Action::KillToEnd
            | Action::KillWord
            | Action::Submit
            | Action::NextField
            | Action::PrevField
            | Action::TakeTheirs
            | Action::Confirm
            | Action::ConfirmAnyway
            | Action::Cancel
            | Action::PickNext
            | Action::PickPrev => Vec::new(),
            Action::Help => {
                self.popup = Some(Popup::Help {
                    filter: Default::default(),
                    scroll: 0,
                });
                Vec::new()
            }
            Action::Palette => {
                self.popup = Some(Popup::Palette {
                    input: Default::default(),
                    selected: 0,
                });
                Vec::new()
            }
            Action::Back => {
                self.status = None;
                match self.screen {
                    Screen::Detail => self.screen = Screen::Customers,
                    Screen::Customers
                    | Screen::Pipeline
                    | Screen::Targets
                    | Screen::Forecast
                    | Screen::Reports
                    | Screen::Setup
                    | Screen::Audit
                    | Screen::Segments
                    | Screen::Agenda => self.screen = Screen::Dashboard,
                    _ => {}
                }
                Vec::new()
            }
            Action::LoadDemo if matches!(self.screen, Screen::Welcome) && self.task.is_none() => {
                self.task = Some(Task {
                    name: "demo",
                    phase: "starting".into(),
                    done: 0.0,
                });
                vec![Request::LoadDemo]
            }
            Action::LoadDemo => Vec::new(),
            Action::Refresh => {
                let mut r = vec![Request::Dashboard];
                r.extend(self.reload_customers());
                r
            }
            Action::NextPane => {
                self.pane = Pane::ALL[(self.pane.index() + 1) % 4];
                Vec::new()
            }
            Action::PrevPane => {
                self.pane = Pane::ALL[(self.pane.index() + 3) % 4];
                Vec::new()
            }
            Action::OpenSetup => self.open_setup(),
            Action::OpenAudit => self.open_audit(),
            Action::OpenSegments => self.open_segments(),
            Action::OpenAgenda => self.open_agenda(),
            Action::Undo => {
                self.status = Some(("undoing…".into(), false));
                vec![Request::Undo]
            }
            Action::CancelJob => self.cancel_job(),
            Action::OpenReports => {
                self.screen = Screen::Reports;
                Vec::new()
            }
            Action::Add
            | Action::Edit
            | Action::AddContact
            | Action::EditContact
            | Action::LogActivity => self.open_form(action),
            // Screens with a list of their own move it; only the customer list (its screen
            // and the dashboard's pane) pages through the database.
            Action::MoveDown
            | Action::MoveUp
            | Action::Top
            | Action::Bottom
            | Action::HalfPageDown
            | Action::HalfPageUp
                if matches!(
                    self.screen,
                    Screen::Forecast | Screen::Targets | Screen::Detail | Screen::Reports
                ) =>
            {
                self.move_on_screen(action);
                Vec::new()
            }
            Action::Delete => self.delete_selected(),
            Action::MoveDown => self.move_selection(1),
            Action::MoveUp => self.move_selection(-1),
            Action::HalfPageDown => self.move_selection(self.half_page() as i64),
            Action::HalfPageUp => self.move_selection(-(self.half_page() as i64)),
            Action::Top => self.customers_top(),
            Action::Bottom => self.customers_bottom(),
            // A screen's own key reaching another screen (through the palette) does nothing.
            _ => Vec::new(),
        }
    }

    /// The mouse: the wheel moves the list of the screen (or the board) like ↑/↓; other
    /// mouse events, and the wheel over a popup, do nothing.
    pub fn handle_mouse(&mut self, m: ratatui::crossterm::event::MouseEvent) -> Vec<Request> {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        if self.popup.is_some() {
            return Vec::new();
        }
        match m.kind {
            MouseEventKind::ScrollDown => self.update(Action::MoveDown),
            MouseEventKind::ScrollUp => self.update(Action::MoveUp),
            MouseEventKind::Down(MouseButton::Left) => {
                self.click(m.column, m.row);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Records where a list was drawn (see `Hit`).
    pub fn hit(&self, area: ratatui::layout::Rect, target: HitTarget, first: usize, per_row: u16) {
        self.hits.borrow_mut().push(Hit {
            area,
            target,
            first,
            per_row,
        });
    }

    /// Asks the worker to stop its background job (if one is between statements of a
    /// model fit, it stops at its next statement).
    fn cancel_job(&mut self) -> Vec<Request> {
        let busy = self.task.is_some() || self.reports.loading;
        self.status = Some((
            if busy {
                "cancelling…"
            } else {
                "no background job is running"
            }
            .into(),
            false,
        ));
        vec![Request::CancelJob]
    }

    /// A left click: selects the row (or focuses the pane) under it, as the keys would.
    fn click(&mut self, x: u16, y: u16) {
        let at = ratatui::layout::Position { x, y };
        let Some(h) = self
            .hits
            .borrow()
            .iter()
            .rev()
            .find(|h| h.area.contains(at))
            .copied()
        else {
            return;
        };
        let index = match h.per_row {
            0 => 0,
            n => h.first + ((y - h.area.y) / n) as usize,
        };
        let within = |i: usize, n: usize| (i < n).then_some(i);
        match h.target {
            HitTarget::Pane(p) => self.pane = p,
            HitTarget::Customers => {
                if self.screen == Screen::Dashboard {
                    self.pane = Pane::Customers;
                }
                let c = &mut self.customers;
                if index >= c.first && index < c.first + c.rows.len() {
                    c.selected = index;
                }
            }
            HitTarget::BoardColumn(i) => {
                self.pipeline.column = i;
                let n = self
                    .pipeline
                    .board
                    .as_ref()
                    .and_then(|b| b.columns.get(i))
                    .map_or(0, |c| c.cards.len());
                if let (Some(row), Some(slot)) = (within(index, n), self.pipeline.rows.get_mut(i)) {
                    *slot = row;
                }
            }
            HitTarget::PipelineList => {
                if let Some(i) = within(index, self.pipeline.flat().len()) {
                    self.pipeline.list_row = i;
                }
            }
            HitTarget::Targets => {
                if let Some(i) = within(index, self.targets.rows.len()) {
                    self.targets.selected = i;
                }
            }
            HitTarget::Reports => {
                if let Some(i) = within(index, crate::app::reports::REPORTS.len()) {
                    if i != self.reports.selected {
                        self.reports.selected = i;
                        self.reports.scroll = 0;
                    }
                }
            }
            HitTarget::Contacts | HitTarget::Timeline => {
                let timeline = h.target == HitTarget::Timeline;
                self.timeline_focus = timeline;
                let n = self.detail.as_ref().map_or(0, |d| {
                    if timeline {
                        d.activities.len()
                    } else {
                        d.contacts.len()
                    }
                });
                if let Some(i) = within(index, n) {
                    if timeline {
                        self.activity_sel = i;
                    } else {
                        self.contact_sel = i;
                    }
                }
            }
        }
    }

    /// A movement key on a screen with a list of its own (never the customer list).
    fn move_on_screen(&mut self, action: Action) {
        match self.screen {
            Screen::Forecast => {
                let n = self
                    .dashboard
                    .as_ref()
                    .and_then(|d| d.forecast.as_ref())
                    .map(|r| r.series.len())
                    .unwrap_or(0);
                move_in_list(&mut self.forecast_sel, n.saturating_sub(1), action);
            }
            Screen::Targets => {
                let n = self.targets.rows.len();
                move_in_list(&mut self.targets.selected, n.saturating_sub(1), action);
            }
            Screen::Detail => {
                let Some(d) = &self.detail else { return };
                if self.timeline_focus {
                    let n = d.activities.len();
                    move_in_list(&mut self.activity_sel, n.saturating_sub(1), action);
                } else {
                    let n = d.contacts.len();
                    move_in_list(&mut self.contact_sel, n.saturating_sub(1), action);
                }
            }
            Screen::Reports => match action {
                // Half pages scroll the report; the others pick a report.
                Action::HalfPageDown => {
                    let n = self
                        .reports
                        .report
                        .as_ref()
                        .map(|r| r.table.rows.len())
                        .unwrap_or(0);
                    self.reports.scroll =
                        (self.reports.scroll + self.half_page()).min(n.saturating_sub(1));
                }
                Action::HalfPageUp => {
                    self.reports.scroll = self.reports.scroll.saturating_sub(self.half_page());
                }
                _ => {
                    let last = crate::app::reports::REPORTS.len() - 1;
                    if move_in_list(&mut self.reports.selected, last, action) {
                        self.reports.scroll = 0;
                    }
                }
            },
            _ => {}
        }
    }

    /// Opens the form an action asks for, prefilled from what is on screen.
    fn open_form(&mut self, action: Action) -> Vec<Request> {
        use crate::app::edits::FormKind;
        let form = match (self.screen, action) {
            (Screen::Pipeline, Action::Add) => {
                let stage = self
                    .pipeline
                    .board
                    .as_ref()
                    .and_then(|b| b.columns.get(self.pipeline.column))
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                Form::new(FormKind::NewDeal, &[("stage", stage)])
            }
            (Screen::Pipeline, Action::Edit) => {
                let Some((_, c)) = self.pipeline.selected() else {
                    return Vec::new();
                };
                Form::new(FormKind::EditDeal(c.id), &crate::app::edits::deal_values(c))
                    .at_version(c.version)
            }
            (Screen::Pipeline, Action::LogActivity) => {
                let Some((_, c)) = self.pipeline.selected() else {
                    return Vec::new();
                };
                Form::new(
                    FormKind::Activity {
                        customer_id: c.customer_id,
                        completes: None,
                    },
                    &[
                        ("kind", "call".into()),
                        ("done_on", self.today.to_string()),
                        ("rep", c.owner.clone().unwrap_or_default()),
                        (
                            "deal",
                            c.external_id.clone().unwrap_or_else(|| c.name.clone()),
                        ),
                    ],
                )
            }
            (Screen::Pipeline, _) => return Vec::new(),
            (_, Action::Add) => Form::new(FormKind::NewCustomer, &[("status", "prospect".into())]),
            (Screen::Customers, Action::Edit) => {
                // The form needs the whole record: open the customer, then the form.
                self.edit_when_loaded = true;
                return self.update(Action::Open);
            }
            (Screen::Detail, _) => {
                let Some(d) = &self.detail else {
                    return Vec::new();
                };
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                match action {
                    Action::Edit => Form::new(
                        FormKind::EditCustomer(d.id),
                        &crate::app::edits::customer_values(d),
                    )
                    .at_version(d.version),
                    Action::AddContact => {
                        Form::new(FormKind::NewContact { customer_id: d.id }, &[])
                    }
                    Action::EditContact => {
                        let Some(c) = d.contacts.get(self.contact_sel) else {
                            self.status = Some((
                                "this customer has no contacts yet: c adds one".into(),
                                false,
                            ));
                            return Vec::new();
                        };
                        Form::new(
                            FormKind::EditContact {
                                customer_id: d.id,
                                contact_id: c.id,
                            },
                            &crate::app::edits::contact_values(c),
                        )
                        .at_version(c.version)
                    }
                    Action::LogActivity => Form::new(
                        FormKind::Activity {
                            customer_id: d.id,
                            completes: None,
                        },
                        &[
                            ("kind", "call".into()),
                            ("done_on", self.today.to_string()),
                            ("rep", opt(&d.owner)),
                        ],
                    ),
                    _ => return Vec::new(),
                }
            }
            _ => {
                self.status = Some(("open a customer first (enter)".into(), false));
                return Vec::new();
            }
        };
        self.popup = Some(Popup::Form(form));
        Vec::new()
    }

    fn board_move(&mut self, delta: i64) -> Vec<Request> {
        self.pipeline.move_row(delta);
        Vec::new()
    }

    fn focus(&mut self, pane: Pane) -> Vec<Request> {
        self.pane = pane;
        Vec::new()
    }

    /// Moves the customer selection and asks for the rows that will be needed next.
    fn move_selection(&mut self, delta: i64) -> Vec<Request> {
        if !(self.screen == Screen::Customers || self.pane == Pane::Customers) {
            return Vec::new();
        }
        let c = &mut self.customers;
        if c.rows.is_empty() {
            return Vec::new();
        }
        let last = c.last_index();
        let next = (c.selected as i64 + delta).clamp(0, last as i64) as usize;
        c.selected = next;
        if c.loading {
            return Vec::new();
        }
        let window_end = c.first + c.rows.len();
        // Near the end of what is loaded, fetch the next page; near the start, the previous.
        if next + PAGE / 2 >= window_end && window_end <= last {
            let cursor = c.rows.last().map(|r| Cursor {
                sort_key: r.sort_key.clone(),
                id: r.id,
            });
            if next >= window_end {
                // Jumped past the window (a long page move): start a fresh window there.
                let first_index = window_end;
                return self.customer_request(
                    cursor,
                    PageDirection::Forward,
                    Anchor::Replace { first_index },
                    false,
                );
            }
            return self.customer_request(cursor, PageDirection::Forward, Anchor::Append, false);
        }
        if next < c.first + PAGE / 2 && c.first > 0 {
            let cursor = c.rows.first().map(|r| Cursor {
                sort_key: r.sort_key.clone(),
                id: r.id,
            });
            return self.customer_request(cursor, PageDirection::Backward, Anchor::Prepend, false);
        }
        Vec::new()
    }

    fn customer_request(
        &mut self,
        cursor: Option<Cursor>,
        direction: PageDirection,
        anchor: Anchor,
        count: bool,
    ) -> Vec<Request> {
        let c = &mut self.customers;
        c.gen += 1;
        c.loading = true;
        vec![Request::Customers {
            gen: c.gen,
            filter: c.filter.clone(),
            sort: c.sort,
            cursor,
            direction,
            limit: PAGE,
            anchor,
            count,
        }]
    }

    /// A new filter or sort: back to the top, recounted.
    pub fn reload_customers(&mut self) -> Vec<Request> {
        self.customers.selected = 0;
        self.customer_request(
            None,
            PageDirection::Forward,
            Anchor::Replace { first_index: 0 },
            true,
        )
    }

    pub fn on_reply(&mut self, reply: Reply) -> Vec<Request> {
        // Each part of the screens takes its own replies; the rest are everyone's.
        let mut reply = reply;
        for part in REPLY_PARTS {
            match part(self, reply) {
                Ok(out) => return out,
                Err(r) => reply = r,
            }
        }
        match reply {
            Reply::Setup(r) => {
                self.on_setup(r);
                Vec::new()
            }
            Reply::Undone(Ok(msg)) => {
                // What changed is reloaded as after a save (the board too).
                let mut out = self.on_reply(Reply::FormSaved(Ok(msg)));
                if self.screen != Screen::Pipeline && self.pipeline.board.is_some() {
                    out.push(Request::Board);
                }
                out
            }
            Reply::Undone(Err(e)) => {
                self.status = Some((e, true));
                Vec::new()
            }
            Reply::FormSaved(Ok(msg)) => {
                self.popup = None;
                // A save may have added a rep, team, product, stage or region.
                self.pick_lists = None;
                self.status = Some((msg, false));
                let mut out = vec![Request::Dashboard];
                match self.screen {
                    Screen::Pipeline => out.push(Request::Board),
                    Screen::Setup => out.push(Request::Setup),
                    Screen::Targets => out.extend(self.targets_request()),
                    Screen::Agenda => out.extend(self.agenda_request()),
                    Screen::Detail => {
                        if let Some(d) = &self.detail {
                            self.detail_gen += 1;
                            out.push(Request::CustomerDetail {
                                gen: self.detail_gen,
                                id: d.id,
                            });
                        }
                    }
                    _ => {}
                }
                // Keep the list's place; its rows refresh from the same position.
                let c = &mut self.customers;
                c.gen += 1;
                c.loading = true;
                out.push(Request::Customers {
                    gen: c.gen,
                    filter: c.filter.clone(),
                    sort: c.sort,
                    cursor: None,
                    direction: PageDirection::Forward,
                    limit: (c.first + c.rows.len()).max(PAGE),
                    anchor: Anchor::Replace { first_index: 0 },
                    count: true,
                });
                out
            }
            Reply::FormSaved(Err(failure)) => {
                if let Some(Popup::Form(form)) = &mut self.popup {
                    form.saving = false;
                    let errors = match failure {
                        crate::app::edits::SaveError::Fields(errors) => errors,
                        crate::app::edits::SaveError::Conflict(c) => {
                            // Saving again (on the row as stored now) keeps the form's values.
                            form.base = Some(c.stored);
                            let mut errors = vec![(
                                String::new(),
                                "changed elsewhere while this form was open: ctrl-s keeps yours, ctrl-t takes theirs"
                                    .to_string(),
                            )];
                            errors.extend(c.theirs.iter().map(|(field, stored)| {
                                (
                                    field.clone(),
                                    format!("now '{stored}' (yours kept until you choose)"),
                                )
                            }));
                            form.theirs = c.theirs;
                            errors
                        }
                    };
                    // Move to the first field with a problem.
                    if let Some(i) = form
                        .kind
                        .fields()
                        .iter()
                        .position(|f| errors.iter().any(|(n, _)| n == f.name))
                    {
                        form.focus_on(i);
                    }
                    form.errors = errors;
                }
                Vec::new()
            }
            Reply::Progress { task, phase, done } => {
                self.task = Some(Task {
                    name: task,
                    phase,
                    done,
                });
                Vec::new()
            }
            Reply::Cancelled(what) => {
                self.task = None;
                self.reports.loading = false;
                self.status = Some((format!("cancelled {what}: nothing of it was kept"), false));
                Vec::new()
            }
            Reply::TaskDone { task, result } => {
                self.task = None;
                match result {
                    Ok(msg) => {
                        self.status = Some((msg, false));
                        if task == "demo" {
                            self.screen = Screen::Dashboard;
                            self.customers = CustomerList::default();
                        }
                        let mut r = vec![Request::Dashboard];
                        r.extend(self.reload_customers());
                        // A recompute (or the demo's) has new segments and values.
                        r.extend(self.segments_request());
                        r
                    }
                    Err(e) => {
                        self.status = Some((format!("{task} failed: {e}"), true));
                        Vec::new()
                    }
                }
            }
            // Taken above by the part of the screens they belong to.
            _ => Vec::new(),
        }
    }
}

/// Subsequence match: every character of `needle` in order in `hay`; a higher score for
/// matches at word starts and for adjacent characters. `None` when it does not match.
pub fn fuzzy_score(needle: &str, hay: &str) -> Option<i64> {
    if needle.is_empty() {
        return Some(0);
    }
    let hay: Vec<char> = hay.chars().collect();
    let mut score = 0;
    let mut at = 0;
    let mut prev: Option<usize> = None;
    for n in needle.chars() {
        let found = (at..hay.len()).find(|&i| hay[i] == n)?;
        score += 1;
        if found == 0 || hay[found - 1] == ' ' {
            score += 3;
        }
        if prev == Some(found.wrapping_sub(1)) {
            score += 2;
        }
        prev = Some(found);
        at = found + 1;
    }
    Some(score - hay.len() as i64 / 10)
}

/// The parts of the screens that take their own replies, in the order they are asked.
const REPLY_PARTS: [ReplyPart; 10] = [
    App::removal_reply,
    App::audit_reply,
    App::segments_reply,
    App::agenda_reply,
    App::dashboard_reply,
    App::customers_reply,
    App::pipeline_reply,
    App::targets_reply,
    App::reports_reply,
    App::picker_reply,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matches_subsequences_and_prefers_word_starts() {
        assert!(fuzzy_score("rcmp", "recompute forecasts").is_some());
        assert!(fuzzy_score("xyz", "recompute").is_none());
        assert!(fuzzy_score("quit", "quit quit") > fuzzy_score("quit", "a quiet time"));
    }
}
