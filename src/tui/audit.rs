//! The Audit screen: who changed what and when, newest first, read a page at a time going
//! back (keyset paging on the entry id, so it stays quick on a long trail); `enter` shows
//! the selected entry's row before and after. Its state, keys and replies live here;
//! `view::audit` draws it.

use super::action::Action;
use super::state::{App, Screen};
use super::worker::{Reply, Request};
use crate::domain::audit::AuditEntry;

/// Entries read per page.
pub const AUDIT_PAGE: usize = 200;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditScreen {
    pub rows: Vec<AuditEntry>,
    pub selected: usize,
    /// The selected entry's before and after are shown.
    pub expanded: bool,
    /// A page is on its way.
    pub loading: bool,
    /// The oldest entry has been read.
    pub complete: bool,
    pub error: Option<String>,
    /// Where the table's view begins (kept between frames).
    pub scroll: crate::tui::view::table::Scroll,
}

impl AuditScreen {
    /// The request for the next page back, unless one is on its way or none is left.
    fn more(&mut self) -> Option<Request> {
        if self.loading || self.complete {
            return None;
        }
        self.loading = true;
        Some(Request::Audit {
            before_id: self.rows.last().map(|e| e.id),
        })
    }
}

impl App {
    /// Opens the Audit screen, reading the newest entries anew.
    pub fn open_audit(&mut self) -> Vec<Request> {
        self.screen = Screen::Audit;
        self.audit = AuditScreen::default();
        self.audit.more().into_iter().collect()
    }

    /// The Audit screen's keys; `None` for the ones it leaves to the rest of the app.
    pub(crate) fn audit_action(&mut self, action: Action) -> Option<Vec<Request>> {
        let a = &mut self.audit;
        let last = a.rows.len().saturating_sub(1);
        match action {
            _ if super::state::move_in_list(&mut a.selected, last, action) => {}
            Action::Open => a.expanded = !a.expanded,
            Action::Refresh => return Some(self.open_audit()),
            _ => return None,
        }
        // Near the end of what is loaded: read the next page back.
        if a.selected + 20 >= a.rows.len() {
            return Some(a.more().into_iter().collect());
        }
        Some(Vec::new())
    }

    /// The worker's replies for this screen; any other reply is given back.
    pub(super) fn audit_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        match reply {
            Reply::Audit { before_id, page } => {
                self.on_audit(before_id, page);
                Ok(Vec::new())
            }
            other => Err(other),
        }
    }

    /// A page of entries from the worker: `before_id` says which page it is.
    fn on_audit(&mut self, before_id: Option<i64>, page: Result<Vec<AuditEntry>, String>) {
        let a = &mut self.audit;
        // A page for an older request (the screen was reopened since) is dropped.
        if before_id != a.rows.last().map(|e| e.id) {
            return;
        }
        a.loading = false;
        match page {
            Ok(rows) => {
                a.complete = rows.len() < AUDIT_PAGE;
                a.rows.extend(rows);
                a.error = None;
            }
            Err(e) => a.error = Some(e),
        }
    }
}
