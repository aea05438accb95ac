//! The dashboard's keys (also on the forecast screen, which shares its keymap): the
//! panes, opening the screen behind one, recomputing, viewing the data as of its last day.

use super::*;

impl App {
    /// The dashboard's keys; `None`: not one of them.
    pub(crate) fn dashboard_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::ViewAsOfData => {
                let ends = self.dashboard.as_ref().and_then(|d| d.data_ends);
                let to = match ends {
                    _ if self.today != self.real_today => self.real_today,
                    Some(d) => d,
                    None => {
                        self.status = Some((
                            "the data is current: something closed in the last 90 days".into(),
                            false,
                        ));
                        return Some(Vec::new());
                    }
                };
                self.today = to;
                self.targets.period = crate::domain::Period::month_of(to);
                self.pipeline.stuck.clear();
                self.pipeline.stuck_learned = false;
                self.status = Some((
                    if to == self.real_today {
                        format!("back to today, {to}")
                    } else {
                        format!("viewing as of {to}, the last day with data (T: back to today)")
                    },
                    false,
                ));
                let mut out = vec![Request::SetToday(to), Request::Dashboard];
                if matches!(self.screen, Screen::Pipeline) {
                    out.push(Request::Board);
                    out.push(Request::StuckThresholds);
                }
                out
            }
            Action::Recompute => {
                if self.task.is_some() {
                    self.status = Some(("a background task is already running".into(), false));
                    return Some(Vec::new());
                }
                self.task = Some(Task {
                    name: "recompute",
                    phase: "starting".into(),
                    done: 0.0,
                });
                vec![Request::Recompute]
            }
            Action::PaneCustomers => self.focus(Pane::Customers),
            Action::PaneFunnel => self.focus(Pane::Funnel),
            Action::PaneTargets => self.focus(Pane::Targets),
            Action::PaneForecast => self.focus(Pane::Forecast),
            Action::Open => {
                match self.pane {
                    Pane::Customers => {
                        self.screen = Screen::Customers;
                        Vec::new()
                    }
                    Pane::Funnel => {
                        self.screen = Screen::Pipeline;
                        // Thresholds read a year of stage history (seconds at a million
                        // deals): learned once per session, in the background.
                        let mut out = vec![Request::Board];
                        if !self.pipeline.stuck_learned {
                            out.push(Request::StuckThresholds);
                        }
                        out
                    }
                    Pane::Targets => {
                        self.screen = Screen::Targets;
                        self.targets_request()
                    }
                    Pane::Forecast => {
                        self.screen = Screen::Forecast;
                        vec![Request::Monitoring]
                    }
                }
            }
            _ => return None,
        })
    }
}

impl App {
    /// The dashboard's replies (its data, the stage conversions, the database opened);
    /// any other reply is given back.
    pub(super) fn dashboard_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::Opened { empty } => {
                if empty {
                    self.screen = Screen::Welcome;
                    Vec::new()
                } else {
                    self.screen = Screen::Dashboard;
                    let mut r = vec![Request::Dashboard];
                    r.extend(self.reload_customers());
                    r.extend(self.segments_request());
                    r
                }
            }
            Reply::Monitoring(r) => {
                self.monitoring = Some(r.unwrap_or_else(|e| vec![e]));
                Vec::new()
            }
            Reply::Dashboard(Ok(d)) => {
                let needs_forecast = d.forecast.is_none() && self.task.is_none();
                self.dashboard = Some(*d);
                self.dashboard_error = None;
                // Conversion reads a year of stage history: it follows the first frame.
                let mut out = vec![Request::Conversions];
                if needs_forecast {
                    // No stored forecast yet: make the first one now, in the background.
                    self.task = Some(Task {
                        name: "recompute",
                        phase: "starting".into(),
                        done: 0.0,
                    });
                    out.push(Request::Recompute);
                }
                out
            }
            Reply::Conversions(Ok(c)) => {
                if let Some(d) = &mut self.dashboard {
                    for s in &mut d.funnel.stages {
                        s.conversion = c.get(&s.name).copied();
                    }
                }
                Vec::new()
            }
            Reply::Conversions(Err(e)) => {
                self.status = Some((e, true));
                Vec::new()
            }
            Reply::Dashboard(Err(e)) => {
                self.dashboard_error = Some(e.clone());
                self.status = Some((e, true));
                Vec::new()
            }
            other => return Err(other),
        })
    }
}
