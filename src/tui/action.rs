//! Everything a key can ask for. Keys never change state directly: the keymap turns them
//! into actions and `App::update` applies those.

macro_rules! actions {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action { $($variant),+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            /// The name used in keymap.toml and shown in the palette.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)+ _ => None }
            }
        }
    };
}

actions! {
    Quit = "quit",
    Help = "help",
    Palette = "palette",
    MoveDown = "move_down",
    MoveUp = "move_up",
    Top = "top",
    Bottom = "bottom",
    HalfPageDown = "half_page_down",
    HalfPageUp = "half_page_up",
    NextPane = "next_pane",
    PrevPane = "prev_pane",
    PaneCustomers = "pane_customers",
    PaneFunnel = "pane_funnel",
    PaneTargets = "pane_targets",
    PaneForecast = "pane_forecast",
    Open = "open",
    Back = "back",
    Search = "search",
    ClearFilter = "clear_filter",
    CycleSort = "cycle_sort",
    FilterSegment = "filter_segment",
    FilterStatus = "filter_status",
    Recompute = "recompute",
    Refresh = "refresh",
    LoadDemo = "load_demo",
    StageForward = "stage_forward",
    StageBack = "stage_back",
    MarkWon = "mark_won",
    MarkLost = "mark_lost",
    ToggleView = "toggle_view",
    Add = "add",
    Edit = "edit",
    AddContact = "add_contact",
    EditContact = "edit_contact",
    LogActivity = "log_activity",
    FilterOwner = "filter_owner",
    FilterRegion = "filter_region",
    Explain = "explain",
    PrevPeriod = "prev_period",
    NextPeriod = "next_period",
    CyclePeriodKind = "cycle_period_kind",
    CycleMetric = "cycle_metric",
    SetTarget = "set_target",
    ReviseTarget = "revise_target",
    ProposeTargets = "propose_targets",
    OpenReports = "open_reports",
    CycleBreakdown = "cycle_breakdown",
    ExportReport = "export_report",
    ViewAsOfData = "view_as_of_data",
    OpenSetup = "open_setup",
    OpenAudit = "open_audit",
    OpenSegments = "open_segments",
    OpenAgenda = "open_agenda",
    AgendaDone = "agenda_done",
    AgendaSnooze = "agenda_snooze",
    AgendaReassign = "agenda_reassign",
    CycleRep = "cycle_rep",
    Allocate = "allocate",
    SavePlan = "save_plan",
    FilterRfm = "filter_rfm",
    FilterTier = "filter_tier",
    FilterChurn = "filter_churn",
    FilterPredicted = "filter_predicted",
    Undo = "undo",
    CancelJob = "cancel_job",
    Delete = "delete",
    Merge = "merge",
    // Text fields (every one: forms, search, filters, the palette).
    CursorLeft = "cursor_left",
    CursorRight = "cursor_right",
    LineStart = "line_start",
    LineEnd = "line_end",
    DeleteBack = "delete_back",
    DeleteForward = "delete_forward",
    KillToStart = "kill_to_start",
    KillToEnd = "kill_to_end",
    KillWord = "kill_word",
    // Forms and popups.
    Submit = "submit",
    NextField = "next_field",
    PrevField = "prev_field",
    TakeTheirs = "take_theirs",
    Confirm = "confirm",
    ConfirmAnyway = "confirm_anyway",
    Cancel = "cancel",
    PickNext = "pick_next",
    PickPrev = "pick_prev",
}
