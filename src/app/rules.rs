//! Automation rules: rules.toml read and checked (a bad file is refused naming the file,
//! the line and the key), each rule's condition evaluated as of a day, and its actions
//! written once per condition (`funnel rules run`, for cron).
//!
//! ```toml
//! [[rule]]
//! name = "stale big deals"      # unique; names the rule in tasks, alerts and the audit
//! when = "deal-stale"           # deal-stale | contact-overdue | deal-slipped | target-below | no-owner
//! then = "task"                 # task | alert | reassign
//! min_amount = 10000            # deal-stale, deal-slipped: deals of at least this amount
//! due_in_days = 2               # task: due this many days after the run (default 1)
//! level = 0.8                   # target-below: projected attainment below this (default 0.9)
//! to = "Ana Diaz"               # reassign (and a task for a customer without owner): the rep
//! ```

use super::Db;
use crate::domain::agenda::AgendaScope;
use crate::domain::audit::Actor;
use crate::domain::date::iso;
use crate::domain::rules::{Hit, Rule, RuleAction, RuleRun, Then, When};
use crate::domain::{Money, Period};
use crate::store::StoreError;
use chrono::{Datelike, Duration, NaiveDate};
use std::path::Path;

/// The keys a rule may have.
const KEYS: [&str; 7] = [
    "name",
    "when",
    "then",
    "min_amount",
    "due_in_days",
    "level",
    "to",
];

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The value named `text` among `all`, else what is wrong with it.
fn named<T: Copy>(all: &[(&str, T)], text: &str, what: &str) -> Result<T, String> {
    all.iter()
        .find(|(n, _)| *n == text)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
            format!("'{text}' is not {what} (known: {})", known.join(", "))
        })
}

/// Reads and checks a rules file. Every problem names the file, the line and the key.
pub fn parse(text: &str, file: &Path) -> Result<Vec<Rule>, String> {
    let at = |offset: usize, key: &str, what: String| {
        format!(
            "{}: line {}: {key}: {what}",
            file.display(),
            line_at(text, offset)
        )
    };
    let doc: toml::Spanned<toml::Table> = toml::from_str(text)
        .map_err(|e| format!("{}: {}", file.display(), e.to_string().trim_end()))?;
    let doc_span = doc.span();
    let doc = doc.into_inner();
    for k in doc.keys() {
        if k != "rule" {
            let off = text.find(k.as_str()).unwrap_or(doc_span.start);
            return Err(at(off, k, "unknown (rules are [[rule]] tables)".into()));
        }
    }
    let Some(list) = doc.get("rule") else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array() else {
        return Err(at(0, "rule", "must be [[rule]] tables".into()));
    };
    // toml::Table keeps no spans: find each [[rule]] header's offset in the text.
    let headers: Vec<usize> = text
        .match_indices("[[rule]]")
        .filter(|(i, _)| {
            text[..*i]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .trim()
                .is_empty()
        })
        .map(|(i, _)| i)
        .collect();
    let mut rules: Vec<Rule> = Vec::new();
    for (n, item) in list.iter().enumerate() {
        let start = headers.get(n).copied().unwrap_or(0);
        let end = headers.get(n + 1).copied().unwrap_or(text.len());
        // The line of `key` within this rule's table (else its header's).
        let key_at = |key: &str| -> usize {
            text[start..end]
                .lines()
                .scan(start, |off, l| {
                    let here = *off;
                    *off += l.len() + 1;
                    Some((here, l))
                })
                .find(|(_, l)| {
                    l.trim_start()
                        .strip_prefix(key)
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
                .map(|(o, _)| o)
                .unwrap_or(start)
        };
        let bad = |key: &str, what: String| at(key_at(key), key, what);
        let Some(t) = item.as_table() else {
            return Err(at(start, "rule", "must be a table".into()));
        };
        for k in t.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(bad(k, format!("unknown (known: {})", KEYS.join(", "))));
            }
        }
        let text_of = |key: &str| -> Result<Option<String>, String> {
            match t.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.trim().to_string()))
                    .filter(|s| s.as_deref() != Some(""))
                    .ok_or_else(|| bad(key, "must be text (in quotes), not empty".into())),
            }
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match t.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(Some)
                    .ok_or_else(|| bad(key, format!("must be a number of 0 or more, not {v}"))),
            }
        };
        let name = text_of("name")?.ok_or_else(|| at(start, "name", "missing".into()))?;
        if rules.iter().any(|r| r.name == name) {
            return Err(bad("name", format!("'{name}' is used by an earlier rule")));
        }
        let when_text = text_of("when")?.ok_or_else(|| at(start, "when", "missing".into()))?;
        let when = named(&When::ALL, &when_text, "a condition").map_err(|e| bad("when", e))?;
        let then_text = text_of("then")?.ok_or_else(|| at(start, "then", "missing".into()))?;
        let then = named(&Then::ALL, &then_text, "an action").map_err(|e| bad("then", e))?;
        let to = text_of("to")?;
        match (when, then) {
            (When::TargetBelow, Then::Task | Then::Reassign) => {
                return Err(bad(
                    "then",
                    "a target has no customer to call or deal to give: use alert".into(),
                ))
            }
            (_, Then::Reassign) | (When::NoOwner, Then::Task) if to.is_none() => {
                return Err(at(start, "to", format!("{then_text} needs the rep `to`")))
            }
            _ => {}
        }
        let due = number("due_in_days")?.unwrap_or(1.0);
        let level = number("level")?.unwrap_or(0.9);
        if level > 10.0 {
            return Err(bad("level", format!("{level}: a share such as 0.8")));
        }
        rules.push(Rule {
            name,
            when,
            then,
            due_in_days: due.round() as i64,
            min_amount_cents: number("min_amount")?.map(|a| (a * 100.0).round() as i64),
            level,
            to,
            line: line_at(text, start),
        });
    }
    Ok(rules)
}

/// The rules file (rules.toml in the config directory, or `file`): none if it does not
/// exist and was not asked for by name.
pub fn load(file: Option<&Path>) -> Result<(std::path::PathBuf, Vec<Rule>), String> {
    let path = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| super::config_files().rules);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path.clone(), parse(&text, &path)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => {
            Ok((path, Vec::new()))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// What one rule found and did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub rule: String,
    pub when: &'static str,
    pub then: &'static str,
    /// Conditions found true now.
    pub matched: usize,
    /// Actions written (dry: that would be).
    pub acted: usize,
    /// Each hit: its message and whether it is new (acted on) or already acted on.
    pub hits: Vec<(String, bool)>,
    pub summary: String,
}

/// The hits of a rule as of `today`, and (deal-slipped) the marks to keep.
#[allow(clippy::type_complexity)]
fn evaluate(
    store: &Db,
    rule: &Rule,
    today: NaiveDate,
) -> Result<(Vec<Hit>, Vec<(i64, Option<String>, i64)>, String), StoreError> {
    let min = rule.min_amount_cents.unwrap_or(0);
    let mut marks = Vec::new();
    let mut note = String::new();
    let hits: Vec<Hit> = match rule.when {
        When::DealStale => {
            // The analysis has the thresholds it judged staleness by: read once, not twice.
            let a = super::funnel::analyze(store, today)?;
            let thresholds: std::collections::HashMap<i64, f64> = a
                .stages
                .iter()
                .filter_map(|s| s.stale_after.map(|t| (s.stage_id, t)))
                .collect();
            a.stale
                .into_iter()
                .filter(|d| d.amount_cents >= min)
                .map(|d| {
                    let since = today - Duration::days(d.days_in_stage);
                    let limit = thresholds.get(&d.stage_id).copied().unwrap_or(0.0);
                    Hit {
                        key: format!("deal {} stage {} since {}", d.id, d.stage_id, iso(since)),
                        message: format!(
                            "{} ({}, {}) {} days in its stage, past the {:.0} days learned for it",
                            d.name,
                            d.customer,
                            Money(d.amount_cents),
                            d.days_in_stage,
                            limit
                        ),
                        customer_id: None,
                        deal_id: Some(d.id),
                    }
                })
                .collect()
        }
        When::ContactOverdue => super::agenda::list(store, &AgendaScope::All, today, 0, true)?
            .into_iter()
            .filter(|i| i.activity_id.is_none())
            .map(|i| Hit {
                key: format!("customer {} contact due {}", i.customer_id, iso(i.due_on)),
                message: format!("contact {}: {}", i.customer, i.subject),
                customer_id: Some(i.customer_id),
                deal_id: None,
            })
            .collect(),
        When::DealSlipped => {
            let seen = store.rule_marks(&rule.name)?;
            let deals = store.big_open_deals(min)?;
            if seen.is_empty() && !deals.is_empty() {
                note = format!(
                    "first run: {} deals noted; slips are found from the next run",
                    deals.len()
                );
            }
            let mut hits = Vec::new();
            for d in deals {
                if let Some((close, amount)) = seen.get(&d.id) {
                    let later = match (close, &d.expected_close) {
                        (Some(was), Some(now)) => now > was,
                        _ => false,
                    };
                    let cut = d.amount_cents < *amount;
                    if later || cut {
                        let mut what = Vec::new();
                        if later {
                            what.push(format!(
                                "close moved from {} to {}",
                                close.as_deref().unwrap_or("?"),
                                d.expected_close.as_deref().unwrap_or("?")
                            ));
                        }
                        if cut {
                            what.push(format!(
                                "amount cut from {} to {}",
                                Money(*amount),
                                Money(d.amount_cents)
                            ));
                        }
                        hits.push(Hit {
                            key: format!(
                                "deal {} close {} amount {}",
                                d.id,
                                d.expected_close.as_deref().unwrap_or("-"),
                                d.amount_cents
                            ),
                            message: format!("{} ({}): {}", d.name, d.customer, what.join(", ")),
                            customer_id: Some(d.customer_id),
                            deal_id: Some(d.id),
                        });
                    }
                }
                marks.push((d.id, d.expected_close, d.amount_cents));
            }
            hits
        }
        When::TargetBelow => {
            let mut hits = Vec::new();
            let q = (today.month0() / 3) + 1;
            for p in [
                format!("{}-{:02}", today.year(), today.month()),
                format!("{}-Q{q}", today.year()),
                format!("{}", today.year()),
            ] {
                let Ok(period) = Period::parse(&p) else {
                    continue;
                };
                for t in super::targets::list(store, Some(period), None, None, today)? {
                    let Some(proj) = t.standing.projected else {
                        continue;
                    };
                    if proj < rule.level {
                        hits.push(Hit {
                            key: format!("target {} below {}", t.target.id, rule.level),
                            message: format!(
                                "{}: {} target for {} projected at {:.0}% (below {:.0}%)",
                                t.target.name,
                                t.target.metric.as_str(),
                                t.target.period,
                                100.0 * proj,
                                100.0 * rule.level
                            ),
                            customer_id: None,
                            deal_id: None,
                        });
                    }
                }
            }
            hits
        }
        When::NoOwner => store
            .customers_without_owner()?
            .into_iter()
            .map(|(id, name)| Hit {
                key: format!("customer {id} without owner"),
                message: format!("{name} has no owner"),
                customer_id: Some(id),
                deal_id: None,
            })
            .collect(),
    };
    Ok((hits, marks, note))
}

/// Runs every rule as of `today`: each condition found true that the rule has not acted
/// on before gets its action; `dry_run` writes nothing (not even the run's line).
pub fn run(
    store: &mut Db,
    rules: &[Rule],
    today: NaiveDate,
    dry_run: bool,
    actor: &Actor,
) -> Result<Vec<Outcome>, StoreError> {
    let mut out = Vec::new();
    for rule in rules {
        let (hits, marks, note) = evaluate(&*store, rule, today)?;
        let done = store.rule_keys(&rule.name)?;
        let due_on = iso(today + Duration::days(rule.due_in_days));
        let actions: Vec<RuleAction> = hits
            .iter()
            .filter(|h| !done.contains(&h.key))
            .map(|h| RuleAction {
                rule: rule.name.clone(),
                then: rule.then,
                hit: h.clone(),
                due_on: (rule.then == Then::Task).then(|| due_on.clone()),
                to: rule.to.clone(),
            })
            .collect();
        let mut summary = format!(
            "{} found, {} new, {} acted on before",
            hits.len(),
            actions.len(),
            hits.len() - actions.len()
        );
        if !note.is_empty() {
            summary = format!("{summary}; {note}");
        }
        let acted = if dry_run {
            actions.len()
        } else {
            let line = RuleRun {
                rule: rule.name.clone(),
                ran_at: actor.at.clone(),
                as_of: iso(today),
                dry_run,
                matched: hits.len() as i64,
                acted: actions.len() as i64,
                summary: summary.clone(),
            };
            store.save_rule_run(&line, &actions, &marks, actor)?
        };
        out.push(Outcome {
            rule: rule.name.clone(),
            when: rule.when.name(),
            then: rule.then.name(),
            matched: hits.len(),
            acted,
            hits: hits
                .iter()
                .map(|h| (h.message.clone(), !done.contains(&h.key)))
                .collect(),
            summary,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_rules_file_names_the_file_line_and_key() {
        let f = Path::new("/x/rules.toml");
        let text = "[[rule]]\nname = \"a\"\nwhen = \"deal-stale\"\nthen = \"task\"\n\n[[rule]]\nname = \"b\"\nwhen = \"deal-stalled\"\nthen = \"alert\"\n";
        let e = parse(text, f).unwrap_err();
        assert!(
            e.starts_with("/x/rules.toml: line 8: when: 'deal-stalled' is not a condition"),
            "{e}"
        );
        let e = parse(
            "[[rule]]\nname = \"a\"\nwhen = \"no-owner\"\nthen = \"reassign\"\n",
            f,
        )
        .unwrap_err();
        assert!(e.contains("line 1: to: reassign needs the rep `to`"), "{e}");
        let e = parse(
            "[[rule]]\nname = \"a\"\nwhen = \"no-owner\"\nthen = \"alert\"\nlevel = -1\n",
            f,
        )
        .unwrap_err();
        assert!(
            e.contains("line 5: level: must be a number of 0 or more"),
            "{e}"
        );
        let e = parse(
            "[[rule]]\nname = \"a\"\nwhen = \"no-owner\"\nthen = \"alert\"\ncolour = 1\n",
            f,
        )
        .unwrap_err();
        assert!(e.contains("line 5: colour: unknown"), "{e}");
        let e = parse("[[rule]\nname = 1\n", f).unwrap_err();
        assert!(
            e.starts_with("/x/rules.toml: TOML parse error at line 1"),
            "{e}"
        );
        let e = parse(
            "[[rule]]\nname = \"t\"\nwhen = \"target-below\"\nthen = \"task\"\n",
            f,
        )
        .unwrap_err();
        assert!(e.contains("line 4: then: a target has no customer"), "{e}");
        let ok = parse(
            "# mine\n[[rule]]\nname = \"t\"\nwhen = \"target-below\"\nthen = \"alert\"\nlevel = 0.8\n",
            f,
        )
        .unwrap();
        assert_eq!(ok[0].line, 2);
        assert_eq!(ok[0].level, 0.8);
    }
}
