//! The small closed vocabularies of the sales model: stage kinds, forecast categories,
//! activity kinds, customer statuses, target scopes and metrics.

use std::fmt;
use std::str::FromStr;

/// Declares a string-backed enum with its database/CSV spelling and accepted aliases.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The spelling used in the database, in CSV and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match norm.as_str() {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(format!(
                        "'{}' is not {} {}: use one of {}",
                        s.trim(),
                        if $what.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

vocabulary!(
    /// Whether deals in a stage are still open, or closed won or lost.
    StageKind, "stage kind" { Open = "open", Won = "won" | "closed_won", Lost = "lost" | "closed_lost" }
);

vocabulary!(
    /// Forecast category of a stage (Salesforce's names).
    ForecastCategory, "forecast category" {
        Pipeline = "pipeline",
        BestCase = "best_case" | "bestcase" | "upside",
        Commit = "commit",
        Closed = "closed",
        Omitted = "omitted",
    }
);

vocabulary!(
    /// What kind of contact an activity was.
    ActivityKind, "activity kind" {
        Call = "call" | "phone",
        Visit = "visit",
        Email = "email" | "e_mail",
        Meeting = "meeting",
        Note = "note",
    }
);

vocabulary!(
    /// Where a customer stands.
    CustomerStatus, "customer status" {
        Prospect = "prospect" | "lead",
        Active = "active" | "customer",
        Churned = "churned" | "inactive" | "lost",
    }
);

vocabulary!(
    /// Who a target is for.
    TargetScope, "target scope" { Company = "company", Team = "team", Rep = "rep" }
);

vocabulary!(
    /// What a target measures. Revenue is in cents in the store; the others are counts.
    TargetMetric, "target metric" {
        WonRevenue = "won_revenue" | "revenue",
        WonDeals = "won_deals" | "deals",
        Activities = "activities",
        NewCustomers = "new_customers",
    }
);

vocabulary!(
    /// Customer segment by size.
    Segment, "segment" {
        Smb = "smb" | "small_business" | "small",
        MidMarket = "mid_market" | "midmarket" | "mid",
        Enterprise = "enterprise" | "ent",
    }
);

impl TargetMetric {
    /// Revenue targets are money; the others are whole counts.
    pub fn is_money(self) -> bool {
        matches!(self, TargetMetric::WonRevenue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_use_the_right_article() {
        let e = "chat".parse::<ActivityKind>().unwrap_err();
        assert!(e.starts_with("'chat' is not an activity kind"), "{e}");
        let e = "huge".parse::<Segment>().unwrap_err();
        assert!(e.starts_with("'huge' is not a segment"), "{e}");
    }

    #[test]
    fn parses_spellings_and_aliases() {
        assert_eq!("Closed Won".parse::<StageKind>(), Ok(StageKind::Won));
        assert_eq!(
            "best case".parse::<ForecastCategory>(),
            Ok(ForecastCategory::BestCase)
        );
        assert_eq!("Mid-Market".parse::<Segment>(), Ok(Segment::MidMarket));
        let err = "fax".parse::<ActivityKind>().unwrap_err();
        assert!(err.contains("call, visit, email, meeting, note"), "{err}");
        for k in ActivityKind::ALL {
            assert_eq!(k.as_str().parse::<ActivityKind>(), Ok(*k));
        }
    }
}
