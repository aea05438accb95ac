//! Plain types and validation of the sales model. No I/O.

pub mod date;
pub mod kinds;
pub mod money;
pub mod period;
pub mod records;
pub mod setup;
pub mod table;

pub use kinds::*;
pub use money::{parse_amount, Money};
pub use period::Period;
pub use table::{Cell, Table};
