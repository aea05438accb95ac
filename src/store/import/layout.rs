//! Which file column feeds which funnel field: canonical headers, the built-in vendor
//! profiles (Salesforce, HubSpot, Pipedrive deal exports) and user mapping files.

use super::ImportKind;
use crate::domain::{ForecastCategory, StageKind};
use serde::Deserialize;
use std::collections::HashMap;

/// A stage a profile or mapping file knows, created by `--create-missing` when absent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StageDef {
    pub name: String,
    pub kind: StageKind,
    pub probability: f64,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default)]
    pub category: Option<ForecastCategory>,
}

/// A mapping from a file's columns (and values) to funnel fields. Vendor profiles are
/// mappings built in; users write their own as TOML (see the README).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// A label for reports; defaults to the file name of the mapping.
    #[serde(default)]
    pub vendor: Option<String>,
    /// If set, the mapping refuses to be used for another kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// A `--date-format` value used when none is given on the command line.
    #[serde(default)]
    pub date_format: Option<String>,
    /// File column -> funnel field (or several fields: `"account" = ["name",
    /// "external_id"]`). Several columns may feed one field: the first non-empty one wins.
    #[serde(default)]
    pub columns: HashMap<String, Targets>,
    /// Field -> value used when the field is blank or absent: a constant, or for a deal's
    /// or order's amount `"product.list_price"`.
    #[serde(default)]
    pub defaults: HashMap<String, String>,
    /// Stage name -> the column holding the date a deal entered that stage.
    #[serde(default)]
    pub stage_dates: HashMap<String, String>,
    /// Round amounts with more than two decimals to the cent instead of refusing them.
    #[serde(default)]
    pub round: Option<bool>,
    /// What an empty cell does to a stored value on an update: `"keeps"` (default) or
    /// `"clears"`.
    #[serde(default)]
    pub blank: Option<String>,
    /// Field -> (file value -> funnel value), matched case-insensitively.
    #[serde(default)]
    pub values: HashMap<String, HashMap<String, String>>,
    /// Stages to create with `--create-missing`, with their probability and kind.
    #[serde(default)]
    pub stages: Vec<StageDef>,
}

/// The field or fields one column feeds.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Targets {
    One(String),
    Many(Vec<String>),
}

impl Targets {
    pub fn fields(&self) -> &[String] {
        match self {
            Targets::One(f) => std::slice::from_ref(f),
            Targets::Many(v) => v,
        }
    }
}

impl From<&str> for Targets {
    fn from(f: &str) -> Self {
        Targets::One(f.to_string())
    }
}

/// The `[defaults]` value that takes a deal's or order's amount from its product.
pub const LIST_PRICE: &str = "product.list_price";

impl Mapping {
    pub fn from_toml(text: &str) -> Result<Mapping, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Canonical fields of each kind: (field, required, aliases). Aliases are compared after
/// normalising (lower case, runs of non-alphanumerics to `_`).
pub fn canonical_fields(
    kind: ImportKind,
) -> &'static [(&'static str, bool, &'static [&'static str])] {
    match kind {
        ImportKind::Customers => &[
            ("external_id", false, &["id", "customer_id", "account_id"]),
            (
                "name",
                true,
                &["customer", "company", "account_name", "customer_name"],
            ),
            ("owner", false, &["owner_rep", "rep", "account_owner"]),
            ("industry", false, &[]),
            ("segment", false, &[]),
            ("region", false, &[]),
            ("city", false, &[]),
            ("country", false, &[]),
            ("email", false, &[]),
            ("phone", false, &[]),
            ("status", false, &[]),
            ("contact_every_days", false, &[]),
            (
                "created_on",
                false,
                &["created", "created_at", "create_date"],
            ),
        ],
        ImportKind::Contacts => &[
            ("external_id", false, &["id", "contact_id"]),
            ("customer_external_id", false, &[]),
            (
                "customer",
                false,
                &["customer_name", "company", "account_name"],
            ),
            ("name", true, &["contact_name", "full_name"]),
            ("title", false, &["job_title"]),
            ("email", false, &[]),
            ("phone", false, &[]),
            ("is_primary", false, &["primary"]),
        ],
        ImportKind::Deals => &[
            ("external_id", false, &["id", "deal_id"]),
            ("name", true, &["deal_name", "title"]),
            ("customer_external_id", false, &[]),
            (
                "customer",
                false,
                &["customer_name", "company", "account_name"],
            ),
            ("owner", false, &["owner_rep", "rep", "deal_owner"]),
            ("product", false, &["product_sku", "sku"]),
            ("amount", true, &["value", "deal_value"]),
            ("stage", false, &["deal_stage"]),
            ("status", false, &[]),
            (
                "created_on",
                false,
                &["created", "created_at", "create_date"],
            ),
            (
                "expected_close",
                false,
                &["close_date", "expected_close_date"],
            ),
            ("closed_on", false, &["closed_at", "won_time", "lost_time"]),
            ("source", false, &["lead_source", "channel"]),
            ("lost_reason", false, &[]),
            ("discount_pct", false, &["discount"]),
        ],
        ImportKind::Activities => &[
            ("external_id", false, &["id", "activity_id"]),
            ("customer_external_id", false, &[]),
            ("customer", false, &["customer_name", "company"]),
            ("deal_external_id", false, &[]),
            ("rep", false, &["owner"]),
            ("kind", true, &["type", "activity_type"]),
            ("subject", false, &[]),
            ("due_on", false, &["due", "due_date"]),
            ("done_on", false, &["done", "done_date", "completed_on"]),
            ("outcome", false, &[]),
        ],
        ImportKind::Orders => &[
            ("external_id", false, &["id", "order_id"]),
            ("customer_external_id", false, &[]),
            ("customer", false, &["customer_name", "company"]),
            ("deal_external_id", false, &[]),
            ("product", false, &["product_sku", "sku"]),
            ("ordered_on", true, &["order_date", "date"]),
            ("amount", true, &["total"]),
            ("quantity", false, &["qty"]),
        ],
        ImportKind::Teams => &[
            ("external_id", false, &["id", "team_id"]),
            ("name", true, &["team", "team_name"]),
            (
                "parent",
                false,
                &["parent_team", "parent_name", "parent_id"],
            ),
        ],
        ImportKind::Reps => &[
            ("external_id", false, &["id", "rep_id"]),
            ("name", true, &["rep", "rep_name", "sales_agent"]),
            ("email", false, &[]),
            ("team", false, &["team_name"]),
            ("capacity", false, &[]),
            ("hired_on", false, &["hired", "hire_date"]),
            ("active", false, &[]),
        ],
        ImportKind::Products => &[
            ("sku", true, &["product_sku", "code", "product_code"]),
            ("name", false, &["product_name"]),
            ("family", false, &["product_family"]),
            ("list_price", false, &["price", "list_price_amount"]),
        ],
        ImportKind::Stages => &[
            ("name", true, &["stage", "stage_name"]),
            ("kind", true, &["type"]),
            ("probability", false, &["win_probability"]),
            ("position", false, &["order", "sort_order"]),
            ("category", false, &["forecast_category"]),
        ],
        ImportKind::StageChanges => &[
            ("deal_external_id", true, &["deal", "deal_id"]),
            ("stage", true, &["to_stage", "stage_name"]),
            ("entered_on", true, &["changed_on", "entered", "date"]),
            ("inferred", false, &[]),
        ],
        ImportKind::Targets => &[
            ("scope", true, &[]),
            ("name", false, &["team", "rep"]),
            ("period", true, &[]),
            ("metric", false, &[]),
            ("value", true, &["amount", "target"]),
        ],
    }
}

pub fn normalise(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut gap = false;
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The resolved layout of one file: for each funnel field, the columns that feed it.
#[derive(Debug, Clone)]
pub struct Layout {
    pub vendor: String,
    pub fields: HashMap<&'static str, Vec<usize>>,
    pub headers: Vec<String>,
    pub ignored_columns: Vec<String>,
    pub values: HashMap<String, HashMap<String, String>>,
    pub stages: Vec<StageDef>,
    pub date_format: Option<String>,
    /// Field -> default for blank or absent values (see [`Mapping::defaults`]).
    pub defaults: HashMap<String, String>,
    /// (stage name, column) for the dates deals entered stages.
    pub stage_dates: Vec<(String, usize)>,
    pub round: bool,
    /// An empty cell clears the stored value on an update (else it keeps it).
    pub blank_clears: bool,
    /// Per column: whether it feeds a field or a stage date (the others are ignored).
    pub used: Vec<bool>,
}

impl Layout {
    /// The first column feeding `field`, for messages.
    pub fn column_name(&self, field: &str) -> String {
        self.fields
            .get(field)
            .and_then(|cols| cols.first())
            .map(|&i| self.headers[i].clone())
            .unwrap_or_else(|| field.to_string())
    }
}

/// The built-in vendor profiles, embedded: each a header check and a mapping written like
/// a user's mapping file (`data/vendors/*.toml`).
const VENDORS: [&str; 3] = [
    include_str!("../../../data/vendors/hubspot.toml"),
    include_str!("../../../data/vendors/salesforce.toml"),
    include_str!("../../../data/vendors/pipedrive.toml"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vendor {
    name: String,
    kind: String,
    detect: Detect,
    mapping: Mapping,
}

/// A file is the vendor's when it has every header of `all` and one of `any`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Detect {
    all: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
}

/// The vendor profiles, parsed once (they are checked by the tests, so a profile that does
/// not parse cannot ship).
fn vendors() -> &'static [Vendor] {
    static PARSED: std::sync::OnceLock<Vec<Vendor>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        VENDORS
            .iter()
            .filter_map(|text| toml::from_str::<Vendor>(text).ok())
            .collect()
    })
}

/// Detects a vendor export from its header row.
pub fn detect_vendor(kind: ImportKind, headers: &[String]) -> Option<(&'static str, Mapping)> {
    let has = |h: &str| headers.iter().any(|x| normalise(x) == normalise(h));
    vendors()
        .iter()
        .find(|v| {
            v.kind == kind.as_str()
                && v.detect.all.iter().all(|h| has(h))
                && (v.detect.any.is_empty() || v.detect.any.iter().any(|h| has(h)))
        })
        .map(|v| (v.name.as_str(), v.mapping.clone()))
}

/// Resolves the layout of a file from its header row.
pub fn resolve(
    kind: ImportKind,
    headers: &[String],
    mapping: Option<&Mapping>,
) -> Result<Layout, String> {
    let detected;
    // A vendor profile maps only its own columns; a user mapping also accepts the
    // canonical headers it does not mention.
    let (vendor, mapping, builtin) = match mapping {
        Some(m) => (
            m.vendor.clone().unwrap_or_else(|| "mapping".into()),
            Some(m),
            false,
        ),
        None => match detect_vendor(kind, headers) {
            Some((_, m)) => {
                detected = m;
                (
                    detected.vendor.clone().unwrap_or_default(),
                    Some(&detected),
                    true,
                )
            }
            None => ("funnel".to_string(), None, false),
        },
    };
    let specs = canonical_fields(kind);
    let field_of = |name: &str| -> Option<&'static str> {
        let n = normalise(name);
        specs
            .iter()
            .find(|(f, _, aliases)| *f == n || aliases.contains(&n.as_str()))
            .map(|(f, _, _)| *f)
    };
    let mut fields: HashMap<&'static str, Vec<usize>> = HashMap::new();
    let mut ignored = Vec::new();
    let mapped: HashMap<String, &Targets> = mapping
        .map(|m| m.columns.iter().map(|(k, v)| (normalise(k), v)).collect())
        .unwrap_or_default();
    let column_of = |name: &str| headers.iter().position(|h| normalise(h) == normalise(name));
    if let Some(m) = mapping {
        check_mapping(kind, headers, m, builtin)?;
    }
    for (i, h) in headers.iter().enumerate() {
        let targets: Vec<&'static str> = match mapped.get(&normalise(h)) {
            Some(t) => t.fields().iter().filter_map(|f| field_of(f)).collect(),
            None if builtin => Vec::new(),
            None => field_of(h).into_iter().collect(),
        };
        let is_stage_date =
            mapping.is_some_and(|m| m.stage_dates.values().any(|c| normalise(c) == normalise(h)));
        if targets.is_empty() && !is_stage_date {
            ignored.push(h.clone());
        }
        for f in targets {
            fields.entry(f).or_default().push(i);
        }
    }
    // A field with a default need not have a column.
    let defaulted =
        |f: &str| mapping.is_some_and(|m| m.defaults.keys().any(|k| field_of(k) == Some(f)));
    let missing: Vec<&str> = specs
        .iter()
        .filter(|(f, required, _)| *required && !fields.contains_key(f) && !defaulted(f))
        .map(|(f, _, _)| *f)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing required column{} {} (found: {})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            headers.join(", ")
        ));
    }
    let has_customer = fields.contains_key("customer")
        || fields.contains_key("customer_external_id")
        || defaulted("customer")
        || defaulted("customer_external_id");
    let needs_customer = matches!(
        kind,
        ImportKind::Contacts | ImportKind::Deals | ImportKind::Activities | ImportKind::Orders
    );
    if needs_customer && !has_customer {
        return Err("missing column customer_external_id (or customer, by name)".into());
    }
    if kind == ImportKind::Deals
        && !fields.contains_key("stage")
        && !fields.contains_key("status")
        && !defaulted("stage")
    {
        return Err("missing column stage (or status)".into());
    }
    let m = mapping.cloned().unwrap_or_default();
    let mut stage_dates: Vec<(String, usize)> = m
        .stage_dates
        .iter()
        .filter_map(|(stage, col)| Some((stage.clone(), column_of(col)?)))
        .collect();
    stage_dates.sort();
    let used = (0..headers.len())
        .map(|i| {
            fields.values().any(|cols| cols.contains(&i)) || stage_dates.iter().any(|s| s.1 == i)
        })
        .collect();
    Ok(Layout {
        used,
        defaults: m
            .defaults
            .iter()
            .filter_map(|(k, v)| Some((field_of(k)?.to_string(), v.clone())))
            .collect(),
        stage_dates,
        round: m.round.unwrap_or(false),
        blank_clears: m.blank.as_deref() == Some("clears"),
        vendor,
        fields,
        headers: headers.to_vec(),
        ignored_columns: ignored,
        values: m
            .values
            .into_iter()
            .map(|(f, vals)| {
                (
                    f,
                    vals.into_iter()
                        .map(|(k, v)| (k.trim().to_lowercase(), v))
                        .collect(),
                )
            })
            .collect(),
        stages: m.stages,
        date_format: m.date_format,
    })
}

/// A mapping's own mistakes, each named: a column or default naming a field the kind
/// does not have, a user's column the file lacks, `product.list_price` off an amount,
/// impossible stages, a bad `blank`, stage dates off deals or naming missing columns.
fn check_mapping(
    kind: ImportKind,
    headers: &[String],
    m: &Mapping,
    builtin: bool,
) -> Result<(), String> {
    let specs = canonical_fields(kind);
    let field_of = |name: &str| -> Option<&'static str> {
        let n = normalise(name);
        specs
            .iter()
            .find(|(f, _, aliases)| *f == n || aliases.contains(&n.as_str()))
            .map(|(f, _, _)| *f)
    };
    let known = || {
        specs
            .iter()
            .map(|(f, _, _)| *f)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let column_of = |name: &str| headers.iter().position(|h| normalise(h) == normalise(name));
    let mut keys: Vec<(&String, &Targets)> = m.columns.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    for (column, targets) in keys {
        for target in targets.fields() {
            if field_of(target).is_none() {
                return Err(format!(
                    "mapping [columns] '{column}' names field '{target}', which {} do not have; fields are: {}",
                    kind.as_str(),
                    known()
                ));
            }
        }
        // A built-in profile lists every spelling a vendor uses; a user's mapping
        // names the columns of its file, so a key the file lacks is a typo.
        if !builtin && column_of(column).is_none() {
            return Err(format!(
                "mapping [columns] '{column}': the file has no such column (found: {})",
                headers.join(", ")
            ));
        }
    }
    let mut defaults: Vec<(&String, &String)> = m.defaults.iter().collect();
    defaults.sort();
    for (field, value) in defaults {
        if field_of(field).is_none() {
            return Err(format!(
                "mapping [defaults] '{field}': {} have no such field; fields are: {}",
                kind.as_str(),
                known()
            ));
        }
        if value == LIST_PRICE
            && !(field_of(field) == Some("amount")
                && matches!(kind, ImportKind::Deals | ImportKind::Orders))
        {
            return Err(format!(
                "mapping [defaults] '{field}': '{LIST_PRICE}' is a default for the amount of deals and orders only"
            ));
        }
    }
    for st in &m.stages {
        let at = format!("mapping [[stages]] '{}'", st.name);
        if st.name.trim().is_empty() {
            return Err("mapping [[stages]]: a stage needs a name".into());
        }
        if !st.probability.is_finite() || !(0.0..=1.0).contains(&st.probability) {
            return Err(format!(
                "{at}: probability {} is not between 0 and 1",
                st.probability
            ));
        }
        match (st.kind, st.probability) {
            (StageKind::Won, p) if p != 1.0 => {
                return Err(format!("{at}: a won stage has probability 1, not {p}"))
            }
            (StageKind::Lost, p) if p != 0.0 => {
                return Err(format!("{at}: a lost stage has probability 0, not {p}"))
            }
            _ => {}
        }
        if st.position.is_some_and(|p| p < 0) {
            return Err(format!("{at}: position must be 0 or more"));
        }
    }
    if let Some(b) = m.blank.as_deref() {
        if b != "clears" && b != "keeps" {
            return Err(format!(
                "mapping blank = '{b}': use \"keeps\" (an empty cell leaves the stored value) or \"clears\""
            ));
        }
    }
    if !m.stage_dates.is_empty() && kind != ImportKind::Deals {
        return Err("mapping [stage_dates] is for deals only".into());
    }
    for (stage, column) in &m.stage_dates {
        if column_of(column).is_none() {
            return Err(format!(
                "mapping [stage_dates] '{stage}': the file has no column '{column}' (found: {})",
                headers.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_vendor_profile_parses_and_is_detected_by_its_own_headers() {
        assert_eq!(vendors().len(), VENDORS.len(), "a profile failed to parse");
        for text in VENDORS {
            let v: Vendor = toml::from_str(text).unwrap();
            let mut headers = v.detect.all.clone();
            headers.extend(v.detect.any.first().cloned());
            let kind = ImportKind::parse(&v.kind).unwrap();
            let (name, mapping) = detect_vendor(kind, &headers).unwrap();
            assert_eq!(name, v.name);
            // Every stage a profile names for the `stage` values is one it can create.
            for target in mapping
                .values
                .get("stage")
                .into_iter()
                .flat_map(|m| m.values())
            {
                assert!(mapping.stages.iter().any(|s| &s.name == target), "{target}");
            }
            assert!(mapping.stages.iter().any(|s| s.kind == StageKind::Won));
            assert!(mapping.stages.iter().any(|s| s.category.is_some()));
        }
        // Canonical headers are nobody's export.
        let canonical: Vec<String> = ["external_id", "name", "stage", "amount"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(detect_vendor(ImportKind::Deals, &canonical).is_none());
    }
}
