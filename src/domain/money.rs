//! Money as integer cents, and the parser for the amounts users and vendor exports write.

use std::fmt;

/// An amount of money in integer cents of the database's one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    pub fn cents(self) -> i64 {
        self.0
    }
    pub fn from_units(units: f64) -> Money {
        Money((units * 100.0).round() as i64)
    }
    pub fn units(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// In JSON, money is a number of currency units (`1250.5`).
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.units())
    }
}

/// Read back from a number of currency units (to the nearest cent).
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let units = f64::deserialize(d)?;
        Ok(Money((units * 100.0).round() as i64))
    }
}

impl fmt::Display for Money {
    /// Decimal currency units with two decimals and no grouping: `1250.50`, `-3.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Why an amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("empty amount")]
    Empty,
    #[error("'{0}' is not an amount")]
    NotANumber(String),
    #[error("'{0}' has more than two decimal places")]
    TooPrecise(String),
    #[error("'{0}' has misplaced thousands separators (write 12,500.00 or 12500.00)")]
    BadGrouping(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
}

const CURRENCY_SYMBOLS: [char; 6] = ['$', '€', '£', '¥', '₹', '₩'];

/// Parses `1250.5`, `12,500.00`, `$12,500.00`, `USD 12,500.00`, `12500 EUR`, `-3.05` and
/// the accounting negative `(3.05)`. Thousands separators must be commas in groups of three,
/// decimals a point with at most two digits, so that `1.234,56` or `12,50` are refused
/// instead of being read as a different number.
pub fn parse_amount(raw: &str) -> Result<Money, AmountError> {
    parse_amount_with(raw, false).map(|(m, _)| m)
}

/// Like [`parse_amount`], but with `round` an amount with more than two decimals is
/// rounded to the cent (half away from zero) instead of refused; the flag says whether
/// it was.
pub fn parse_amount_with(raw: &str, round: bool) -> Result<(Money, bool), AmountError> {
    let original = raw.trim();
    if original.is_empty() {
        return Err(AmountError::Empty);
    }
    let not_a_number = || AmountError::NotANumber(original.to_string());
    let mut s = original;
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') {
        negative = true;
        s = s[1..s.len() - 1].trim();
    }
    if let Some(rest) = s.strip_prefix('-') {
        if negative {
            return Err(not_a_number());
        }
        negative = true;
        s = rest.trim_start();
    }
    // A currency code (three ASCII letters) before or after the number.
    s = strip_currency_code(s);
    s = s
        .trim_start_matches(|c| CURRENCY_SYMBOLS.contains(&c))
        .trim();
    s = s.trim_end_matches(|c| CURRENCY_SYMBOLS.contains(&c)).trim();
    s = strip_currency_code(s);
    if let Some(rest) = s.strip_prefix('-') {
        if negative {
            return Err(not_a_number());
        }
        negative = true;
        s = rest;
    }
    if s.is_empty() {
        return Err(not_a_number());
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int_part.is_empty() && frac_part.is_none_or(|f| f.is_empty()) {
        return Err(not_a_number());
    }
    let digits: String = if int_part.contains(',') {
        let groups: Vec<&str> = int_part.split(',').collect();
        let first_ok = !groups[0].is_empty() && groups[0].len() <= 3;
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !(first_ok && rest_ok) {
            return Err(AmountError::BadGrouping(original.to_string()));
        }
        groups.concat()
    } else {
        int_part.to_string()
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(not_a_number());
    }
    let frac = frac_part.unwrap_or("");
    if frac.contains(',') {
        // `1.234,56`: a decimal comma with point grouping, which this reader does not guess at.
        return Err(AmountError::BadGrouping(original.to_string()));
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(not_a_number());
    }
    let mut rounded = false;
    let mut carry = 0;
    let frac = if frac.len() > 2 {
        if !round {
            return Err(AmountError::TooPrecise(original.to_string()));
        }
        rounded = frac[2..].bytes().any(|b| b != b'0');
        carry = i64::from(frac.as_bytes()[2] >= b'5');
        &frac[..2]
    } else {
        frac
    };
    let units: i64 = if digits.is_empty() {
        0
    } else {
        digits
            .parse()
            .map_err(|_| AmountError::TooLarge(original.to_string()))?
    };
    let frac_cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    let cents = units
        .checked_mul(100)
        .and_then(|c| c.checked_add(frac_cents + carry))
        .filter(|c| *c <= MAX_CENTS)
        .ok_or_else(|| AmountError::TooLarge(original.to_string()))?;
    Ok((Money(if negative { -cents } else { cents }), rounded))
}

/// Largest amount accepted: a trillion currency units keeps every sum of a million of them
/// far inside i64.
pub const MAX_CENTS: i64 = 100_000_000_000_000;

fn strip_currency_code(s: &str) -> &str {
    let s = s.trim();
    let is_code = |c: &str| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase());
    if s.len() > 3 && s.is_char_boundary(3) && is_code(&s[..3]) {
        return s[3..].trim_start();
    }
    if s.len() > 3 && s.is_char_boundary(s.len() - 3) && is_code(&s[s.len() - 3..]) {
        return s[..s.len() - 3].trim_end();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_to_the_cent() {
        for cents in [0i64, 1, 10, 99, 123_456_789, -7_200_000, 224_191_876_000] {
            let m = Money(cents);
            let back: Money = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn reads_the_forms_exports_use() {
        assert_eq!(parse_amount("12500"), Ok(Money(1_250_000)));
        assert_eq!(parse_amount("12,500.00"), Ok(Money(1_250_000)));
        assert_eq!(parse_amount("$12,500.00"), Ok(Money(1_250_000)));
        assert_eq!(parse_amount("USD 12,500.00"), Ok(Money(1_250_000)));
        assert_eq!(parse_amount("12,500.00 EUR"), Ok(Money(1_250_000)));
        assert_eq!(parse_amount(" 1250.5 "), Ok(Money(125_050)));
        assert_eq!(parse_amount(".5"), Ok(Money(50)));
        assert_eq!(parse_amount("-3.05"), Ok(Money(-305)));
        assert_eq!(parse_amount("(3.05)"), Ok(Money(-305)));
        assert_eq!(parse_amount("$-3.05"), Ok(Money(-305)));
        assert_eq!(parse_amount("€1,234,567.89"), Ok(Money(123_456_789)));
    }

    #[test]
    fn rounds_sub_cent_amounts_only_when_asked() {
        assert!(matches!(
            parse_amount("2.675"),
            Err(AmountError::TooPrecise(_))
        ));
        assert_eq!(parse_amount_with("2.675", true), Ok((Money(268), true)));
        assert_eq!(parse_amount_with("2.674", true), Ok((Money(267), true)));
        assert_eq!(parse_amount_with("-2.675", true), Ok((Money(-268), true)));
        assert_eq!(parse_amount_with("0.995", true), Ok((Money(100), true)));
        // Trailing zeros are not a rounding.
        assert_eq!(parse_amount_with("3.1000", true), Ok((Money(310), false)));
        assert_eq!(parse_amount_with("3.10", false), Ok((Money(310), false)));
    }

    #[test]
    fn refuses_what_it_cannot_read_for_sure() {
        assert!(matches!(
            parse_amount("TBD"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(parse_amount(""), Err(AmountError::Empty)));
        assert!(matches!(
            parse_amount("12,50"),
            Err(AmountError::BadGrouping(_))
        ));
        assert!(matches!(
            parse_amount("1.234,56"),
            Err(AmountError::BadGrouping(_))
        ));
        assert!(matches!(
            parse_amount("1.234"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_amount("1e5"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            parse_amount("--5"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(parse_amount("$"), Err(AmountError::NotANumber(_))));
        assert!(matches!(
            parse_amount("99999999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_as_decimal_units() {
        assert_eq!(Money(125_050).to_string(), "1250.50");
        assert_eq!(Money(-305).to_string(), "-3.05");
        assert_eq!(Money(7).to_string(), "0.07");
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(c in -MAX_CENTS..=MAX_CENTS) {
            proptest::prop_assert_eq!(parse_amount(&Money(c).to_string()), Ok(Money(c)));
        }

        #[test]
        fn grouped_form_parses_the_same(c in 0i64..=MAX_CENTS) {
            let plain = Money(c).to_string();
            let (int, frac) = plain.split_once('.').unwrap();
            let mut grouped = String::new();
            for (i, ch) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 { grouped.push(','); }
                grouped.push(ch);
            }
            let text = format!("${grouped}.{frac}");
            proptest::prop_assert_eq!(parse_amount(&text), Ok(Money(c)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_amount(&s);
        }
    }
}
