//! A table of typed cells: what reports, exports and listings hand to the front ends,
//! which render it as an aligned table, CSV or JSON.

use super::Money;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Money(Money),
    /// A ratio shown as a percentage (0.25 -> 25.0%).
    Ratio(f64),
}

impl Cell {
    /// The text used in CSV and in the aligned table.
    /// The cell as text (see [`spreadsheet_safe`] for text meant for spreadsheets).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Real(f) => format_real(*f),
            Cell::Text(s) => s.clone(),
            Cell::Money(m) => m.to_string(),
            Cell::Ratio(r) => format!("{:.1}%", r * 100.0),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        let num = |f: f64| {
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => (*i).into(),
            Cell::Real(f) => num(*f),
            Cell::Text(s) => s.clone().into(),
            Cell::Money(m) => num(m.units()),
            Cell::Ratio(r) => num(*r),
        }
    }

    /// Numbers are right-aligned in tables.
    pub fn is_numeric(&self) -> bool {
        !matches!(self, Cell::Text(_) | Cell::Null)
    }
}

/// Shortest text that reads back as the same number (`0`, `12.5`, `0.125`).
pub fn format_real(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// A control character that has no place in a stored value: C0 controls other than tab,
/// line feed and carriage return (which quoted CSV fields may hold), DEL and C1 controls.
pub fn is_forbidden_control(c: char) -> bool {
    // `is_control` is Unicode's Cc: C0, DEL and C1 alike.
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Text safe to print on a terminal: every control character (including line breaks and
/// tabs, which would break a table) shown as an escape such as `\x1b`, so that imported
/// data can never move the cursor, retitle the window or answer a terminal query.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Characters that make a spreadsheet treat a cell as a formula (or, for tab and carriage
/// return, shift it).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Text as a spreadsheet should show it: a leading `'` when it begins with a formula
/// character, so `=HYPERLINK(…)` from an import is shown, not run.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(FORMULA_START) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Undoes [`spreadsheet_safe`]: an import reads `'=…` back as `=…`.
pub fn undo_spreadsheet_escape(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => text,
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[&str]) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}
