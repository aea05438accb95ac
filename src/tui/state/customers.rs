//! The customer list's and the customer view's keys: search, filters, sort, opening, merging (also `/` on the dashboard).

use super::*;

impl App {
    /// The customer list's and the customer view's keys: search, filters, sort, opening, merging (also `/` on the dashboard). `None`: not one of them.
    pub(crate) fn customers_action(&mut self, action: Action) -> Option<Vec<Request>> {
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
            Action::FilterRfm => {
                self.customers.filter.rfm_segment = self.next_rfm_segment();
                if self.customers.filter.rfm_segment.is_none() && self.segments.names().is_empty() {
                    self.status = Some((
                        "no RFM segments yet: R (dashboard) recomputes them".into(),
                        false,
                    ));
                }
                self.reload_customers()
            }
            Action::FilterTier => {
                self.customers.filter.tier = cycle(&TIERS, &self.customers.filter.tier);
                self.reload_customers()
            }
            Action::FilterChurn => {
                let f = &mut self.customers.filter;
                f.min_churn_pct = match f.min_churn_pct {
                    None => Some(25),
                    Some(25) => Some(50),
                    Some(50) => Some(75),
                    _ => None,
                };
                self.reload_customers()
            }
            Action::FilterStatus => {
                self.customers.filter.status = cycle(&STATUSES, &self.customers.filter.status);
                self.reload_customers()
            }
            Action::FilterOwner | Action::FilterRegion | Action::FilterPredicted => {
                self.screen = Screen::Customers;
                let f = &self.customers.filter;
                let (field, current) = match action {
                    Action::FilterOwner => (FilterField::Owner, f.owner.clone()),
                    Action::FilterRegion => (FilterField::Region, f.region.clone()),
                    _ => (
                        FilterField::MinPredicted,
                        f.min_predicted_cents
                            .map(|c| crate::domain::Money(c).to_string()),
                    ),
                };
                self.popup = Some(Popup::Filter {
                    field,
                    input: crate::tui::line::Input {
                        cursor: crate::tui::line::Cursor::enter(current.as_deref().unwrap_or("")),
                        text: current.unwrap_or_default(),
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

impl App {
    /// The worker's replies for this part of the screens; any other reply is given back.
    pub(super) fn customers_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::CustomerDetail { gen, detail } => {
                if gen == self.detail_gen {
                    match detail {
                        Ok(d) => {
                            self.detail = d.map(|b| *b);
                            match &self.detail {
                                Some(d) => {
                                    let last = |n: usize| n.saturating_sub(1);
                                    self.contact_sel = self.contact_sel.min(last(d.contacts.len()));
                                    self.activity_sel =
                                        self.activity_sel.min(last(d.activities.len()));
                                }
                                None if self.screen == Screen::Detail => {
                                    // Deleted or merged away (here or elsewhere).
                                    self.screen = Screen::Customers;
                                    if self.status.as_ref().is_none_or(|s| s.1) {
                                        self.status =
                                            Some(("that customer no longer exists".into(), true));
                                    }
                                }
                                None => {}
                            }
                        }
                        Err(e) => self.status = Some((e, true)),
                    }
                    if std::mem::take(&mut self.edit_when_loaded) && self.detail.is_some() {
                        let mut out = self.open_form(Action::Edit);
                        out.extend(self.sync_picker());
                        return Ok(out);
                    }
                }
                Vec::new()
            }
            Reply::Customers {
                gen,
                anchor,
                rows,
                total,
            } => {
                if gen != self.customers.gen {
                    return Ok(Vec::new()); // stale: a newer request is on its way
                }
                let c = &mut self.customers;
                c.loading = false;
                if let Some(t) = total {
                    c.total = Some(t);
                }
                let rows = match rows {
                    Ok(r) => r,
                    Err(e) => {
                        self.status = Some((e, true));
                        return Ok(Vec::new());
                    }
                };
                match anchor {
                    Anchor::Replace { first_index } => {
                        c.first = first_index;
                        c.rows = rows;
                    }
                    Anchor::Append => {
                        c.rows.extend(rows);
                        if c.rows.len() > WINDOW {
                            let drop = c.rows.len() - WINDOW;
                            c.rows.drain(..drop);
                            c.first += drop;
                        }
                    }
                    Anchor::Prepend => {
                        let n = rows.len();
                        let mut joined = rows;
                        joined.append(&mut c.rows);
                        c.rows = joined;
                        c.first = c.first.saturating_sub(n);
                        c.rows.truncate(WINDOW);
                    }
                }
                if c.total.is_none() {
                    c.total = Some(c.rows.len() as i64);
                }
                let last = c.last_index();
                c.selected = c.selected.min(last).max(c.first.min(last));
                if c.selected >= c.first + c.rows.len() && !c.rows.is_empty() {
                    c.selected = c.first + c.rows.len() - 1;
                }
                Vec::new()
            }
            other => return Err(other),
        })
    }
}

impl App {
    /// The first customer of the list (the first page is loaded when it is not).
    pub(super) fn customers_top(&mut self) -> Vec<Request> {
        self.customers.selected = 0;
        if self.customers.first == 0 && !self.customers.rows.is_empty() {
            return Vec::new();
        }
        self.customer_request(
            None,
            PageDirection::Forward,
            Anchor::Replace { first_index: 0 },
            false,
        )
    }

    /// The last customer of the list (the last page is loaded when it is not).
    pub(super) fn customers_bottom(&mut self) -> Vec<Request> {
        let Some(total) = self.customers.total else {
            return Vec::new();
        };
        let last = (total.max(1) - 1) as usize;
        self.customers.selected = last;
        let loaded_to = self.customers.first + self.customers.rows.len();
        if loaded_to == total as usize {
            return Vec::new();
        }
        let first_index = (total as usize).saturating_sub(PAGE);
        self.customer_request(
            None,
            PageDirection::Backward,
            Anchor::Replace { first_index },
            false,
        )
    }
}
