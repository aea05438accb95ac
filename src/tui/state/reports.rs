//! The reports screen's keys: running, breaking down, scrolling and exporting a report.

use super::*;

impl App {
    /// The reports screen's keys: running, breaking down, scrolling and exporting a report. `None`: not one of them.
    pub(super) fn reports_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::NextPane if self.screen == Screen::Reports => {
                let n = self
                    .reports
                    .report
                    .as_ref()
                    .map(|r| r.table.columns.len())
                    .unwrap_or(0);
                self.reports.col_offset = (self.reports.col_offset + 1).min(n.saturating_sub(2));
                Vec::new()
            }
            Action::PrevPane if self.screen == Screen::Reports => {
                self.reports.col_offset = self.reports.col_offset.saturating_sub(1);
                Vec::new()
            }
            Action::Open if self.screen == Screen::Reports => self.report_request(),
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
