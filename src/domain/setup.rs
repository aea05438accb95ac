//! The organisation as the Setup screen lists it: teams, reps, products and stages.

use super::{ForecastCategory, Money, StageKind};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TeamRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub parent: Option<String>,
    /// Depth in the team tree (0 for a top team), for indenting.
    pub depth: usize,
    pub reps: i64,
    /// The row's version when read (its newest audit entry).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RepRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub team: Option<String>,
    pub capacity: f64,
    pub active: bool,
    /// The row's version when read (its newest audit entry).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProductRow {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub family: Option<String>,
    pub list_price: Money,
    /// The row's version when read (its newest audit entry).
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageRow {
    pub id: i64,
    pub name: String,
    pub kind: StageKind,
    pub probability: f64,
    pub position: i64,
    pub category: ForecastCategory,
    pub deals: i64,
    /// The row's version when read (its newest audit entry).
    pub version: i64,
}

/// Everything the Setup screen shows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Organisation {
    pub teams: Vec<TeamRow>,
    pub reps: Vec<RepRow>,
    pub products: Vec<ProductRow>,
    pub stages: Vec<StageRow>,
}

/// A win probability written as a fraction (0.25) or a percentage (25 or 25%).
pub fn parse_probability(raw: &str) -> Result<f64, String> {
    let raw = raw.trim();
    let (text, percent) = match raw.strip_suffix('%') {
        Some(p) => (p.trim(), true),
        None => (raw, false),
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => {
            Ok(if percent || v > 1.0 { v / 100.0 } else { v })
        }
        _ => Err(format!(
            "'{raw}' is not a probability (0 to 1, or 0% to 100%)"
        )),
    }
}

/// A rep's capacity: a number of at least 0 (1 is one full-time seller).
pub fn parse_capacity(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "'{}' is not a capacity (a number of at least 0; 1 is a full rep)",
            raw.trim()
        )),
    }
}

/// The probability a stage of this kind must have (won 1, lost 0), or `None` for open.
pub fn fixed_probability(kind: StageKind) -> Option<f64> {
    match kind {
        StageKind::Won => Some(1.0),
        StageKind::Lost => Some(0.0),
        StageKind::Open => None,
    }
}

/// The forecast category a new stage of this kind gets unless one is given.
pub fn default_category(kind: StageKind) -> ForecastCategory {
    match kind {
        StageKind::Won => ForecastCategory::Closed,
        StageKind::Lost => ForecastCategory::Omitted,
        StageKind::Open => ForecastCategory::Pipeline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_as_fractions_or_percentages() {
        assert_eq!(parse_probability("0.25"), Ok(0.25));
        assert_eq!(parse_probability("25"), Ok(0.25));
        assert_eq!(parse_probability("25%"), Ok(0.25));
        assert_eq!(parse_probability("1"), Ok(1.0));
        assert_eq!(parse_probability("100%"), Ok(1.0));
        assert!(parse_probability("150").is_err());
        assert!(parse_probability("-1").is_err());
        assert!(parse_probability("nan").is_err());
        assert_eq!(parse_capacity("0.5"), Ok(0.5));
        assert!(parse_capacity("-1").is_err());
    }
}
