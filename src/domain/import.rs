//! What an import is of, and what it reports.

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Customers,
    Contacts,
    Deals,
    Activities,
    Orders,
    Targets,
    Teams,
    Reps,
    Products,
    Stages,
    StageChanges,
}

impl ImportKind {
    pub const ALL: [ImportKind; 11] = [
        ImportKind::Customers,
        ImportKind::Contacts,
        ImportKind::Deals,
        ImportKind::Activities,
        ImportKind::Orders,
        ImportKind::Targets,
        ImportKind::Teams,
        ImportKind::Reps,
        ImportKind::Products,
        ImportKind::Stages,
        ImportKind::StageChanges,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Contacts => "contacts",
            ImportKind::Deals => "deals",
            ImportKind::Activities => "activities",
            ImportKind::Orders => "orders",
            ImportKind::Targets => "targets",
            ImportKind::Teams => "teams",
            ImportKind::Reps => "reps",
            ImportKind::Products => "products",
            ImportKind::Stages => "stages",
            ImportKind::StageChanges => "stage_changes",
        }
    }
    /// The kinds, as the CLI lists them.
    pub fn names() -> String {
        let names: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }
    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One reported problem: `FILE:LINE: column: reason`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub kind: String,
    /// `funnel` for the canonical format, else the vendor or mapping.
    pub vendor: String,
    pub batch_id: Option<i64>,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub errors: Vec<RowError>,
    /// Entities made by `--create-missing`, as "kind: name".
    pub created: Vec<String>,
    /// Trailer lines a report export appended, skipped.
    pub ignored_lines: Vec<u64>,
    pub ignored_columns: Vec<String>,
    /// Rows that took a mapping default, by field.
    pub defaulted: std::collections::BTreeMap<String, usize>,
    /// Amounts rounded to the cent (`--round`).
    pub rounded: usize,
    /// Deals given a stage history inferred from their dates.
    pub inferred_histories: usize,
    pub dry_run: bool,
    pub skip_invalid: bool,
    /// Whether anything was written.
    pub committed: bool,
}
