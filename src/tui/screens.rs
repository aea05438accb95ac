//! The screens, registered in one place. Each entry names what the frame around a screen
//! needs (its title, keymap context and key hints) and the two functions that are the
//! screen: its keys (in `state/<screen>.rs`, or `audit.rs`/`setup.rs`) and its drawing (in
//! `view/<screen>.rs`). The state keeps each screen's own data; its replies from the
//! worker are taken by the reply parts of the same modules (`App::on_reply`).
//!
//! Adding a screen: a `Screen` variant, its state and view modules, and one entry here.

use super::action::Action::{self, *};
use super::keymap::Context;
use super::state::{App, Screen};
use super::view;
use super::worker::Request;
use ratatui::layout::Rect;
use ratatui::Frame;

/// One screen as the rest of the TUI sees it.
pub struct ScreenDef {
    pub screen: Screen,
    /// Shown in the header.
    pub title: &'static str,
    /// The keymap context whose bindings apply (before the global ones).
    pub context: Context,
    /// The footer's hints, most useful first (as many as fit are shown).
    pub hints: &'static [Action],
    /// The screen's keys; `None` leaves the action to the keys every screen has.
    pub keys: fn(&mut App, Action) -> Option<Vec<Request>>,
    pub render: fn(&App, &mut Frame, Rect),
}

fn no_keys(_: &mut App, _: Action) -> Option<Vec<Request>> {
    None
}

/// The dashboard's panes include the customer list, whose keys it shares.
fn dashboard_keys(app: &mut App, action: Action) -> Option<Vec<Request>> {
    app.customers_action(action)
        .or_else(|| app.dashboard_action(action))
}

pub static SCREENS: &[ScreenDef] = &[
    ScreenDef {
        screen: Screen::Loading,
        title: "welcome",
        context: Context::Welcome,
        hints: &[LoadDemo, Help, Quit],
        keys: no_keys,
        render: view::render_loading,
    },
    ScreenDef {
        screen: Screen::Welcome,
        title: "welcome",
        context: Context::Welcome,
        hints: &[LoadDemo, Help, Quit],
        keys: no_keys,
        render: view::render_welcome,
    },
    ScreenDef {
        screen: Screen::Dashboard,
        title: "dashboard",
        context: Context::Dashboard,
        hints: &[
            NextPane,
            Open,
            OpenReports,
            Search,
            Recompute,
            Palette,
            Help,
            Quit,
        ],
        keys: dashboard_keys,
        render: view::dashboard::render,
    },
    ScreenDef {
        screen: Screen::Customers,
        title: "customers",
        context: Context::Customers,
        hints: &[
            Open,
            Search,
            CycleSort,
            FilterSegment,
            FilterRfm,
            FilterTier,
            FilterChurn,
            ClearFilter,
            Back,
            Help,
        ],
        keys: App::customers_action,
        render: view::customers::render_screen,
    },
    ScreenDef {
        screen: Screen::Detail,
        title: "customer",
        context: Context::Customers,
        hints: &[Edit, AddContact, EditContact, LogActivity, Back, Help, Quit],
        keys: App::customers_action,
        render: view::detail::render,
    },
    ScreenDef {
        screen: Screen::Pipeline,
        title: "pipeline",
        context: Context::Pipeline,
        hints: &[
            NextPane,
            StageForward,
            StageBack,
            MarkWon,
            MarkLost,
            LogActivity,
            ToggleView,
            Back,
            Help,
        ],
        keys: App::pipeline_action,
        render: view::pipeline::render,
    },
    ScreenDef {
        screen: Screen::Targets,
        title: "targets",
        context: Context::Targets,
        hints: &[
            NextPeriod,
            CyclePeriodKind,
            CycleMetric,
            SetTarget,
            ReviseTarget,
            ProposeTargets,
            Back,
            Help,
        ],
        keys: App::targets_action,
        render: view::targets::render,
    },
    ScreenDef {
        screen: Screen::Forecast,
        title: "forecast",
        context: Context::Dashboard,
        hints: &[MoveDown, Recompute, Back, Help, Quit],
        keys: dashboard_keys,
        render: view::forecast::render,
    },
    ScreenDef {
        screen: Screen::Reports,
        title: "reports",
        context: Context::Reports,
        hints: &[Open, CycleBreakdown, ExportReport, Back, Help, Quit],
        keys: App::reports_action,
        render: view::reports::render,
    },
    ScreenDef {
        screen: Screen::Setup,
        title: "setup",
        context: Context::Setup,
        hints: &[NextPane, Add, Edit, Back, Help, Quit],
        keys: App::setup_action,
        render: view::setup::render,
    },
    ScreenDef {
        screen: Screen::Audit,
        title: "audit",
        context: Context::Audit,
        hints: &[MoveDown, Open, Refresh, Back, Help, Quit],
        keys: App::audit_action,
        render: view::audit::render,
    },
    ScreenDef {
        screen: Screen::Segments,
        title: "segments",
        context: Context::Segments,
        hints: &[MoveDown, Open, Recompute, Back, Help, Quit],
        keys: App::segments_action,
        render: view::segments::render,
    },
    ScreenDef {
        screen: Screen::Agenda,
        title: "agenda",
        context: Context::Agenda,
        hints: &[
            NextPane,
            LogActivity,
            AgendaDone,
            AgendaSnooze,
            AgendaReassign,
            CycleRep,
            SavePlan,
            Allocate,
            Back,
            Help,
        ],
        keys: App::agenda_action,
        render: view::agenda::render,
    },
];

/// The registered entry of a screen.
pub fn def(screen: Screen) -> &'static ScreenDef {
    SCREENS
        .iter()
        .find(|d| d.screen == screen)
        .expect("every screen is registered (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_is_registered_once() {
        for s in Screen::ALL {
            let n = SCREENS.iter().filter(|d| d.screen == *s).count();
            assert_eq!(n, 1, "{s:?}");
            assert_eq!(def(*s).screen, *s);
        }
        assert_eq!(SCREENS.len(), Screen::ALL.len());
    }
}
