//! The one progress reporter of the command line: a bar with the phase and the elapsed
//! time on stderr when it is a terminal, nothing at all when it is not (logs and pipes get
//! only the result).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A reporter for `task` ("demo", "recompute", …).
    pub fn new(task: &str) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{task} {{bar:30}} {{percent:>3}}% {{msg}} ({{elapsed}})"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▌ "),
        );
        Progress { bar }
    }

    /// The share done (0 to 1) and the phase now under way.
    pub fn update(&self, phase: &str, done: f64) {
        self.bar
            .set_position((done.clamp(0.0, 1.0) * 1000.0).round() as u64);
        self.bar.set_message(phase.to_string());
    }
}

impl Drop for Progress {
    /// Done or failed, the bar leaves the terminal clean for what is printed next.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
