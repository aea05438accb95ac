//! Pure analytics over plain data: no SQL, no terminal.

pub mod allocation;
pub mod arima;
pub mod baskets;
pub mod clv;
pub mod ets;
pub mod forecast;
pub mod funnel;
pub mod montecarlo;
pub mod needs;
pub mod pipeline;
pub mod regression;
pub mod scoring;
pub mod segments;
pub mod stats;
pub mod stl;
pub mod targets;
pub mod tree;
pub mod ts;
pub mod visits;
