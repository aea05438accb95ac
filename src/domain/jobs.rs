//! Cancelling long jobs: a flag the front end sets and the store watches while the job's
//! statements run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set from any thread to stop the job that runs on a connection watching it: its running
/// statement, and every statement it starts after, fail as interrupted (a write in a
/// transaction is then rolled back whole). Work between statements (a model being fitted)
/// runs on until the job's next statement.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears the flag for the next job.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_sees_the_cancel_and_a_reset_clears_it() {
        let flag = CancelFlag::default();
        let seen = flag.clone();
        assert!(!seen.is_cancelled());
        flag.cancel();
        assert!(seen.is_cancelled());
        seen.reset();
        assert!(!flag.is_cancelled());
    }
}
