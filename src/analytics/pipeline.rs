//! The funnel by stage: counts, value, and value weighted by each stage's probability.

use crate::domain::{Money, StageKind};

/// Input: one stage with the deals in it.
#[derive(Debug, Clone, PartialEq)]
pub struct StageInput<'a> {
    pub name: &'a str,
    pub kind: StageKind,
    pub probability: f64,
    pub count: i64,
    pub value: Money,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageRow {
    pub stage: String,
    pub kind: StageKind,
    pub probability: f64,
    pub count: i64,
    pub value: Money,
    /// Value times the stage's probability, rounded to the cent.
    pub weighted_value: Money,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunnelSummary {
    pub stages: Vec<StageRow>,
    pub open_count: i64,
    pub open_value: Money,
    pub open_weighted_value: Money,
}

/// Weighted value per stage and the open totals.
pub fn summarize(stages: &[StageInput]) -> FunnelSummary {
    let rows: Vec<StageRow> = stages
        .iter()
        .map(|s| StageRow {
            stage: s.name.to_string(),
            kind: s.kind,
            probability: s.probability,
            count: s.count,
            value: s.value,
            weighted_value: Money((s.value.cents() as f64 * s.probability).round() as i64),
        })
        .collect();
    let open = rows.iter().filter(|r| r.kind == StageKind::Open);
    FunnelSummary {
        open_count: open.clone().map(|r| r.count).sum(),
        open_value: Money(open.clone().map(|r| r.value.cents()).sum()),
        open_weighted_value: Money(open.map(|r| r.weighted_value.cents()).sum()),
        stages: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_by_probability_and_totals_open_stages_only() {
        let input = [
            StageInput {
                name: "Qualify",
                kind: StageKind::Open,
                probability: 0.2,
                count: 3,
                value: Money(100_000),
            },
            StageInput {
                name: "Propose",
                kind: StageKind::Open,
                probability: 0.55,
                count: 2,
                value: Money(33_333),
            },
            StageInput {
                name: "Won",
                kind: StageKind::Won,
                probability: 1.0,
                count: 4,
                value: Money(900_000),
            },
            StageInput {
                name: "Lost",
                kind: StageKind::Lost,
                probability: 0.0,
                count: 1,
                value: Money(5_000),
            },
        ];
        let s = summarize(&input);
        assert_eq!(s.stages[0].weighted_value, Money(20_000));
        assert_eq!(s.stages[1].weighted_value, Money(18_333)); // 18333.15 rounds down
        assert_eq!(s.stages[2].weighted_value, Money(900_000));
        assert_eq!(s.stages[3].weighted_value, Money(0));
        assert_eq!(s.open_count, 5);
        assert_eq!(s.open_value, Money(133_333));
        assert_eq!(s.open_weighted_value, Money(38_333));
    }
}
