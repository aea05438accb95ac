//! Turning one CSV row into a validated record, collecting every problem in the row.

use super::layout::{Layout, LIST_PRICE};
use crate::domain::date::{parse_date, DateFormat};
use crate::domain::money::{parse_amount_with, AmountError};
use crate::domain::records::*;
use crate::domain::{Money, Period, TargetMetric, TargetScope};
use chrono::NaiveDate;
use std::borrow::Cow;
use std::str::FromStr;

/// A problem with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
}

/// One row seen through a layout.
pub struct RowView<'a> {
    pub record: &'a csv::StringRecord,
    pub layout: &'a Layout,
}

impl<'a> RowView<'a> {
    /// The field's value: the first non-empty column feeding it, trimmed, after the
    /// mapping's value map; else the mapping's default for the field.
    pub fn get(&self, field: &str) -> Option<Cow<'a, str>> {
        let Some(raw) = self.raw(field) else {
            return self
                .layout
                .defaults
                .get(field)
                .filter(|d| d.as_str() != LIST_PRICE)
                .map(|d| Cow::Owned(d.clone()));
        };
        if let Some(map) = self.layout.values.get(field) {
            if let Some(v) = map.get(&raw.to_lowercase()) {
                return Some(Cow::Owned(v.clone()));
            }
        }
        Some(Cow::Borrowed(raw))
    }

    /// The value in the file, without defaults or value maps (a spreadsheet escape that
    /// an export added, `'=…`, is taken off).
    pub fn raw(&self, field: &str) -> Option<&'a str> {
        let cols = self.layout.fields.get(field)?;
        cols.iter()
            .filter_map(|&i| self.record.get(i))
            .map(str::trim)
            .find(|v| !v.is_empty())
            .map(crate::domain::table::undo_spreadsheet_escape)
    }

    /// The fields of this row that took the mapping's default.
    pub fn defaulted(&self) -> impl Iterator<Item = &str> + '_ {
        self.layout
            .defaults
            .keys()
            .map(String::as_str)
            .filter(|f| self.raw(f).is_none())
    }

    /// Whether a blank amount is to be taken from the product's list price.
    pub fn amount_from_list_price(&self, field: &str) -> bool {
        self.raw(field).is_none()
            && self.layout.defaults.get(field).map(String::as_str) == Some(LIST_PRICE)
    }

    /// The value of a column by index, trimmed; `None` when blank.
    pub fn column(&self, i: usize) -> Option<&'a str> {
        self.record.get(i).map(str::trim).filter(|v| !v.is_empty())
    }
}

pub struct Builder<'a, 'b> {
    row: &'b RowView<'a>,
    dates: &'b DateFormat,
    pub errors: Vec<FieldError>,
    /// Amounts with more than two decimals are rounded (else refused).
    pub round: bool,
    /// How many amounts of this row were rounded.
    pub rounded: usize,
}

impl<'a, 'b> Builder<'a, 'b> {
    pub fn new(row: &'b RowView<'a>, dates: &'b DateFormat) -> Self {
        Builder {
            row,
            dates,
            errors: Vec::new(),
            round: row.layout.round,
            rounded: 0,
        }
    }

    pub fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError {
            column: self.row.layout.column_name(field),
            reason: reason.into(),
        });
    }

    pub fn text(&mut self, field: &str) -> Option<String> {
        self.row.get(field).map(|v| v.into_owned())
    }

    pub fn required(&mut self, field: &str) -> String {
        match self.text(field) {
            Some(v) => v,
            None => {
                self.fail(field, "required, but empty");
                String::new()
            }
        }
    }

    pub fn date(&mut self, field: &str) -> Option<NaiveDate> {
        let raw = self.row.get(field)?;
        match parse_date(&raw, self.dates) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(field, e.to_string());
                None
            }
        }
    }

    pub fn amount(&mut self, field: &str) -> Option<Money> {
        let Some(raw) = self.row.get(field) else {
            self.fail(field, "required, but empty");
            return None;
        };
        match parse_amount_with(&raw, self.round) {
            Ok((m, rounded)) => {
                self.rounded += usize::from(rounded);
                Some(m)
            }
            Err(e) => {
                let hint = if matches!(e, AmountError::TooPrecise(_)) {
                    " (give --round, or round = true in the mapping, to round to the cent)"
                } else {
                    ""
                };
                self.fail(field, format!("{e}{hint}"));
                None
            }
        }
    }

    /// A date from a column given by index (the `[stage_dates]` columns).
    pub fn date_at(&mut self, i: usize) -> Option<NaiveDate> {
        let raw = self.row.column(i)?;
        match parse_date(raw, self.dates) {
            Ok(d) => Some(d),
            Err(e) => {
                self.errors.push(FieldError {
                    column: self.row.layout.headers[i].clone(),
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    pub fn parse<T: FromStr<Err = String>>(&mut self, field: &str) -> Option<T> {
        let raw = self.row.get(field)?;
        match raw.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(field, e);
                None
            }
        }
    }

    pub fn int(&mut self, field: &str, min: i64) -> Option<i64> {
        let raw = self.row.get(field)?;
        match raw.replace(',', "").parse::<i64>() {
            Ok(v) if v >= min => Some(v),
            _ => {
                self.fail(
                    field,
                    format!("'{raw}' is not a whole number of at least {min}"),
                );
                None
            }
        }
    }

    pub fn email(&mut self, field: &str) -> Option<String> {
        let v = self.text(field)?;
        if let Err(e) = check_email(&v) {
            self.fail(field, e);
        }
        Some(v)
    }

    pub fn flag(&mut self, field: &str) -> bool {
        match self.row.get(field).map(|v| v.to_lowercase()) {
            None => false,
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "y" | "x" => true,
                "0" | "false" | "no" | "n" => false,
                _ => {
                    self.fail(field, format!("'{v}' is not yes/no"));
                    false
                }
            },
        }
    }

    /// The customer a row points at: by external id, else by name.
    pub fn customer(&mut self) -> CustomerRef {
        if let Some(id) = self.text("customer_external_id") {
            return CustomerRef::ExternalId(id);
        }
        match self.text("customer") {
            Some(name) => CustomerRef::Name(name),
            None => {
                let field = if self.row.layout.fields.contains_key("customer_external_id") {
                    "customer_external_id"
                } else {
                    "customer"
                };
                self.fail(field, "required, but empty");
                CustomerRef::Name(String::new())
            }
        }
    }

    pub fn finish<T>(&mut self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(std::mem::take(&mut self.errors))
        }
    }
}

pub fn customer(b: &mut Builder) -> CustomerRecord {
    CustomerRecord {
        external_id: b.text("external_id"),
        name: b.required("name"),
        owner: b.text("owner"),
        industry: b.text("industry"),
        segment: b.parse("segment"),
        region: b.text("region"),
        city: b.text("city"),
        country: b.text("country"),
        email: b.email("email"),
        phone: b.text("phone"),
        status: b
            .parse("status")
            .unwrap_or(crate::domain::CustomerStatus::Prospect),
        contact_every_days: b.int("contact_every_days", 1),
        created_on: b.date("created_on"),
    }
}

pub fn contact(b: &mut Builder) -> ContactRecord {
    ContactRecord {
        external_id: b.text("external_id"),
        customer: b.customer(),
        name: b.required("name"),
        title: b.text("title"),
        email: b.email("email"),
        phone: b.text("phone"),
        is_primary: b.flag("is_primary"),
    }
}

/// A deal row. `status` (open/won/lost, as Pipedrive writes it) is returned beside the
/// record: the store turns won/lost into the database's won/lost stage.
pub fn deal(b: &mut Builder) -> (DealRecord, Option<crate::domain::StageKind>) {
    let status = b.parse::<crate::domain::StageKind>("status");
    let stage = b.text("stage");
    if stage.is_none() && status.is_none() {
        b.fail("stage", "required, but empty");
    }
    let from_list_price = b.row.amount_from_list_price("amount");
    let amount = if from_list_price {
        None
    } else {
        b.amount("amount")
    };
    if amount.is_some_and(|a| a.cents() < 0) {
        b.fail("amount", "a deal amount cannot be negative");
    }
    let stage_dates: Vec<(String, NaiveDate)> = b
        .row
        .layout
        .stage_dates
        .iter()
        .filter_map(|(stage, col)| Some((stage.clone(), b.date_at(*col)?)))
        .collect();
    let discount = match b.row.get("discount_pct") {
        None => 0.0,
        Some(raw) => match raw.trim_end_matches('%').trim().parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => v,
            _ => {
                b.fail(
                    "discount_pct",
                    format!("'{raw}' is not a percentage from 0 to 100"),
                );
                0.0
            }
        },
    };
    let record = DealRecord {
        external_id: b.text("external_id"),
        name: b.required("name"),
        customer: b.customer(),
        owner: b.text("owner"),
        product: b.text("product"),
        amount: amount.unwrap_or_default(),
        stage: stage.unwrap_or_default(),
        created_on: b.date("created_on"),
        expected_close: b.date("expected_close"),
        closed_on: b.date("closed_on"),
        source: b.text("source"),
        lost_reason: b.text("lost_reason"),
        discount_pct: discount,
        amount_from_list_price: from_list_price,
        stage_dates,
    };
    if let (Some(c), Some(x)) = (record.created_on, record.closed_on) {
        if x < c {
            b.fail(
                "closed_on",
                format!("{x} is before the deal was created ({c})"),
            );
        }
    }
    (record, status)
}

pub fn activity(b: &mut Builder) -> ActivityRecord {
    let r = ActivityRecord {
        external_id: b.text("external_id"),
        customer: b.customer(),
        deal: b.text("deal_external_id"),
        rep: b.text("rep"),
        kind: b.parse("kind").unwrap_or(crate::domain::ActivityKind::Note),
        subject: b.text("subject"),
        due_on: b.date("due_on"),
        done_on: b.date("done_on"),
        outcome: b.text("outcome"),
    };
    if b.row.get("kind").is_none() {
        b.fail("kind", "required, but empty");
    }
    if b.row.get("due_on").is_none() && b.row.get("done_on").is_none() {
        b.fail("done_on", "an activity needs a done_on or a due_on date");
    }
    r
}

pub fn order(b: &mut Builder) -> OrderRecord {
    let ordered_on = b.date("ordered_on");
    if b.row.get("ordered_on").is_none() {
        b.fail("ordered_on", "required, but empty");
    }
    OrderRecord {
        external_id: b.text("external_id"),
        customer: b.customer(),
        deal: b.text("deal_external_id"),
        product: b.text("product"),
        ordered_on: ordered_on.unwrap_or_default(),
        amount: if b.row.amount_from_list_price("amount") {
            Money::default()
        } else {
            b.amount("amount").unwrap_or_default()
        },
        quantity: b.int("quantity", 1).unwrap_or(1),
        amount_from_list_price: b.row.amount_from_list_price("amount"),
    }
}

pub fn team(b: &mut Builder) -> TeamRecord {
    TeamRecord {
        external_id: b.text("external_id"),
        name: b.required("name"),
        parent: b.text("parent"),
    }
}

pub fn rep(b: &mut Builder) -> RepRecord {
    let capacity =
        b.text("capacity")
            .and_then(|raw| match crate::domain::setup::parse_capacity(&raw) {
                Ok(v) => Some(v),
                Err(e) => {
                    b.fail("capacity", e);
                    None
                }
            });
    let active = b.row.get("active").is_some().then(|| b.flag("active"));
    RepRecord {
        external_id: b.text("external_id"),
        name: b.required("name"),
        email: b.email("email"),
        team: b.text("team"),
        capacity,
        hired_on: b.date("hired_on"),
        active,
    }
}

pub fn product(b: &mut Builder) -> ProductRecord {
    let list_price = match b.row.get("list_price") {
        Some(_) => b.amount("list_price"),
        None => None,
    };
    if list_price.is_some_and(|p| p.cents() < 0) {
        b.fail("list_price", "a list price cannot be negative");
    }
    ProductRecord {
        sku: b.required("sku"),
        name: b.text("name"),
        family: b.text("family"),
        list_price,
    }
}

pub fn stage(b: &mut Builder) -> StageRecord {
    let kind = b.parse::<crate::domain::StageKind>("kind");
    if b.row.get("kind").is_none() {
        b.fail("kind", "required, but empty (open, won or lost)");
    }
    let probability =
        b.text("probability")
            .and_then(|raw| match crate::domain::setup::parse_probability(&raw) {
                Ok(v) => Some(v),
                Err(e) => {
                    b.fail("probability", e);
                    None
                }
            });
    let position = b.int("position", 0);
    let category = b.parse::<crate::domain::ForecastCategory>("category");
    if let (Some(k), Some(p)) = (kind, probability) {
        use crate::domain::StageKind;
        if k == StageKind::Won && p != 1.0 || k == StageKind::Lost && p != 0.0 {
            b.fail(
                "probability",
                format!(
                    "a {k} stage has probability {}",
                    if k == StageKind::Won { "1 (100%)" } else { "0" }
                ),
            );
        }
    }
    StageRecord {
        name: b.required("name"),
        kind: kind.unwrap_or(crate::domain::StageKind::Open),
        probability,
        position,
        category,
    }
}

pub fn stage_change(b: &mut Builder) -> StageChangeRecord {
    let entered_on = b.date("entered_on");
    if b.row.get("entered_on").is_none() {
        b.fail("entered_on", "required, but empty");
    }
    StageChangeRecord {
        deal: b.required("deal_external_id"),
        stage: b.required("stage"),
        entered_on: entered_on.unwrap_or_default(),
        inferred: b.flag("inferred"),
    }
}

pub fn target(b: &mut Builder) -> TargetRecord {
    let scope = b.parse::<TargetScope>("scope");
    if b.row.get("scope").is_none() {
        b.fail("scope", "required, but empty");
    }
    let name = b.text("name");
    if scope.is_some_and(|s| s != TargetScope::Company) && name.is_none() {
        b.fail(
            "name",
            "a team or rep target needs the team's or rep's name",
        );
    }
    let period = match b.text("period") {
        None => {
            b.fail("period", "required, but empty");
            None
        }
        Some(p) => match Period::parse(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                b.fail("period", e.to_string());
                None
            }
        },
    };
    let metric = b
        .parse::<TargetMetric>("metric")
        .unwrap_or(TargetMetric::WonRevenue);
    let value = if metric.is_money() {
        b.amount("value").map(Money::cents)
    } else {
        let v = b.int("value", 0);
        if b.row.get("value").is_none() {
            b.fail("value", "required, but empty");
        }
        v
    };
    if value.is_some_and(|v| v < 0) {
        b.fail("value", "a target cannot be negative");
    }
    TargetRecord {
        scope: scope.unwrap_or(TargetScope::Company),
        name: if scope == Some(TargetScope::Company) {
            None
        } else {
            name
        },
        period: period.unwrap_or(Period::Year { year: 1970 }),
        metric,
        value: value.unwrap_or(0),
    }
}
