//! A stored forecast run and its series, as the screens and commands show them.

/// A stored forecast run with its series.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRun {
    pub id: i64,
    pub created_at: String,
    pub level: String,
    pub last_actual: String,
    pub note: Option<String>,
    pub series: Vec<ForecastSeries>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForecastSeries {
    pub key: String,
    pub model: String,
    pub backtest_mase: Option<f64>,
    /// (period, value) of the actuals, oldest first.
    pub history: Vec<(String, f64)>,
    /// (period, forecast, lo, hi), in order.
    pub points: Vec<(String, f64, f64, f64)>,
}
