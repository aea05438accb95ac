//! Calendar periods: `2026-03` (month), `2026-Q1` (quarter), `2026` (year).

use chrono::{Datelike, NaiveDate};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a period: write 2026-03 (month), 2026-Q1 (quarter) or 2026 (year)")]
pub struct PeriodError(pub String);

impl Period {
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let s = text.trim();
        let err = || PeriodError(text.to_string());
        let year_of = |y: &str| -> Result<i32, PeriodError> {
            if y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()) {
                y.parse().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        match s.split_once('-') {
            None => Ok(Period::Year { year: year_of(s)? }),
            Some((y, rest)) => {
                let year = year_of(y)?;
                if let Some(q) = rest.strip_prefix(['Q', 'q']) {
                    match q {
                        "1" | "2" | "3" | "4" => Ok(Period::Quarter {
                            year,
                            quarter: q.parse().map_err(|_| err())?,
                        }),
                        _ => Err(err()),
                    }
                } else if rest.len() == 2 {
                    let month: u32 = rest.parse().map_err(|_| err())?;
                    if (1..=12).contains(&month) {
                        Ok(Period::Month { year, month })
                    } else {
                        Err(err())
                    }
                } else {
                    Err(err())
                }
            }
        }
    }

    pub fn month_of(d: NaiveDate) -> Period {
        Period::Month {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn quarter_of(d: NaiveDate) -> Period {
        Period::Quarter {
            year: d.year(),
            quarter: (d.month() - 1) / 3 + 1,
        }
    }

    /// First day of the period.
    pub fn start(self) -> NaiveDate {
        let (y, m) = match self {
            Period::Month { year, month } => (year, month),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1),
            Period::Year { year } => (year, 1),
        };
        NaiveDate::from_ymd_opt(y, m, 1).expect("first of a valid month")
    }

    /// The first day after the period.
    pub fn end_exclusive(self) -> NaiveDate {
        self.next().start()
    }

    pub fn next(self) -> Period {
        match self {
            Period::Month { year, month: 12 } => Period::Month {
                year: year + 1,
                month: 1,
            },
            Period::Month { year, month } => Period::Month {
                year,
                month: month + 1,
            },
            Period::Quarter { year, quarter: 4 } => Period::Quarter {
                year: year + 1,
                quarter: 1,
            },
            Period::Quarter { year, quarter } => Period::Quarter {
                year,
                quarter: quarter + 1,
            },
            Period::Year { year } => Period::Year { year: year + 1 },
        }
    }

    /// The months of the period, in order.
    pub fn months(self) -> Vec<Period> {
        let mut out = vec![Period::month_of(self.start())];
        while let Some(&last) = out.last() {
            let n = last.next();
            if n.start() >= self.end_exclusive() {
                break;
            }
            out.push(n);
        }
        out
    }

    /// The period of the same kind `n` periods earlier.
    pub fn back(self, n: u32) -> Period {
        match self {
            Period::Month { year, month } => {
                let total = year * 12 + month as i32 - 1 - n as i32;
                Period::Month {
                    year: total.div_euclid(12),
                    month: total.rem_euclid(12) as u32 + 1,
                }
            }
            Period::Quarter { year, quarter } => {
                let total = year * 4 + quarter as i32 - 1 - n as i32;
                Period::Quarter {
                    year: total.div_euclid(4),
                    quarter: total.rem_euclid(4) as u32 + 1,
                }
            }
            Period::Year { year } => Period::Year {
                year: year - n as i32,
            },
        }
    }

    pub fn contains(self, d: NaiveDate) -> bool {
        d >= self.start() && d < self.end_exclusive()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year:04}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for t in ["2026-03", "2026-Q1", "2026", "1999-12", "2030-Q4"] {
            assert_eq!(Period::parse(t).unwrap().to_string(), t);
        }
        for bad in [
            "2026-13", "2026-Q5", "26", "2026-3", "2026/03", "", "2026-00",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds() {
        let q = Period::parse("2025-Q4").unwrap();
        assert_eq!(q.start(), NaiveDate::from_ymd_opt(2025, 10, 1).unwrap());
        assert_eq!(
            q.end_exclusive(),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        assert!(q.contains(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()));
        assert!(!q.contains(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()));
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(
            m.end_exclusive(),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
    }

    #[test]
    fn months_and_back() {
        let q = Period::parse("2026-Q1").unwrap();
        let names: Vec<String> = q.months().iter().map(|m| m.to_string()).collect();
        assert_eq!(names, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(Period::parse("2026").unwrap().months().len(), 12);
        assert_eq!(q.back(1).to_string(), "2025-Q4");
        assert_eq!(q.back(4).to_string(), "2025-Q1");
        assert_eq!(
            Period::parse("2026-01").unwrap().back(13).to_string(),
            "2024-12"
        );
        assert_eq!(Period::parse("2026").unwrap().back(2).to_string(), "2024");
    }
}
