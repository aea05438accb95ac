//! Pure analytics over plain data: no SQL, no terminal.

pub mod forecast;
pub mod montecarlo;
pub mod pipeline;
pub mod scoring;
pub mod stats;
pub mod targets;
pub mod ts;
