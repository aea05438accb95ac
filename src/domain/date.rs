//! Date parsing for imports: strict, and refusing to guess day/month order.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// The order of day and month in a numeric date such as `03/04/2025`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayMonthOrder {
    DayFirst,
    MonthFirst,
}

/// How dates in a file are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    /// ISO dates always; numeric `a/b/yyyy` dates only when the order is known.
    Auto(Option<DayMonthOrder>),
    /// A chrono `strftime` pattern given by the user, e.g. `%d.%m.%Y`.
    Pattern(String),
}

impl DateFormat {
    /// Reads a `--date-format` value: a strftime pattern, or one of the shorthands
    /// `dmy`, `mdy`, `ymd`/`iso`.
    pub fn from_user(text: &str) -> Result<DateFormat, String> {
        match text.to_ascii_lowercase().as_str() {
            "dmy" | "dd/mm/yyyy" => Ok(DateFormat::Auto(Some(DayMonthOrder::DayFirst))),
            "mdy" | "mm/dd/yyyy" => Ok(DateFormat::Auto(Some(DayMonthOrder::MonthFirst))),
            "ymd" | "iso" | "yyyy-mm-dd" => Ok(DateFormat::Auto(None)),
            _ if text.contains('%') => {
                // Check the pattern once so a typo is reported as such, not as 1M bad rows.
                let probe = NaiveDate::from_ymd_opt(2025, 3, 14).expect("valid date");
                let shown = probe.format(text);
                let mut rendered = String::new();
                use std::fmt::Write;
                if write!(rendered, "{shown}").is_err() {
                    return Err(format!("'{text}' is not a valid date format"));
                }
                Ok(DateFormat::Pattern(text.to_string()))
            }
            _ => Err(format!(
                "'{text}' is not a date format: use dmy, mdy, iso or a strftime pattern such as %d.%m.%Y"
            )),
        }
    }
}

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("'{0}' is not a date")]
    NotADate(String),
    #[error("'{0}' is not a real calendar date")]
    NoSuchDay(String),
    #[error("'{0}' is ambiguous (day/month or month/day?): give --date-format dmy or mdy")]
    Ambiguous(String),
    #[error("'{0}' does not match the date format '{1}'")]
    NoMatch(String, String),
    #[error("'{0}' is outside the years 1000 to 9999")]
    OutOfRange(String),
}

/// What a numeric `a/b/yyyy` date says about the day/month order of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvidence {
    /// Not a numeric a/b/y date, or one that fits both orders.
    None,
    DayFirst,
    MonthFirst,
}

/// Splits `a/b/yyyy`, `a.b.yyyy` or `a-b-yyyy` (time after a space or `T` ignored).
fn numeric_parts(s: &str) -> Option<(u32, u32, i32)> {
    let date = s.split([' ', 'T']).next()?;
    let sep = date.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let mut parts = date.split(sep);
    let a = parts.next()?;
    let b = parts.next()?;
    let y = parts.next()?;
    if parts.next().is_some() || a.len() > 2 || b.len() > 2 || y.len() != 4 {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, y.parse().ok()?))
}

/// What one raw value tells about the file's day/month order.
pub fn order_evidence(raw: &str) -> OrderEvidence {
    match numeric_parts(raw.trim()) {
        Some((a, b, _)) if a > 12 && b <= 12 => OrderEvidence::DayFirst,
        Some((a, b, _)) if b > 12 && a <= 12 => OrderEvidence::MonthFirst,
        _ => OrderEvidence::None,
    }
}

/// Parses one date. ISO `2025-03-14`, optionally followed by a time (`2025-03-14 09:00`,
/// `2025-03-14T09:00:00Z`), is always accepted; the time is dropped.
pub fn parse_date(raw: &str, format: &DateFormat) -> Result<NaiveDate, DateError> {
    let d = parse_any_year(raw, format)?;
    // The store keeps four-digit ISO years; a strftime pattern can read year -5 or 12345.
    if !(1000..=9999).contains(&d.year()) {
        return Err(DateError::OutOfRange(raw.trim().to_string()));
    }
    Ok(d)
}

fn parse_any_year(raw: &str, format: &DateFormat) -> Result<NaiveDate, DateError> {
    let s = raw.trim();
    if let DateFormat::Pattern(p) = format {
        if let Ok(d) = NaiveDate::parse_from_str(s, p) {
            return Ok(d);
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, p) {
            return Ok(dt.date());
        }
        let first = s.split([' ', 'T']).next().unwrap_or(s);
        return NaiveDate::parse_from_str(first, p)
            .map_err(|_| DateError::NoMatch(s.to_string(), p.clone()));
    }
    if let Some(d) = parse_iso(s)? {
        return Ok(d);
    }
    let Some((a, b, y)) = numeric_parts(s) else {
        return Err(DateError::NotADate(s.to_string()));
    };
    let order = match format {
        DateFormat::Auto(Some(o)) => *o,
        _ => match order_evidence(s) {
            OrderEvidence::DayFirst => DayMonthOrder::DayFirst,
            OrderEvidence::MonthFirst => DayMonthOrder::MonthFirst,
            // Equal day and month read the same either way.
            OrderEvidence::None if a == b => DayMonthOrder::DayFirst,
            OrderEvidence::None => return Err(DateError::Ambiguous(s.to_string())),
        },
    };
    let (d, m) = match order {
        DayMonthOrder::DayFirst => (a, b),
        DayMonthOrder::MonthFirst => (b, a),
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| DateError::NoSuchDay(s.to_string()))
}

/// `Ok(None)` when the text is not ISO-shaped at all.
fn parse_iso(s: &str) -> Result<Option<NaiveDate>, DateError> {
    let b = s.as_bytes();
    let iso_shape = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_digit);
    if !iso_shape {
        return Ok(None);
    }
    if b.len() > 10 && !(matches!(b[10], b' ' | b'T') && valid_time(&s[11..])) {
        return Err(DateError::NotADate(s.to_string()));
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(0..4) as i32, num(5..7), num(8..10));
    NaiveDate::from_ymd_opt(y, m, d)
        .map(Some)
        .ok_or_else(|| DateError::NoSuchDay(s.to_string()))
}

/// The time after an ISO date: `HH:MM`, `HH:MM:SS` or with a fraction, then optionally
/// `Z`, an offset (`+02:00`, `-0500`) or a zone name (`UTC`). Out-of-range parts (`25:99`)
/// are refused: a malformed time is not quietly dropped.
fn valid_time(t: &str) -> bool {
    let t = t.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Split off a zone: Z, +hh[:mm], -hh[:mm], or " NAME".
    let (clock, zone) = match t.find(['Z', '+', '-', ' ']) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let zone_ok = match zone.chars().next() {
        None => true,
        Some('Z') => zone == "Z",
        Some('+' | '-') => {
            let z = zone[1..].replace(':', "");
            z.len() == 4 && digits(&z) && z[..2].parse::<u32>().is_ok_and(|h| h <= 14)
        }
        Some(_) => zone.chars().all(|c| c.is_ascii_alphabetic()) && zone.len() <= 5,
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        _ => return false,
    };
    let (sec, frac) = sec.split_once('.').unwrap_or((sec, "0"));
    zone_ok
        && (1..=2).contains(&h.len())
        && digits(h)
        && m.len() == 2
        && digits(m)
        && (1..=2).contains(&sec.len())
        && digits(sec)
        && digits(frac)
        && h.parse::<u32>().is_ok_and(|h| h < 24)
        && m.parse::<u32>().is_ok_and(|m| m < 60)
        && sec.parse::<u32>().is_ok_and(|s| s <= 60)
}

/// ISO text of a date, as stored.
pub fn iso(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    const AUTO: DateFormat = DateFormat::Auto(None);

    #[test]
    fn years_the_store_cannot_keep_are_refused() {
        let p = DateFormat::from_user("%d.%m.%Y").unwrap();
        assert!(matches!(
            parse_date("01.01.-5", &p),
            Err(DateError::OutOfRange(_))
        ));
        assert!(parse_date("01.01.12345", &p).is_err());
        assert!(matches!(
            parse_date("01.01.0999", &p),
            Err(DateError::OutOfRange(_))
        ));
        assert_eq!(parse_date("01.01.2025", &p), Ok(d(2025, 1, 1)));
    }

    #[test]
    fn malformed_times_are_refused() {
        let auto = DateFormat::Auto(None);
        for ok in [
            "2025-01-01 00:00",
            "2025-01-01T13:45:59",
            "2025-01-01T13:45:59.123Z",
            "2025-01-01 08:00:00 UTC",
            "2025-01-01T08:00:00+02:00",
            "2025-01-01T08:00-0500",
        ] {
            assert_eq!(parse_date(ok, &auto), Ok(d(2025, 1, 1)), "{ok}");
        }
        for bad in [
            "2025-01-01T25:99:99",
            "2025-01-01 12",
            "2025-01-01T12:60",
            "2025-01-01 noon",
            "2025-01-01T12:00+99:00",
        ] {
            assert!(parse_date(bad, &auto).is_err(), "{bad}");
        }
    }

    #[test]
    fn iso_with_and_without_time() {
        assert_eq!(parse_date("2025-12-23", &AUTO), Ok(d(2025, 12, 23)));
        assert_eq!(parse_date("2025-12-23 00:00", &AUTO), Ok(d(2025, 12, 23)));
        assert_eq!(
            parse_date("2025-12-23T10:00:00Z", &AUTO),
            Ok(d(2025, 12, 23))
        );
        assert!(matches!(
            parse_date("2024-02-30 09:00", &AUTO),
            Err(DateError::NoSuchDay(_))
        ));
        assert!(matches!(
            parse_date("2024-02-3x", &AUTO),
            Err(DateError::NotADate(_))
        ));
        assert!(matches!(
            parse_date("soon", &AUTO),
            Err(DateError::NotADate(_))
        ));
    }

    #[test]
    fn numeric_dates_need_a_known_order() {
        assert!(matches!(
            parse_date("03/04/2025", &AUTO),
            Err(DateError::Ambiguous(_))
        ));
        assert_eq!(parse_date("13/04/2025", &AUTO), Ok(d(2025, 4, 13)));
        assert_eq!(parse_date("04/13/2025", &AUTO), Ok(d(2025, 4, 13)));
        assert_eq!(parse_date("04/04/2025", &AUTO), Ok(d(2025, 4, 4)));
        let dmy = DateFormat::Auto(Some(DayMonthOrder::DayFirst));
        let mdy = DateFormat::Auto(Some(DayMonthOrder::MonthFirst));
        assert_eq!(parse_date("03/04/2025", &dmy), Ok(d(2025, 4, 3)));
        assert_eq!(parse_date("03/04/2025", &mdy), Ok(d(2025, 3, 4)));
        assert!(matches!(
            parse_date("31/02/2025", &dmy),
            Err(DateError::NoSuchDay(_))
        ));
    }

    #[test]
    fn user_patterns() {
        let f = DateFormat::from_user("%d.%m.%Y").unwrap();
        assert_eq!(parse_date("14.03.2025", &f), Ok(d(2025, 3, 14)));
        assert_eq!(parse_date("14.03.2025 10:00", &f), Ok(d(2025, 3, 14)));
        assert!(matches!(
            parse_date("2025-03-14", &f),
            Err(DateError::NoMatch(..))
        ));
        assert!(DateFormat::from_user("whenever").is_err());
        assert_eq!(
            DateFormat::from_user("DMY").unwrap(),
            DateFormat::Auto(Some(DayMonthOrder::DayFirst))
        );
    }

    #[test]
    fn evidence() {
        assert_eq!(order_evidence("25/12/2024"), OrderEvidence::DayFirst);
        assert_eq!(order_evidence("12/25/2024"), OrderEvidence::MonthFirst);
        assert_eq!(order_evidence("01/02/2024"), OrderEvidence::None);
        assert_eq!(order_evidence("2024-12-25"), OrderEvidence::None);
    }

    proptest::proptest! {
        #[test]
        fn iso_round_trip(days in 0i64..80_000) {
            let date = d(1900, 1, 1) + chrono::Duration::days(days);
            proptest::prop_assert_eq!(parse_date(&iso(date), &AUTO), Ok(date));
        }

        #[test]
        fn unambiguous_slash_dates_read_either_way(days in 0i64..80_000) {
            let date = d(1900, 1, 1) + chrono::Duration::days(days);
            let dmy = format!("{:02}/{:02}/{}", date.day(), date.month(), date.year());
            let dmy_order = DateFormat::Auto(Some(DayMonthOrder::DayFirst));
            proptest::prop_assert_eq!(parse_date(&dmy, &dmy_order), Ok(date));
            if date.day() > 12 {
                proptest::prop_assert_eq!(parse_date(&dmy, &AUTO), Ok(date));
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_date(&s, &AUTO);
        }
    }
}
