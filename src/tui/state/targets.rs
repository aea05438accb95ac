//! The targets screen's keys: periods, metrics, setting, revising and proposing targets.

use super::*;

impl App {
    /// The targets screen's keys: periods, metrics, setting, revising and proposing targets. `None`: not one of them.
    pub(crate) fn targets_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::PrevPeriod | Action::NextPeriod => {
                let p = self.targets.period;
                self.targets.period = if action == Action::NextPeriod {
                    p.next()
                } else {
                    p.back(1)
                };
                self.targets.selected = 0;
                self.targets_request()
            }
            Action::CyclePeriodKind => {
                use crate::domain::Period;
                let today = self.today;
                self.targets.period = match self.targets.period {
                    Period::Month { .. } => Period::quarter_of(today),
                    Period::Quarter { .. } => Period::Year {
                        year: chrono::Datelike::year(&today),
                    },
                    Period::Year { .. } => Period::month_of(today),
                };
                self.targets.selected = 0;
                self.targets_request()
            }
            Action::CycleMetric => {
                let i = METRICS
                    .iter()
                    .position(|m| *m == self.targets.metric)
                    .unwrap_or(0);
                self.targets.metric = METRICS[(i + 1) % METRICS.len()];
                self.targets.selected = 0;
                self.targets_request()
            }
            Action::SetTarget => {
                use crate::app::edits::FormKind;
                let sel = self.targets.rows.get(self.targets.selected);
                let mut prefill = vec![
                    ("period", self.targets.period.to_string()),
                    ("metric", self.targets.metric.as_str().to_string()),
                    ("reason", "set in funnel".to_string()),
                ];
                if let Some(r) = sel {
                    prefill.push(("scope", r.target.scope.as_str().to_string()));
                    if r.target.scope != crate::domain::TargetScope::Company {
                        prefill.push(("name", r.target.name.clone()));
                    }
                } else {
                    prefill.push(("scope", "company".to_string()));
                }
                self.popup = Some(Popup::Form(Form::new(FormKind::SetTarget, &prefill)));
                Vec::new()
            }
            Action::ReviseTarget => {
                let Some(r) = self.targets.rows.get(self.targets.selected) else {
                    self.status = Some(("no target selected: `s` sets one".into(), true));
                    return Some(Vec::new());
                };
                let shown = crate::app::targets::format_value(r.target.metric, r.target.value);
                self.popup = Some(Popup::Form(Form::new(
                    crate::app::edits::FormKind::ReviseTarget(r.target.id),
                    &[("amount", shown)],
                )));
                Vec::new()
            }
            Action::ProposeTargets => {
                let next = self.targets.period.next();
                self.popup = Some(Popup::Form(Form::new(
                    crate::app::edits::FormKind::ProposeTargets,
                    &[
                        ("method", "goal".to_string()),
                        ("period", next.to_string()),
                        ("growth", "10".to_string()),
                    ],
                )));
                Vec::new()
            }
            _ => return None,
        })
    }
}

impl App {
    /// The worker's replies for this part of the screens; any other reply is given back.
    pub(super) fn targets_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::Targets {
                period,
                metric,
                rows,
            } => {
                // A reply for a period or metric the user has moved away from is stale.
                if period == self.targets.period && metric == self.targets.metric {
                    self.targets.loading = false;
                    match rows {
                        Ok(r) => {
                            self.targets.selected =
                                self.targets.selected.min(r.len().saturating_sub(1));
                            self.targets.rows = r;
                            self.targets.error = None;
                        }
                        Err(e) => self.targets.error = Some(e),
                    }
                }
                Vec::new()
            }
            Reply::Proposal(Ok(p)) => {
                self.popup = Some(Popup::Proposal {
                    proposal: p,
                    scroll: 0,
                    saving: false,
                });
                Vec::new()
            }
            Reply::Proposal(Err(errors)) => {
                if let Some(Popup::Form(form)) = &mut self.popup {
                    form.saving = false;
                    form.errors = errors;
                }
                Vec::new()
            }
            other => return Err(other),
        })
    }
}
