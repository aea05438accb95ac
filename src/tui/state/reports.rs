//! The reports screen's keys: running, breaking down, scrolling and exporting a report.

use super::*;

impl App {
    /// The reports screen's keys: running, breaking down, scrolling and exporting a report. `None`: not one of them.
    pub(crate) fn reports_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::NextPane => {
                let n = self
                    .reports
                    .report
                    .as_ref()
                    .map(|r| r.table.columns.len())
                    .unwrap_or(0);
                self.reports.col_offset = (self.reports.col_offset + 1).min(n.saturating_sub(2));
                Vec::new()
            }
            Action::PrevPane => {
                self.reports.col_offset = self.reports.col_offset.saturating_sub(1);
                Vec::new()
            }
            Action::Open => self.report_request(),
            Action::CycleBreakdown => {
                let i = BREAKDOWNS
                    .iter()
                    .position(|b| *b == self.reports.by)
                    .unwrap_or(0);
                self.reports.by = BREAKDOWNS[(i + 1) % BREAKDOWNS.len()];
                self.report_request()
            }
            Action::ExportReport => {
                let Some(r) = &self.reports.report else {
                    self.status = Some(("run a report first (enter)".into(), true));
                    return Some(Vec::new());
                };
                self.status = Some(("exporting…".into(), false));
                vec![Request::ExportReport {
                    report: Box::new(r.clone()),
                    by: self.reports.by.map(str::to_string),
                }]
            }
            _ => return None,
        })
    }
}

impl App {
    /// The worker's replies for this part of the screens; any other reply is given back.
    pub(super) fn reports_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::Report(result) => {
                self.reports.loading = false;
                match result {
                    Ok(r) => {
                        self.reports.report = Some(*r);
                        self.reports.scroll = 0;
                        self.reports.col_offset = 0;
                    }
                    Err(e) => self.status = Some((e, true)),
                }
                Vec::new()
            }
            Reply::Exported(result) => {
                self.status = Some(match result {
                    Ok(m) => (m, false),
                    Err(e) => (format!("export failed: {e}"), true),
                });
                Vec::new()
            }
            other => return Err(other),
        })
    }
}
