//! The Segments screen: the RFM segments of the last recompute with their profiles and
//! revenue share, who moved since the run before, and the value tiers. `enter` lists the
//! selected segment's customers; `R` recomputes. Its state, keys and replies live here;
//! `view::segments` draws it. The customer list's RFM filter cycles through the same
//! segment names.

use super::action::Action;
use super::state::{App, Screen};
use super::worker::{Reply, Request};
use crate::app::intel::Overview;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentsScreen {
    pub overview: Option<Overview>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
    /// Where the table's view begins (kept between frames).
    pub scroll: crate::tui::view::table::Scroll,
}

impl SegmentsScreen {
    /// The segment names of the last recompute, largest revenue first.
    pub fn names(&self) -> Vec<String> {
        self.overview
            .as_ref()
            .and_then(|o| o.segments.as_ref())
            .map(|s| s.profiles.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default()
    }
}

impl App {
    /// Opens the Segments screen, reading the last recompute anew.
    pub fn open_segments(&mut self) -> Vec<Request> {
        self.screen = Screen::Segments;
        self.segments_request()
    }

    pub(super) fn segments_request(&mut self) -> Vec<Request> {
        self.segments.loading = true;
        vec![Request::Segments]
    }

    /// The Segments screen's keys; `None` for the ones it leaves to the rest of the app.
    pub(crate) fn segments_action(&mut self, action: Action) -> Option<Vec<Request>> {
        let names = self.segments.names();
        let last = names.len().saturating_sub(1);
        match action {
            _ if super::state::move_in_list(&mut self.segments.selected, last, action) => {
                Some(Vec::new())
            }
            Action::Open => {
                let name = names.get(self.segments.selected)?.clone();
                self.customers.filter = Default::default();
                self.customers.filter.rfm_segment = Some(name);
                self.screen = Screen::Customers;
                Some(self.reload_customers())
            }
            Action::Recompute => self.dashboard_action(action),
            _ => None,
        }
    }

    /// The worker's replies for this screen; any other reply is given back.
    pub(super) fn segments_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        match reply {
            Reply::Segments(o) => {
                self.on_segments(o);
                Ok(Vec::new())
            }
            other => Err(other),
        }
    }

    /// The last recompute's segments from the worker.
    fn on_segments(&mut self, overview: Result<Box<Overview>, String>) {
        let s = &mut self.segments;
        s.loading = false;
        match overview {
            Ok(o) => {
                s.overview = Some(*o);
                s.error = None;
                s.selected = s.selected.min(s.names().len().saturating_sub(1));
            }
            Err(e) => s.error = Some(e),
        }
    }

    /// The next RFM segment for the customer list's filter (none after the last).
    pub(super) fn next_rfm_segment(&self) -> Option<String> {
        let names = self.segments.names();
        let at = self
            .customers
            .filter
            .rfm_segment
            .as_ref()
            .and_then(|c| names.iter().position(|n| n == c));
        match at {
            None => names.first().cloned(),
            Some(i) => names.get(i + 1).cloned(),
        }
    }
}
