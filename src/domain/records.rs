//! Validated records as they come in from a CSV file or a form, with references to other
//! entities by their natural keys (external id, name, sku). The store resolves the keys.

use super::{ActivityKind, CustomerStatus, Money, Period, TargetMetric, TargetScope};
use chrono::NaiveDate;

/// How a row names its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    ExternalId(String),
    /// By name, as vendor exports do ("Associated Company", "Account Name").
    Name(String),
}

impl CustomerRef {
    pub fn text(&self) -> &str {
        match self {
            CustomerRef::ExternalId(s) | CustomerRef::Name(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub external_id: Option<String>,
    pub name: String,
    pub owner: Option<String>,
    pub industry: Option<String>,
    pub segment: Option<super::Segment>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: CustomerStatus,
    pub contact_every_days: Option<i64>,
    pub created_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    pub external_id: Option<String>,
    pub customer: CustomerRef,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub is_primary: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub external_id: Option<String>,
    pub name: String,
    pub customer: CustomerRef,
    pub owner: Option<String>,
    pub product: Option<String>,
    pub amount: Money,
    pub stage: String,
    pub created_on: Option<NaiveDate>,
    pub expected_close: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub source: Option<String>,
    pub lost_reason: Option<String>,
    pub discount_pct: f64,
    /// The amount was blank and is the product's list price (a mapping default).
    pub amount_from_list_price: bool,
    /// Dates the deal entered stages, from a mapping's `[stage_dates]`.
    pub stage_dates: Vec<(String, NaiveDate)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    pub external_id: Option<String>,
    pub customer: CustomerRef,
    pub deal: Option<String>,
    pub rep: Option<String>,
    pub kind: ActivityKind,
    pub subject: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub done_on: Option<NaiveDate>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub external_id: Option<String>,
    pub customer: CustomerRef,
    pub deal: Option<String>,
    pub product: Option<String>,
    pub ordered_on: NaiveDate,
    pub amount: Money,
    pub quantity: i64,
    /// The amount was blank and is the product's list price times the quantity.
    pub amount_from_list_price: bool,
}

/// A team; `parent` names another team (by external id or name), possibly one that comes
/// later in the same file.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRecord {
    pub external_id: Option<String>,
    pub name: String,
    pub parent: Option<String>,
}

/// A rep. Fields left `None` keep the stored value on an update (and take the default on
/// an insert: capacity 1, active).
#[derive(Debug, Clone, PartialEq)]
pub struct RepRecord {
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub team: Option<String>,
    pub capacity: Option<f64>,
    pub hired_on: Option<NaiveDate>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductRecord {
    pub sku: String,
    pub name: Option<String>,
    pub family: Option<String>,
    pub list_price: Option<Money>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageRecord {
    pub name: String,
    pub kind: super::StageKind,
    pub probability: Option<f64>,
    pub position: Option<i64>,
    pub category: Option<super::ForecastCategory>,
}

/// One entry of a deal's stage history.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChangeRecord {
    pub deal: String,
    pub stage: String,
    pub entered_on: NaiveDate,
    /// Inferred from the deal's dates rather than recorded (as the export marks it).
    pub inferred: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetRecord {
    pub scope: TargetScope,
    /// Team or rep name; `None` for the company.
    pub name: Option<String>,
    pub period: Period,
    pub metric: TargetMetric,
    /// Cents for revenue, a count otherwise.
    pub value: i64,
}

/// A light check that catches the usual slips (missing @, spaces) without rejecting real
/// addresses.
pub fn check_email(s: &str) -> Result<(), String> {
    let ok = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{s}' is not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("ana@example.com").is_ok());
        assert!(check_email("a.b+c@sub.example.co.uk").is_ok());
        for bad in [
            "ana",
            "ana@",
            "@x.com",
            "ana@example",
            "a b@x.com",
            "a@b@c.com",
            "a@x.",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
