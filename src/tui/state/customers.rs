//! The customer list's and the customer view's keys: search, filters, sort, opening, merging (also `/` on the dashboard).

use super::*;

impl App {
    /// The customer list's and the customer view's keys: search, filters, sort, opening, merging (also `/` on the dashboard). `None`: not one of them.
    pub(super) fn customers_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::NextPane | Action::PrevPane if self.screen == Screen::Detail => {
                self.timeline_focus = !self.timeline_focus;
                Vec::new()
            }
            Action::Open if matches!(self.screen, Screen::Customers | Screen::Detail) => {
                let Some(id) = self.customers.selected_row().map(|r| r.id) else {
                    return Some(Vec::new());
                };
                self.screen = Screen::Detail;
                self.detail_gen += 1;
                vec![Request::CustomerDetail {
                    gen: self.detail_gen,
                    id,
                }]
            }
            Action::Search => {
                self.screen = Screen::Customers;
                self.customers.editing_search = true;
                self.customers.search_cursor = crate::tui::line::Cursor {
                    at: self.customers.filter.search.chars().count(),
                    selected: false,
                };
                Vec::new()
            }
            Action::ClearFilter => {
                self.customers.filter = CustomerFilter::default();
                self.reload_customers()
            }
            Action::CycleSort => {
                self.customers.sort = self.customers.sort.next();
                self.reload_customers()
            }
            Action::FilterSegment => {
                self.customers.filter.segment = cycle(&SEGMENTS, &self.customers.filter.segment);
                self.reload_customers()
            }
            Action::FilterStatus => {
                self.customers.filter.status = cycle(&STATUSES, &self.customers.filter.status);
                self.reload_customers()
            }
            Action::FilterOwner | Action::FilterRegion => {
                let owner = action == Action::FilterOwner;
                self.screen = Screen::Customers;
                let current = if owner {
                    &self.customers.filter.owner
                } else {
                    &self.customers.filter.region
                };
                self.popup = Some(Popup::Filter {
                    owner,
                    input: crate::tui::line::Input {
                        cursor: crate::tui::line::Cursor::enter(current.as_deref().unwrap_or("")),
                        text: current.clone().unwrap_or_default(),
                    },
                });
                Vec::new()
            }
            Action::Merge => {
                let gone = match self.screen {
                    Screen::Detail => self.detail.as_ref().map(|d| (d.id, d.name.clone())),
                    Screen::Customers => self
                        .customers
                        .selected_row()
                        .map(|r| (r.id, r.name.clone())),
                    _ => None,
                };
                if let Some((id, name)) = gone {
                    self.popup = Some(Popup::Form(Form::new(
                        crate::app::edits::FormKind::MergeCustomer(id),
                        &[],
                    )));
                    self.status = Some((
                        format!("merging {name}: name the customer that stays; ctrl-s merges (u undoes it)"),
                        false,
                    ));
                }
                Vec::new()
            }
            _ => return None,
        })
    }
}
