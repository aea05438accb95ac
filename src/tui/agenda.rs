//! The Agenda screen: today's and overdue follow-ups and contacts, the visit plan for the
//! next working days with each customer's priority and reasons, the alerts the rules
//! raised, and (on `A`) the allocation of the month's hours by linear programming. One key
//! (`n`) logs the visit or call with its outcome and next follow-up (and completes the
//! follow-up it came from); `x` marks a follow-up done, `z` snoozes it, `a` gives it to
//! another rep, `w` shows another rep's agenda. Its state, keys and replies live here;
//! `view::agenda` draws it.

use super::action::Action;
use super::state::{App, Form, Popup, Screen};
use super::worker::{Reply, Request};
use crate::app::agenda::Whose;
use crate::app::edits::FormKind;

/// The lists of the screen, in `tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgendaPane {
    #[default]
    Due,
    Plan,
    Alerts,
    Allocation,
}

impl AgendaPane {
    pub const ALL: [AgendaPane; 4] = [
        AgendaPane::Due,
        AgendaPane::Plan,
        AgendaPane::Alerts,
        AgendaPane::Allocation,
    ];
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgendaScreen {
    pub data: Option<crate::app::agenda::Screen>,
    pub whose: Option<Whose>,
    pub pane: AgendaPane,
    /// The selected row of each pane.
    pub selected: [usize; 4],
    pub allocation: Option<crate::app::allocate::Allocated>,
    pub allocating: bool,
    pub loading: bool,
    pub error: Option<String>,
    pub scroll: crate::tui::view::table::Scroll,
}

impl AgendaScreen {
    fn rows(&self, pane: AgendaPane) -> usize {
        match (pane, &self.data) {
            (AgendaPane::Due, Some(d)) => d.items.len(),
            (AgendaPane::Plan, Some(d)) => d.plan.len(),
            (AgendaPane::Alerts, Some(d)) => d.alerts.1.len(),
            (AgendaPane::Allocation, _) => self.allocation.as_ref().map_or(0, |a| a.reps.len()),
            _ => 0,
        }
    }

    fn index(pane: AgendaPane) -> usize {
        AgendaPane::ALL.iter().position(|p| *p == pane).unwrap_or(0)
    }

    /// The selected row of the pane shown.
    pub fn selected(&self) -> usize {
        self.selected[Self::index(self.pane)]
    }
}

impl App {
    /// Opens the Agenda screen, reading it anew.
    pub fn open_agenda(&mut self) -> Vec<Request> {
        self.screen = Screen::Agenda;
        self.agenda_request()
    }

    pub(super) fn agenda_request(&mut self) -> Vec<Request> {
        self.agenda.loading = true;
        vec![Request::Agenda {
            whose: self.agenda.whose.clone().unwrap_or(Whose::Default),
        }]
    }

    /// The Agenda screen's keys; `None` for the ones it leaves to the rest of the app.
    pub(crate) fn agenda_action(&mut self, action: Action) -> Option<Vec<Request>> {
        let a = &mut self.agenda;
        let pane = AgendaScreen::index(a.pane);
        let last = a.rows(a.pane).saturating_sub(1);
        match action {
            _ if super::state::move_in_list(&mut a.selected[pane], last, action) => {
                Some(Vec::new())
            }
            Action::NextPane | Action::PrevPane => {
                let step = if action == Action::NextPane { 1 } else { 3 };
                a.pane = AgendaPane::ALL[(pane + step) % 4];
                Some(Vec::new())
            }
            Action::CycleRep => {
                let reps = a.data.as_ref().map(|d| d.reps.clone()).unwrap_or_default();
                let now = a.data.as_ref().and_then(|d| d.rep.clone());
                let next = match now.and_then(|r| reps.iter().position(|x| *x == r)) {
                    Some(i) if i + 1 < reps.len() => Whose::Rep(reps[i + 1].clone()),
                    Some(_) => Whose::Everyone,
                    None => reps
                        .first()
                        .cloned()
                        .map(Whose::Rep)
                        .unwrap_or(Whose::Everyone),
                };
                a.whose = Some(next);
                a.selected = [0; 4];
                Some(self.agenda_request())
            }
            Action::Allocate => {
                a.pane = AgendaPane::Allocation;
                a.allocating = true;
                Some(vec![Request::Allocate])
            }
            Action::LogActivity => Some(self.agenda_log()),
            Action::SavePlan => {
                let d = a.data.as_ref()?;
                match (&d.rep, d.plan.is_empty()) {
                    (Some(rep), false) => Some(vec![Request::SavePlan {
                        rep: rep.clone(),
                        method: d.plan_method.clone(),
                        plan: d.plan.clone(),
                    }]),
                    _ => {
                        self.status = Some(("no plan to save (w chooses a rep)".into(), false));
                        Some(Vec::new())
                    }
                }
            }
            Action::AgendaDone => Some(self.agenda_done()),
            Action::AgendaSnooze | Action::AgendaReassign => {
                let Some(id) = self.selected_activity() else {
                    self.status = Some((
                        "choose a follow-up in the Due list (a contact overdue has none to move)"
                            .into(),
                        false,
                    ));
                    return Some(Vec::new());
                };
                let form = if action == Action::AgendaSnooze {
                    let tomorrow = self.today.succ_opt().unwrap_or(self.today);
                    Form::new(FormKind::Snooze(id), &[("to", tomorrow.to_string())])
                } else {
                    Form::new(FormKind::Reassign(id), &[])
                };
                self.popup = Some(Popup::Form(form));
                Some(Vec::new())
            }
            Action::Recompute | Action::Refresh => Some(self.agenda_request()),
            _ => None,
        }
    }

    /// The open activity of the selected Due row.
    fn selected_activity(&self) -> Option<i64> {
        let a = &self.agenda;
        (a.pane == AgendaPane::Due)
            .then(|| a.data.as_ref()?.items.get(a.selected())?.activity_id)
            .flatten()
    }

    /// `n`: the activity form for the selected row's customer — a visit for a planned
    /// contact; for a follow-up its kind and subject, completing it when saved.
    fn agenda_log(&mut self) -> Vec<Request> {
        let a = &self.agenda;
        let Some(d) = &a.data else {
            return Vec::new();
        };
        let today = self.today.to_string();
        let rep = d.rep.clone().unwrap_or_default();
        let form = match a.pane {
            AgendaPane::Due => d.items.get(a.selected()).map(|i| {
                let kind = if ["call", "visit", "email", "meeting"].contains(&i.kind.as_str()) {
                    i.kind.clone()
                } else {
                    "call".into()
                };
                let subject = if i.activity_id.is_some() {
                    i.subject.clone()
                } else {
                    String::new()
                };
                Form::new(
                    FormKind::Activity {
                        customer_id: i.customer_id,
                        completes: i.activity_id,
                    },
                    &[
                        ("kind", kind),
                        ("subject", subject),
                        ("done_on", today.clone()),
                        ("rep", i.rep.clone().unwrap_or(rep.clone())),
                        ("deal", i.deal.clone().unwrap_or_default()),
                    ],
                )
            }),
            AgendaPane::Plan => d.plan.get(a.selected()).map(|p| {
                Form::new(
                    FormKind::Activity {
                        customer_id: p.visit.customer_id,
                        completes: None,
                    },
                    &[
                        ("kind", "visit".into()),
                        ("subject", "planned visit".into()),
                        ("done_on", today.clone()),
                        ("rep", rep.clone()),
                    ],
                )
            }),
            _ => None,
        };
        match form {
            Some(f) => self.popup = Some(Popup::Form(f)),
            None => {
                self.status = Some((
                    "choose a row in the Due or Plan list to log a contact".into(),
                    false,
                ))
            }
        }
        Vec::new()
    }

    /// `x`: the selected follow-up done today (Due), or the selected alert dismissed.
    fn agenda_done(&mut self) -> Vec<Request> {
        let a = &self.agenda;
        if a.pane == AgendaPane::Alerts {
            let alert = a
                .data
                .as_ref()
                .and_then(|d| d.alerts.1.get(a.selected()))
                .map(|x| x.id);
            return match alert {
                Some(id) => vec![Request::DismissAlert { id }],
                None => Vec::new(),
            };
        }
        match self.selected_activity() {
            Some(id) => vec![Request::AgendaDone { id }],
            None => {
                self.status = Some((
                    "choose a follow-up in the Due list (n logs a contact with a customer)".into(),
                    false,
                ));
                Vec::new()
            }
        }
    }

    /// The worker's replies for this screen; any other reply is given back.
    pub(super) fn agenda_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        match reply {
            Reply::Agenda(r) => {
                let a = &mut self.agenda;
                a.loading = false;
                match r {
                    Ok(d) => {
                        a.data = Some(*d);
                        a.error = None;
                        for p in AgendaPane::ALL {
                            let last = a.rows(p).saturating_sub(1);
                            let i = AgendaScreen::index(p);
                            a.selected[i] = a.selected[i].min(last);
                        }
                    }
                    Err(e) => a.error = Some(e),
                }
                Ok(Vec::new())
            }
            Reply::Allocation(r) => {
                let a = &mut self.agenda;
                a.allocating = false;
                match r {
                    Ok(x) => a.allocation = Some(*x),
                    Err(e) => self.status = Some((e, true)),
                }
                Ok(Vec::new())
            }
            Reply::AgendaChanged(r) => {
                let mut out = Vec::new();
                match r {
                    Ok(msg) => {
                        self.status = Some((msg, false));
                        out.push(Request::Dashboard);
                        out.extend(self.agenda_request());
                    }
                    Err(e) => self.status = Some((e, true)),
                }
                Ok(out)
            }
            other => Err(other),
        }
    }
}
