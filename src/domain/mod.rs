//! Plain types and validation of the sales model. No I/O.

pub mod agenda;
pub mod audit;
pub mod bulk;
pub mod customers;
pub mod date;
pub mod deals;
pub mod forecasts;
pub mod funnel;
pub mod import;
pub mod intel;
pub mod jobs;
pub mod kinds;
pub mod money;
pub mod period;
pub mod records;
pub mod rules;
pub mod scoring;
pub mod segments;
pub mod setup;
pub mod table;
pub mod targets;

pub use kinds::*;
pub use money::{parse_amount, Money};
pub use period::Period;
pub use table::{Cell, Table};
