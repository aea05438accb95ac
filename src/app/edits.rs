//! Forms: which fields each edit has, validating what was typed into records (the same
//! parsers as the import), and saving through the store with audit.

use crate::app::Db as Store;
use crate::domain::date::{parse_date, DateFormat};
use crate::domain::records::{
    check_email, ActivityRecord, ContactRecord, CustomerRecord, CustomerRef,
};
use crate::domain::setup::{ProductRow, RepRow, StageRow, TeamRow};
use crate::domain::{parse_amount, ActivityKind, CustomerStatus, Segment};
use crate::store::audit::Actor;
use crate::store::customers::{ContactLine, CustomerDetail};
use crate::store::deals::DealCard;
use crate::store::edits::DealFields;
use crate::store::StoreError;
use chrono::NaiveDate;

/// What a form edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    NewCustomer,
    EditCustomer(i64),
    NewContact {
        customer_id: i64,
    },
    EditContact {
        customer_id: i64,
        contact_id: i64,
    },
    Activity {
        customer_id: i64,
        /// The open activity (from the agenda) this log completes, with its outcome.
        completes: Option<i64>,
    },
    NewDeal,
    EditDeal(i64),
    SetTarget,
    ReviseTarget(i64),
    /// Proposes targets; the proposal is reviewed before anything is saved.
    ProposeTargets,
    /// Moves an open activity (the Agenda screen) to another day.
    Snooze(i64),
    /// Gives an open activity (the Agenda screen) to another rep.
    Reassign(i64),
    /// The organisation (Setup screen): `None` adds, `Some(id)` edits.
    Team(Option<i64>),
    Rep(Option<i64>),
    Product(Option<i64>),
    Stage(Option<i64>),
    /// Merges customer `id` into the customer the form names.
    MergeCustomer(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub hint: &'static str,
    /// Where the field's suggestions come from, if it has a picker.
    pub pick: Option<Pick>,
}

/// The values a form field picks from (fuzzy completion as the user types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pick {
    Rep,
    Team,
    /// A target's team or rep.
    TeamOrRep,
    /// Customers matching what is typed, looked up as it is typed (there may be 100k).
    Customer,
    Product,
    /// Regions in use; a new one may be typed (nothing is preselected).
    Region,
    OpenStage,
    Fixed(&'static [&'static str]),
}

impl Pick {
    /// Whether the value must be one of the options (the best match is preselected).
    pub fn strict(self) -> bool {
        self != Pick::Region
    }
}

const fn f(
    name: &'static str,
    label: &'static str,
    required: bool,
    hint: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        required,
        hint,
        pick: None,
    }
}

/// A field with a picker.
const fn p(
    name: &'static str,
    label: &'static str,
    required: bool,
    hint: &'static str,
    pick: Pick,
) -> FieldSpec {
    let mut spec = f(name, label, required, hint);
    spec.pick = Some(pick);
    spec
}

const YES_NO: Pick = Pick::Fixed(&["yes", "no"]);

const CUSTOMER: &[FieldSpec] = &[
    f("name", "Name", true, ""),
    p("owner", "Owner (rep)", false, "a rep's name", Pick::Rep),
    p(
        "segment",
        "Segment",
        false,
        "smb, mid_market, enterprise",
        Pick::Fixed(&["smb", "mid_market", "enterprise"]),
    ),
    p(
        "status",
        "Status",
        false,
        "prospect, active, churned",
        Pick::Fixed(&["prospect", "active", "churned"]),
    ),
    f("industry", "Industry", false, ""),
    p("region", "Region", false, "", Pick::Region),
    f("city", "City", false, ""),
    f("country", "Country", false, ""),
    f("email", "Email", false, ""),
    f("phone", "Phone", false, ""),
    f(
        "contact_every_days",
        "Contact every (days)",
        false,
        "a whole number",
    ),
    f(
        "external_id",
        "External id",
        false,
        "your other system's id",
    ),
];

const CONTACT: &[FieldSpec] = &[
    f("name", "Name", true, ""),
    f("title", "Title", false, ""),
    f("email", "Email", false, ""),
    f("phone", "Phone", false, ""),
    p("is_primary", "Primary contact", false, "yes or no", YES_NO),
];

const ACTIVITY: &[FieldSpec] = &[
    p(
        "kind",
        "Kind",
        true,
        "call, visit, email, meeting, note",
        Pick::Fixed(&["call", "visit", "email", "meeting", "note"]),
    ),
    f("subject", "Subject", false, ""),
    f("done_on", "Done on", true, "YYYY-MM-DD"),
    f("outcome", "Outcome", false, ""),
    p("rep", "Rep", false, "a rep's name", Pick::Rep),
    f(
        "follow_up",
        "Follow up on",
        false,
        "YYYY-MM-DD: schedules a call",
    ),
    f(
        "deal",
        "Deal",
        false,
        "one of this customer's deals: name or external id",
    ),
];

const NEW_DEAL: &[FieldSpec] = &[
    f("name", "Deal", true, ""),
    p(
        "customer",
        "Customer",
        true,
        "name or external id",
        Pick::Customer,
    ),
    f("amount", "Amount", true, "e.g. 12,500.00"),
    p("stage", "Stage", true, "an open stage", Pick::OpenStage),
    p(
        "product",
        "Product",
        false,
        "name or SKU (the order's product when won)",
        Pick::Product,
    ),
    f("expected_close", "Expected close", false, "YYYY-MM-DD"),
    p("owner", "Owner (rep)", false, "a rep's name", Pick::Rep),
];

const EDIT_DEAL: &[FieldSpec] = &[
    f("name", "Deal", true, ""),
    f("amount", "Amount", true, "e.g. 12,500.00"),
    f("expected_close", "Expected close", false, "YYYY-MM-DD"),
    p("owner", "Owner (rep)", false, "a rep's name", Pick::Rep),
];

const SET_TARGET: &[FieldSpec] = &[
    p(
        "scope",
        "Scope",
        true,
        "company, team or rep",
        Pick::Fixed(&["company", "team", "rep"]),
    ),
    p(
        "name",
        "Team or rep",
        false,
        "the name (not for the company)",
        Pick::TeamOrRep,
    ),
    f("period", "Period", true, "2026-03, 2026-Q1 or 2026"),
    p(
        "metric",
        "Metric",
        true,
        "won_revenue, won_deals, activities, new_customers",
        Pick::Fixed(&["won_revenue", "won_deals", "activities", "new_customers"]),
    ),
    f(
        "amount",
        "Target",
        true,
        "an amount for revenue, a count otherwise",
    ),
    f("reason", "Reason", true, "kept with the revision"),
];

const REVISE_TARGET: &[FieldSpec] = &[
    f(
        "amount",
        "New target",
        true,
        "an amount for revenue, a count otherwise",
    ),
    f("reason", "Reason", true, "kept with the revision"),
];

const PROPOSE_TARGETS: &[FieldSpec] = &[
    p(
        "method",
        "Method",
        true,
        "goal, performance or resource",
        Pick::Fixed(&["goal", "performance", "resource"]),
    ),
    f("period", "Period", true, "2026-03, 2026-Q1 or 2026"),
    f(
        "growth",
        "Growth %",
        false,
        "goal method: over the forecast (default 10)",
    ),
];

const TEAM: &[FieldSpec] = &[
    f("name", "Team", true, ""),
    p(
        "parent",
        "Parent team",
        false,
        "a team's name; empty for a top team",
        Pick::Team,
    ),
    f(
        "external_id",
        "External id",
        false,
        "your other system's id",
    ),
];

const REP: &[FieldSpec] = &[
    f("name", "Rep", true, ""),
    p("team", "Team", false, "a team's name", Pick::Team),
    f(
        "capacity",
        "Capacity",
        false,
        "1 is one full-time seller (default 1)",
    ),
    p("active", "Active", false, "yes or no (default yes)", YES_NO),
    f("email", "Email", false, ""),
    f(
        "external_id",
        "External id",
        false,
        "your other system's id",
    ),
];

const PRODUCT: &[FieldSpec] = &[
    f("sku", "SKU", true, "unique code"),
    f("name", "Name", false, "default: the SKU"),
    f("family", "Family", false, ""),
    f("list_price", "List price", false, "e.g. 1,250.00"),
];

const STAGE: &[FieldSpec] = &[
    f("name", "Stage", true, ""),
    p(
        "kind",
        "Kind",
        true,
        "open, won or lost",
        Pick::Fixed(&["open", "won", "lost"]),
    ),
    f(
        "probability",
        "Win probability",
        false,
        "0 to 1 or a percentage; won 1, lost 0",
    ),
    f("position", "Order", false, "a whole number; default last"),
    p(
        "category",
        "Forecast category",
        false,
        "pipeline, best_case, commit, closed, omitted",
        Pick::Fixed(&["pipeline", "best_case", "commit", "closed", "omitted"]),
    ),
];

const MERGE: &[FieldSpec] = &[p(
    "into",
    "Merge into",
    true,
    "the customer that stays: name or external id",
    Pick::Customer,
)];

const SNOOZE: &[FieldSpec] = &[f("to", "Due on", true, "YYYY-MM-DD")];

const REASSIGN: &[FieldSpec] = &[p("rep", "Rep", true, "a rep's name", Pick::Rep)];

impl FormKind {
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            FormKind::Snooze(_) => SNOOZE,
            FormKind::Reassign(_) => REASSIGN,
            FormKind::MergeCustomer(_) => MERGE,
            FormKind::NewCustomer | FormKind::EditCustomer(_) => CUSTOMER,
            FormKind::NewContact { .. } | FormKind::EditContact { .. } => CONTACT,
            FormKind::Activity { .. } => ACTIVITY,
            FormKind::NewDeal => NEW_DEAL,
            FormKind::EditDeal(_) => EDIT_DEAL,
            FormKind::SetTarget => SET_TARGET,
            FormKind::ReviseTarget(_) => REVISE_TARGET,
            FormKind::ProposeTargets => PROPOSE_TARGETS,
            FormKind::Team(_) => TEAM,
            FormKind::Rep(_) => REP,
            FormKind::Product(_) => PRODUCT,
            FormKind::Stage(_) => STAGE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            FormKind::NewCustomer => "new customer",
            FormKind::EditCustomer(_) => "edit customer",
            FormKind::NewContact { .. } => "new contact",
            FormKind::EditContact { .. } => "edit contact",
            FormKind::Activity { .. } => "log an activity",
            FormKind::NewDeal => "new deal",
            FormKind::EditDeal(_) => "edit deal",
            FormKind::SetTarget => "set a target",
            FormKind::ReviseTarget(_) => "revise the target",
            FormKind::ProposeTargets => "propose targets",
            FormKind::Team(None) => "new team",
            FormKind::Team(Some(_)) => "edit team",
            FormKind::Rep(None) => "new rep",
            FormKind::Rep(Some(_)) => "edit rep",
            FormKind::Product(None) => "new product",
            FormKind::Product(Some(_)) => "edit product",
            FormKind::Stage(None) => "new stage",
            FormKind::Stage(Some(_)) => "edit stage",
            FormKind::MergeCustomer(_) => "merge into another customer",
            FormKind::Snooze(_) => "snooze the follow-up",
            FormKind::Reassign(_) => "reassign the follow-up",
        }
    }
}

/// Problems by field name ("" for the form as a whole).
pub type FormErrors = Vec<(String, String)>;

struct Values<'a> {
    values: &'a [(String, String)],
    errors: FormErrors,
}

impl Values<'_> {
    fn text(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
    fn fail(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.push((name.to_string(), reason.into()));
    }
    fn required(&mut self, name: &str) -> String {
        self.text(name).unwrap_or_else(|| {
            self.fail(name, "required");
            String::new()
        })
    }
    fn parse<T: std::str::FromStr<Err = String>>(&mut self, name: &str) -> Option<T> {
        let v = self.text(name)?;
        match v.parse() {
            Ok(x) => Some(x),
            Err(e) => {
                self.fail(name, e);
                None
            }
        }
    }
    fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let v = self.text(name)?;
        match parse_date(&v, &DateFormat::Auto(None)) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail(name, e.to_string());
                None
            }
        }
    }
    fn email(&mut self, name: &str) -> Option<String> {
        let v = self.text(name)?;
        if let Err(e) = check_email(&v) {
            self.fail(name, e);
        }
        Some(v)
    }
}

fn store_errors(e: StoreError) -> FormErrors {
    match e {
        StoreError::Field { field, reason } => vec![(field.to_string(), reason)],
        other => vec![(String::new(), other.to_string())],
    }
}

/// Why a form was not saved.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    /// Problems by field ("" for the form as a whole).
    Fields(FormErrors),
    /// The row changed elsewhere since the form read it.
    Conflict(Conflict),
}

/// A row changed elsewhere while its form was open.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conflict {
    /// The row as stored now: a form saved on this base keeps the form's values.
    pub stored: Base,
    /// (field, stored value) for each field changed elsewhere to something other than
    /// what the form holds.
    pub theirs: Vec<(String, String)>,
}

impl From<FormErrors> for SaveError {
    fn from(e: FormErrors) -> Self {
        SaveError::Fields(e)
    }
}

impl From<StoreError> for SaveError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => SaveError::Conflict(Conflict::default()),
            other => SaveError::Fields(store_errors(other)),
        }
    }
}

/// A customer's values as its edit form shows them (also what a conflict compares).
pub fn customer_values(d: &CustomerDetail) -> Vec<(&'static str, String)> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name", d.name.clone()),
        ("owner", opt(&d.owner)),
        ("segment", opt(&d.segment)),
        ("status", d.status.clone()),
        ("industry", opt(&d.industry)),
        ("region", opt(&d.region)),
        ("city", opt(&d.city)),
        ("country", opt(&d.country)),
        ("email", opt(&d.email)),
        ("phone", opt(&d.phone)),
        (
            "contact_every_days",
            d.contact_every_days
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        ("external_id", opt(&d.external_id)),
    ]
}

/// A contact's values as its edit form shows them.
pub fn contact_values(c: &ContactLine) -> Vec<(&'static str, String)> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name", c.name.clone()),
        ("title", opt(&c.title)),
        ("email", opt(&c.email)),
        ("phone", opt(&c.phone)),
        ("is_primary", if c.primary { "yes" } else { "no" }.into()),
    ]
}

/// A team's values as its Setup form shows them.
pub fn team_values(t: &TeamRow) -> FieldValues {
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        ("name", t.name.clone()),
        ("parent", text(&t.parent)),
        ("external_id", text(&t.external_id)),
    ]
}

/// A rep's values as its Setup form shows them.
pub fn rep_values(r: &RepRow) -> FieldValues {
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        ("name", r.name.clone()),
        ("team", text(&r.team)),
        ("capacity", format!("{}", r.capacity)),
        ("active", if r.active { "yes" } else { "no" }.into()),
        ("email", text(&r.email)),
        ("external_id", text(&r.external_id)),
    ]
}

/// A product's values as its Setup form shows them.
pub fn product_values(p: &ProductRow) -> FieldValues {
    vec![
        ("sku", p.sku.clone()),
        ("name", p.name.clone()),
        ("family", p.family.clone().unwrap_or_default()),
        ("list_price", p.list_price.to_string()),
    ]
}

/// A stage's values as its Setup form shows them.
pub fn stage_values(s: &StageRow) -> FieldValues {
    vec![
        ("name", s.name.clone()),
        ("kind", s.kind.as_str().into()),
        ("probability", format!("{}", s.probability)),
        ("position", s.position.to_string()),
        ("category", s.category.as_str().into()),
    ]
}

/// A deal's values as its edit form shows them.
pub fn deal_values(c: &DealCard) -> Vec<(&'static str, String)> {
    vec![
        ("name", c.name.clone()),
        ("amount", c.amount.to_string()),
        (
            "expected_close",
            c.expected_close.clone().unwrap_or_default(),
        ),
        ("owner", c.owner.clone().unwrap_or_default()),
    ]
}

/// The method, period and growth goal a propose-targets form asks for.
pub fn proposal_request(
    values: &[(String, String)],
) -> Result<(super::targets::Method, crate::domain::Period, f64), FormErrors> {
    let mut v = Values {
        values,
        errors: Vec::new(),
    };
    let method = v.required("method");
    let method = super::targets::Method::parse(&method.to_lowercase());
    if method.is_none() && v.text("method").is_some() {
        v.fail("method", "use goal, performance or resource");
    }
    let period = v.required("period");
    let period = crate::domain::Period::parse(&period)
        .map_err(|e| v.fail("period", e.to_string()))
        .ok();
    let growth = match v.text("growth") {
        None => 10.0,
        Some(g) => match g.trim_end_matches('%').trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > -100.0 => x,
            _ => {
                v.fail("growth", format!("'{g}' is not a percentage above -100"));
                0.0
            }
        },
    };
    match (method, period) {
        (Some(m), Some(p)) if v.errors.is_empty() => Ok((m, p, growth)),
        _ => Err(v.errors),
    }
}

/// A form's values by field name.
pub type FieldValues = Vec<(&'static str, String)>;

/// What an edit form read: the row's version and the values it showed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Base {
    pub version: i64,
    pub values: Vec<(String, String)>,
}

impl Base {
    pub fn new(version: i64, values: &[(&str, String)]) -> Base {
        Base {
            version,
            values: values
                .iter()
                .map(|(f, v)| (f.to_string(), v.clone()))
                .collect(),
        }
    }

    fn value(&self, field: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
    }
}

/// Validates and saves a form; the message to show, or the problems by field. An edit
/// saves only while its row is at the version its `base` read; when another process (or
/// screen) changed it since, nothing is written and the answer is a `Conflict` naming each
/// field changed elsewhere to something other than what this form holds, with both values,
/// so that the user can keep either. A change elsewhere to fields this form did not
/// change differently (or does not hold) is saved over without asking.
pub fn save(
    store: &mut Store,
    kind: FormKind,
    values: &[(String, String)],
    base: Option<&Base>,
    today: NaiveDate,
    actor: &Actor,
) -> Result<String, SaveError> {
    let version = base.map(|b| b.version);
    match save_at(store, kind, values, version, today, actor) {
        Err(SaveError::Conflict(_)) => {
            let Some((now, stored)) = stored_values(store, kind).map_err(store_errors)? else {
                return Err(SaveError::Fields(vec![(
                    String::new(),
                    "someone else deleted this while the form was open; nothing was saved".into(),
                )]));
            };
            let read = |field: &str| base.and_then(|b| b.value(field)).unwrap_or("");
            let mine = |field: &str| {
                values
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, v)| v.trim())
                    .unwrap_or("")
            };
            let theirs: Vec<(String, String)> = stored
                .iter()
                .filter(|(field, now)| {
                    now.trim() != read(field).trim() && now.trim() != mine(field)
                })
                .map(|(field, now)| (field.to_string(), now.clone()))
                .collect();
            if theirs.is_empty() {
                return save_at(store, kind, values, Some(now), today, actor);
            }
            Err(SaveError::Conflict(Conflict {
                stored: Base::new(now, &stored),
                theirs,
            }))
        }
        other => other,
    }
}

/// The row a form edits as it is stored now: its version and the form's values.
fn stored_values(store: &Store, kind: FormKind) -> Result<Option<(i64, FieldValues)>, StoreError> {
    Ok(match kind {
        FormKind::EditCustomer(id) => store
            .customer_detail(id)?
            .map(|d| (d.version, customer_values(&d))),
        FormKind::EditContact {
            customer_id,
            contact_id,
        } => store.customer_detail(customer_id)?.and_then(|d| {
            d.contacts
                .iter()
                .find(|c| c.id == contact_id)
                .map(|c| (c.version, contact_values(c)))
        }),
        FormKind::EditDeal(id) => store.deal_card(id)?.map(|c| (c.version, deal_values(&c))),
        FormKind::Team(Some(id)) => {
            let o = store.organisation()?;
            o.teams
                .iter()
                .find(|t| t.id == id)
                .map(|t| (t.version, team_values(t)))
        }
        FormKind::Rep(Some(id)) => {
            let o = store.organisation()?;
            o.reps
                .iter()
                .find(|r| r.id == id)
                .map(|r| (r.version, rep_values(r)))
        }
        FormKind::Product(Some(id)) => {
            let o = store.organisation()?;
            o.products
                .iter()
                .find(|p| p.id == id)
                .map(|p| (p.version, product_values(p)))
        }
        FormKind::Stage(Some(id)) => {
            let o = store.organisation()?;
            o.stages
                .iter()
                .find(|s| s.id == id)
                .map(|s| (s.version, stage_values(s)))
        }
        _ => None,
    })
}

fn save_at(
    store: &mut Store,
    kind: FormKind,
    values: &[(String, String)],
    version: Option<i64>,
    today: NaiveDate,
    actor: &Actor,
) -> Result<String, SaveError> {
    let mut v = Values {
        values,
        errors: reference_errors(store, kind, values)?,
    };
    match kind {
        FormKind::Team(_) | FormKind::Rep(_) | FormKind::Product(_) | FormKind::Stage(_) => {
            save_organisation(store, kind, v, version, actor)
        }
        FormKind::NewCustomer | FormKind::EditCustomer(_) => {
            save_customer_form(store, kind, v, version, today, actor)
        }
        FormKind::NewContact { customer_id } | FormKind::EditContact { customer_id, .. } => {
            save_contact_form(store, kind, v, version, actor, customer_id)
        }
        FormKind::Activity {
            customer_id,
            completes,
        } => save_activity_form(store, v, actor, customer_id, completes),
        FormKind::Snooze(id) => {
            let to = v.date("to");
            if let Some(to) = to.filter(|d| *d < today) {
                v.fail("to", format!("{to} is before today ({today})"));
            }
            let Some(to) = to.filter(|_| v.errors.is_empty()) else {
                if v.errors.is_empty() {
                    v.fail("to", "required");
                }
                return Err(v.errors.into());
            };
            let change = crate::domain::agenda::AgendaChange::Snooze { to };
            store
                .change_activity(id, &change, actor)
                .map_err(store_errors)?;
            Ok(format!("snoozed to {to}"))
        }
        FormKind::Reassign(id) => {
            let rep = v.required("rep");
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            let change = crate::domain::agenda::AgendaChange::Reassign { rep: rep.clone() };
            store
                .change_activity(id, &change, actor)
                .map_err(store_errors)?;
            Ok(format!("given to {rep}"))
        }
        FormKind::MergeCustomer(gone) => {
            let into = v.required("into");
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            let keep = store
                .find_row(crate::store::audit::Entity::Customer, &into)
                .map_err(|e| vec![("into".to_string(), e.to_string())])?;
            if keep == gone {
                return Err(vec![("into".to_string(), "that is this customer".to_string())].into());
            }
            let m = store.merge_customers(keep, gone, actor)?;
            let moved: Vec<String> = m
                .moved
                .iter()
                .map(|(t, n)| crate::store::remove::count_of(*n, t))
                .collect();
            Ok(format!(
                "merged {} into {}{}",
                m.removed,
                m.kept,
                if moved.is_empty() {
                    String::new()
                } else {
                    format!(": moved {}", moved.join(", "))
                }
            ))
        }
        FormKind::ProposeTargets => {
            // Never saved directly: the worker turns it into a proposal to review.
            Err(SaveError::Fields(vec![(
                String::new(),
                "a proposal is reviewed before it is saved".into(),
            )]))
        }
        FormKind::SetTarget | FormKind::ReviseTarget(_) => save_target_form(store, kind, v),
        FormKind::NewDeal | FormKind::EditDeal(_) => {
            save_deal_form(store, kind, v, version, today, actor)
        }
    }
}

/// A customer form: the fields checked, then saved (new or at the version read).
fn save_customer_form(
    store: &mut Store,
    kind: FormKind,
    mut v: Values,
    version: Option<i64>,
    today: NaiveDate,
    actor: &Actor,
) -> Result<String, SaveError> {
    let days = v.text("contact_every_days");
    let contact_every_days = match days.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            v.fail("contact_every_days", "a whole number of days, at least 1");
            None
        }
    };
    let r = CustomerRecord {
        external_id: v.text("external_id"),
        name: v.required("name"),
        owner: v.text("owner"),
        industry: v.text("industry"),
        segment: v.parse::<Segment>("segment"),
        region: v.text("region"),
        city: v.text("city"),
        country: v.text("country"),
        email: v.email("email"),
        phone: v.text("phone"),
        status: v
            .parse::<CustomerStatus>("status")
            .unwrap_or(CustomerStatus::Prospect),
        contact_every_days,
        created_on: None,
    };
    if !v.errors.is_empty() {
        return Err(v.errors.into());
    }
    let id = match kind {
        FormKind::EditCustomer(id) => Some(id),
        _ => None,
    };
    store.save_customer(id, version, &r, today, actor)?;
    Ok(format!("saved customer {}", r.name))
}

/// A contact form (one primary contact per customer).
fn save_contact_form(
    store: &mut Store,
    kind: FormKind,
    mut v: Values,
    version: Option<i64>,
    actor: &Actor,
    customer_id: i64,
) -> Result<String, SaveError> {
    let primary = match v.text("is_primary").map(|s| s.to_lowercase()).as_deref() {
        None | Some("no" | "n" | "false" | "0") => false,
        Some("yes" | "y" | "true" | "1") => true,
        Some(other) => {
            v.fail("is_primary", format!("'{other}' is not yes/no"));
            false
        }
    };
    let r = ContactRecord {
        external_id: None,
        customer: CustomerRef::Name(String::new()),
        name: v.required("name"),
        title: v.text("title"),
        email: v.email("email"),
        phone: v.text("phone"),
        is_primary: primary,
    };
    if !v.errors.is_empty() {
        return Err(v.errors.into());
    }
    let id = match kind {
        FormKind::EditContact { contact_id, .. } => Some(contact_id),
        _ => None,
    };
    store.save_contact(id, version, customer_id, &r, actor)?;
    Ok(format!("saved contact {}", r.name))
}

/// An activity form: logged, with the follow-up call it schedules.
fn save_activity_form(
    store: &mut Store,
    mut v: Values,
    actor: &Actor,
    customer_id: i64,
    completes: Option<i64>,
) -> Result<String, SaveError> {
    if v.text("kind").is_none() {
        v.fail("kind", "required");
    }
    let kind = v
        .parse::<ActivityKind>("kind")
        .unwrap_or(ActivityKind::Note);
    let done_on = v.date("done_on");
    if v.text("done_on").is_none() {
        v.fail("done_on", "required");
    }
    let follow_up = v.date("follow_up");
    if let (Some(d), Some(f)) = (done_on, follow_up) {
        if f < d {
            v.fail("follow_up", "the follow-up is before the activity");
        }
    }
    let r = ActivityRecord {
        external_id: None,
        customer: CustomerRef::Name(String::new()),
        deal: v.text("deal"),
        rep: v.text("rep"),
        kind,
        subject: v.text("subject"),
        due_on: None,
        done_on,
        outcome: v.text("outcome"),
    };
    if !v.errors.is_empty() {
        return Err(v.errors.into());
    }
    store
        .log_activity(customer_id, &r, follow_up, actor)
        .map_err(store_errors)?;
    if let (Some(id), Some(on)) = (completes, done_on) {
        let change = crate::domain::agenda::AgendaChange::Complete {
            on,
            outcome: r.outcome.clone(),
        };
        store
            .change_activity(id, &change, actor)
            .map_err(store_errors)?;
    }
    Ok(match follow_up {
        Some(d) => format!("logged the {kind}; follow-up call due {d}"),
        None => format!("logged the {kind}"),
    })
}

/// A set-target or revise-target form.
fn save_target_form(store: &mut Store, kind: FormKind, mut v: Values) -> Result<String, SaveError> {
    let reason = v.required("reason");
    let amount = v.required("amount");
    if let FormKind::ReviseTarget(id) = kind {
        let metric = store
            .target(id)
            .map_err(store_errors)?
            .map(|t| t.metric)
            .ok_or_else(|| vec![(String::new(), format!("there is no target {id}"))])?;
        let value = super::targets::parse_value(metric, &amount)
            .map_err(|e| v.fail("amount", e))
            .ok();
        if !v.errors.is_empty() {
            return Err(v.errors.into());
        }
        let value = value.unwrap_or_default();
        let old = super::targets::revise(store, id, value, &reason).map_err(store_errors)?;
        if old == value {
            return Ok(format!("target {id} unchanged: nothing written"));
        }
        let show = |v| super::targets::format_value(metric, v);
        return Ok(format!(
            "target {id} revised from {} to {}: {reason}",
            show(old),
            show(value)
        ));
    }
    let scope = v.parse::<crate::domain::TargetScope>("scope");
    if v.text("scope").is_none() {
        v.fail("scope", "required");
    }
    let name = v.text("name");
    if matches!(scope, Some(s) if s != crate::domain::TargetScope::Company) && name.is_none() {
        v.fail("name", "required for a team or a rep");
    }
    let period = v.required("period");
    let period = crate::domain::Period::parse(&period)
        .map_err(|e| v.fail("period", e.to_string()))
        .ok();
    let metric = v.parse::<crate::domain::TargetMetric>("metric");
    if v.text("metric").is_none() {
        v.fail("metric", "required");
    }
    let value = metric.and_then(|m| {
        super::targets::parse_value(m, &amount)
            .map_err(|e| v.fail("amount", e))
            .ok()
    });
    match (scope, period, metric, value) {
        (Some(scope), Some(period), Some(metric), Some(value)) if v.errors.is_empty() => {
            let name = (scope != crate::domain::TargetScope::Company)
                .then_some(name.as_deref())
                .flatten();
            let (id, _) = super::targets::set(store, scope, name, period, metric, value, &reason)
                .map_err(|e| {
                // The store names the team or rep field; the form calls it "name".
                store_errors(e)
                    .into_iter()
                    .map(|(f, r)| match f.as_str() {
                        "team" | "rep" => ("name".to_string(), r),
                        "value" => ("amount".to_string(), r),
                        _ => (f, r),
                    })
                    .collect::<FormErrors>()
            })?;
            Ok(format!(
                "target {id} set: {} {period} {}",
                name.unwrap_or("company"),
                metric.as_str()
            ))
        }
        _ => Err(v.errors.into()),
    }
}

/// A new or edited deal.
fn save_deal_form(
    store: &mut Store,
    kind: FormKind,
    mut v: Values,
    version: Option<i64>,
    today: NaiveDate,
    actor: &Actor,
) -> Result<String, SaveError> {
    let amount = match v.text("amount") {
        None => {
            v.fail("amount", "required");
            None
        }
        Some(a) => match parse_amount(&a) {
            Ok(m) if m.cents() >= 0 => Some(m),
            Ok(_) => {
                v.fail("amount", "cannot be negative");
                None
            }
            Err(e) => {
                v.fail("amount", e.to_string());
                None
            }
        },
    };
    let fields = DealFields {
        name: v.required("name"),
        customer: if kind == FormKind::NewDeal {
            Some(v.required("customer"))
        } else {
            None
        },
        owner: v.text("owner"),
        amount: amount.unwrap_or_default(),
        expected_close: v.date("expected_close"),
        stage: if kind == FormKind::NewDeal {
            Some(v.required("stage"))
        } else {
            None
        },
        product: v.text("product"),
    };
    if !v.errors.is_empty() {
        return Err(v.errors.into());
    }
    let id = match kind {
        FormKind::EditDeal(id) => Some(id),
        _ => None,
    };
    store.save_deal(id, version, &fields, today, actor)?;
    Ok(format!("saved deal {}", fields.name))
}

/// The Setup screen's forms: teams, reps, products and stages.
fn save_organisation(
    store: &mut Store,
    kind: FormKind,
    mut v: Values,
    version: Option<i64>,
    actor: &Actor,
) -> Result<String, SaveError> {
    use crate::domain::records::{ProductRecord, RepRecord, StageRecord, TeamRecord};
    use crate::domain::setup::{parse_capacity, parse_probability};
    match kind {
        FormKind::Team(id) => {
            let r = TeamRecord {
                external_id: v.text("external_id"),
                name: v.required("name"),
                parent: v.text("parent"),
            };
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            store.save_team(id, version, &r, actor)?;
            Ok(format!("saved team {}", r.name))
        }
        FormKind::Rep(id) => {
            let capacity = v
                .text("capacity")
                .and_then(|c| parse_capacity(&c).map_err(|e| v.fail("capacity", e)).ok());
            let active = match v.text("active").map(|s| s.to_lowercase()).as_deref() {
                None => None,
                Some("yes" | "y" | "true" | "1") => Some(true),
                Some("no" | "n" | "false" | "0") => Some(false),
                Some(other) => {
                    v.fail("active", format!("'{other}' is not yes/no"));
                    None
                }
            };
            let r = RepRecord {
                external_id: v.text("external_id"),
                name: v.required("name"),
                email: v.email("email"),
                team: v.text("team"),
                capacity,
                hired_on: None,
                active,
            };
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            store.save_rep(id, version, &r, actor)?;
            Ok(format!("saved rep {}", r.name))
        }
        FormKind::Product(id) => {
            let list_price = match v.text("list_price") {
                None => None,
                Some(p) => match parse_amount(&p) {
                    Ok(m) if m.cents() >= 0 => Some(m),
                    Ok(_) => {
                        v.fail("list_price", "cannot be negative");
                        None
                    }
                    Err(e) => {
                        v.fail("list_price", e.to_string());
                        None
                    }
                },
            };
            let r = ProductRecord {
                sku: v.required("sku"),
                name: v.text("name"),
                family: v.text("family"),
                list_price,
            };
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            store.save_product(id, version, &r, actor)?;
            Ok(format!("saved product {}", r.sku))
        }
        FormKind::Stage(id) => {
            if v.text("kind").is_none() {
                v.fail("kind", "required");
            }
            let kind = v.parse::<crate::domain::StageKind>("kind");
            let probability = v.text("probability").and_then(|p| {
                parse_probability(&p)
                    .map_err(|e| v.fail("probability", e))
                    .ok()
            });
            let position = v.text("position").and_then(|p| match p.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    v.fail(
                        "position",
                        format!("'{p}' is not a whole number of at least 0"),
                    );
                    None
                }
            });
            let r = StageRecord {
                name: v.required("name"),
                kind: kind.unwrap_or(crate::domain::StageKind::Open),
                probability,
                position,
                category: v.parse::<crate::domain::ForecastCategory>("category"),
            };
            if !v.errors.is_empty() {
                return Err(v.errors.into());
            }
            store.save_stage(id, version, &r, actor)?;
            Ok(format!("saved stage {}", r.name))
        }
        _ => Err(vec![(String::new(), "not an organisation form".into())].into()),
    }
}

/// Picker fields naming a rep, team, product, open stage or customer that does not exist:
/// found with the field's other problems, so that a form shows every error at once.
fn reference_errors(
    store: &Store,
    kind: FormKind,
    values: &[(String, String)],
) -> Result<FormErrors, StoreError> {
    let mut lists = None;
    let mut out = Vec::new();
    for spec in kind.fields() {
        let Some(pick) = spec.pick else { continue };
        let Some(value) = values
            .iter()
            .find(|(n, _)| n == spec.name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        if pick == Pick::Customer {
            if let Err(e) = store.find_row(crate::store::audit::Entity::Customer, value) {
                out.push((spec.name.to_string(), e.to_string()));
            }
            continue;
        }
        if lists.is_none() {
            lists = Some(store.pick_lists()?);
        }
        let Some(l) = &lists else { continue };
        let (names, what): (Vec<&Vec<String>>, &str) = match pick {
            Pick::Rep => (vec![&l.reps], "rep"),
            Pick::Team => (vec![&l.teams], "team"),
            Pick::TeamOrRep => (vec![&l.teams, &l.reps], "team or rep"),
            Pick::Product => (vec![&l.products, &l.product_skus], "product (name or SKU)"),
            Pick::OpenStage => (vec![&l.open_stages], "open stage"),
            // Checked by the field's own parsing, or free text.
            Pick::Fixed(_) | Pick::Region | Pick::Customer => continue,
        };
        if !names
            .iter()
            .any(|list| list.iter().any(|n| n.eq_ignore_ascii_case(value)))
        {
            out.push((spec.name.to_string(), format!("no {what} named '{value}'")));
        }
    }
    Ok(out)
}

/// The options of every picker but the customer one, by kind (see `Pick`).
pub fn pick_options(
    store: &Store,
) -> Result<std::collections::HashMap<Pick, Vec<String>>, StoreError> {
    let l = store.pick_lists()?;
    let mut team_or_rep = l.teams.clone();
    team_or_rep.extend(l.reps.iter().cloned());
    Ok([
        (Pick::Rep, l.reps),
        (Pick::Team, l.teams),
        (Pick::TeamOrRep, team_or_rep),
        (Pick::Product, l.products),
        (Pick::Region, l.regions),
        (Pick::OpenStage, l.open_stages),
    ]
    .into_iter()
    .collect())
}

/// Customers a customer picker may offer for what is typed (their names).
pub fn customer_suggestions(store: &Store, text: &str) -> Result<Vec<String>, StoreError> {
    store.customer_names_like(text, 200)
}
