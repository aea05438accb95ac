//! The customer list: keyset paging on (sort key, id), filters and search, so a screen
//! over 100k customers only ever reads the rows it shows.

use super::db::{Result, Store};
pub use crate::domain::customers::*;
use crate::domain::Money;
use rusqlite::types::Value;

impl CustomerSort {
    /// The ORDER BY expression (the value sorts match their index's expression exactly).
    fn key_sql(self) -> &'static str {
        match self {
            CustomerSort::Name => "c.name COLLATE NOCASE",
            CustomerSort::Created => "c.created_on",
            CustomerSort::City => "coalesce(c.city, '') COLLATE NOCASE",
            CustomerSort::LifetimeValue => "coalesce(ci.lifetime_cents, -1)",
            CustomerSort::PredictedValue => "coalesce(ci.predicted_value_cents, -1)",
            CustomerSort::ChurnRisk => "coalesce(ci.churn_risk, -1.0)",
        }
    }
    fn key_expr(self) -> &'static str {
        match self {
            CustomerSort::Name => "c.name",
            CustomerSort::Created => "c.created_on",
            CustomerSort::City => "coalesce(c.city, '')",
            other => other.key_sql(),
        }
    }
    /// The id column paired with the key (the one in the sort's index).
    fn id_sql(self) -> &'static str {
        if self.on_intel() {
            "ci.customer_id"
        } else {
            "c.id"
        }
    }
    /// The rows the list walks: for the value sorts the intelligence table drives the
    /// join (its index gives the order; every customer has a row there), else customers.
    fn tables_sql(self) -> &'static str {
        if self.on_intel() {
            "customer_intel ci CROSS JOIN customers c ON c.id = ci.customer_id"
        } else {
            "customers c LEFT JOIN customer_intel ci ON ci.customer_id = c.id"
        }
    }
}

fn key_value(k: &SortKey) -> Value {
    match k {
        SortKey::Text(t) => Value::Text(t.clone()),
        SortKey::Int(i) => Value::Integer(*i),
        SortKey::Real(x) => Value::Real(*x),
    }
}

fn key_from(v: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<SortKey> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Integer(i) => SortKey::Int(i),
        ValueRef::Real(x) => SortKey::Real(x),
        ValueRef::Text(t) => SortKey::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Null => SortKey::Text(String::new()),
        ValueRef::Blob(_) => {
            return Err(rusqlite::Error::InvalidColumnType(
                0,
                "sort key".into(),
                rusqlite::types::Type::Blob,
            ))
        }
    })
}

/// A LIKE pattern finding `text` as typed anywhere: %, _ and \ match themselves (escaped
/// with \).
pub(crate) fn search_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A LIKE pattern finding the characters of `text` in order, anything between (what a
/// fuzzy picker can match).
pub(crate) fn fuzzy_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
        pattern.push('%');
    }
    pattern
}

fn where_clause(f: &CustomerFilter, params: &mut Vec<Value>) -> String {
    let mut parts = Vec::new();
    if !f.search.trim().is_empty() {
        params.push(Value::Text(search_pattern(&f.search)));
        let n = params.len();
        parts.push(format!(
            "(c.name LIKE ?{n} ESCAPE '\\' OR c.email LIKE ?{n} ESCAPE '\\' OR c.city LIKE ?{n} ESCAPE '\\')"
        ));
    }
    let mut exact = |expr: &str, v: &Option<String>| {
        if let Some(v) = v {
            params.push(Value::Text(v.clone()));
            parts.push(format!("{expr} = ?{}", params.len()));
        }
    };
    exact(
        "(SELECT name FROM reps WHERE id = c.owner_rep_id)",
        &f.owner,
    );
    exact("c.segment", &f.segment);
    exact("c.status", &f.status);
    exact("c.region", &f.region);
    exact("ci.segment", &f.rfm_segment);
    exact("ci.tier", &f.tier);
    if let Some(p) = f.min_churn_pct {
        params.push(Value::Real(f64::from(p) / 100.0));
        parts.push(format!("ci.churn_risk >= ?{}", params.len()));
    }
    if let Some(c) = f.min_predicted_cents {
        params.push(Value::Integer(c));
        parts.push(format!("ci.predicted_value_cents >= ?{}", params.len()));
    }
    if parts.is_empty() {
        "1".to_string()
    } else {
        parts.join(" AND ")
    }
}

impl Store {
    /// How many customers the filter matches.
    pub fn count_customers(&self, f: &CustomerFilter) -> Result<i64> {
        let mut params = Vec::new();
        let w = where_clause(f, &mut params);
        let join = if f.on_intel() {
            " LEFT JOIN customer_intel ci ON ci.customer_id = c.id"
        } else {
            ""
        };
        let sql = format!("SELECT count(*) FROM customers c{join} WHERE {w}");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?)
    }

    /// One page of the list, keyset-paged on (sort key, id).
    pub fn customer_page(
        &self,
        f: &CustomerFilter,
        sort: CustomerSort,
        cursor: Option<&Cursor>,
        direction: PageDirection,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let mut params = Vec::new();
        let mut w = where_clause(f, &mut params);
        let key = sort.key_sql();
        let id = sort.id_sql();
        // The list order runs up for names and dates, down for values.
        let forward = (direction == PageDirection::Forward) != sort.descending();
        let (cmp, order) = if forward { (">", "ASC") } else { ("<", "DESC") };
        if let Some(c) = cursor {
            params.push(key_value(&c.sort_key));
            params.push(Value::Integer(c.id));
            let (k, i) = (params.len() - 1, params.len());
            w = format!("{w} AND ({key}, {id}) {cmp} (?{k}, ?{i})");
        }
        params.push(Value::Integer(limit as i64));
        let sql = format!(
            "SELECT c.id, c.name, r.name, c.segment, c.status, c.city,
               (SELECT coalesce(sum(d.amount_cents), 0) FROM deals d JOIN stages s ON s.id = d.stage_id
                  WHERE d.customer_id = c.id AND s.kind = 'open'),
               (SELECT max(a.done_on) FROM activities a WHERE a.customer_id = c.id),
               {expr},
               ci.segment, ci.tier, ci.churn_risk, ci.predicted_value_cents, ci.lifetime_cents
             FROM {from} LEFT JOIN reps r ON r.id = c.owner_rep_id
             WHERE {w}
             ORDER BY {key} {order}, {id} {order}
             LIMIT ?{n}",
            expr = sort.key_expr(),
            from = sort.tables_sql(),
            n = params.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows: Vec<CustomerRow> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok(CustomerRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    owner: r.get(2)?,
                    segment: r.get(3)?,
                    status: r.get(4)?,
                    city: r.get(5)?,
                    open_pipeline: Money(r.get(6)?),
                    last_contact: r.get(7)?,
                    sort_key: key_from(r.get_ref(8)?)?,
                    rfm_segment: r.get(9)?,
                    tier: r.get(10)?,
                    churn_risk: r.get(11)?,
                    predicted_value: r.get::<_, Option<i64>>(12)?.map(Money),
                    lifetime_value: r.get::<_, Option<i64>>(13)?.map(Money),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        if direction == PageDirection::Backward {
            rows.reverse();
        }
        Ok(rows)
    }
}

impl Store {
    /// One customer with their contacts, recent deals, orders and activity timeline.
    pub fn customer_detail(&self, id: i64) -> Result<Option<CustomerDetail>> {
        use rusqlite::OptionalExtension;
        let head = self
            .conn
            .query_row(
                "SELECT c.id, c.external_id, c.name, r.name, c.industry, c.segment, c.region, c.city, c.country,
                   c.email, c.phone, c.status, c.contact_every_days, c.created_on,
                   (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'customer' AND a.entity_id = c.id)
                 FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id WHERE c.id = ?1",
                [id],
                |r| {
                    Ok(CustomerDetail {
                        id: r.get(0)?,
                        external_id: r.get(1)?,
                        name: r.get(2)?,
                        owner: r.get(3)?,
                        industry: r.get(4)?,
                        segment: r.get(5)?,
                        region: r.get(6)?,
                        city: r.get(7)?,
                        country: r.get(8)?,
                        email: r.get(9)?,
                        phone: r.get(10)?,
                        status: r.get(11)?,
                        contact_every_days: r.get(12)?,
                        created_on: r.get(13)?,
                        version: r.get(14)?,
                        ..Default::default()
                    })
                },
            )
            .optional()?;
        let Some(mut d) = head else { return Ok(None) };
        d.contacts = self
            .conn
            .prepare_cached("SELECT k.id, k.name, k.title, k.email, k.phone, k.is_primary, (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'contact' AND a.entity_id = k.id) FROM contacts k WHERE k.customer_id = ?1 ORDER BY k.is_primary DESC, k.id")?
            .query_map([id], |r| {
                Ok(ContactLine {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    title: r.get(2)?,
                    email: r.get(3)?,
                    phone: r.get(4)?,
                    primary: r.get(5)?,
                    version: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        d.deals = self
            .conn
            .prepare_cached(
                "SELECT d.name, s.name, s.kind, d.amount_cents, d.expected_close, d.closed_on FROM deals d
                 JOIN stages s ON s.id = d.stage_id WHERE d.customer_id = ?1
                 ORDER BY s.kind = 'open' DESC, coalesce(d.closed_on, d.expected_close) DESC, d.id DESC LIMIT 50",
            )?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, Money(r.get(3)?), r.get(4)?, r.get(5)?)))?
            .collect::<rusqlite::Result<_>>()?;
        d.orders = self
            .conn
            .prepare_cached(
                "SELECT o.ordered_on, o.amount_cents, p.name FROM orders o LEFT JOIN products p ON p.id = o.product_id
                 WHERE o.customer_id = ?1 ORDER BY o.ordered_on DESC, o.id DESC LIMIT 30",
            )?
            .query_map([id], |r| Ok((r.get(0)?, Money(r.get(1)?), r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        d.activities = self
            .conn
            .prepare_cached(
                "SELECT coalesce(a.done_on, a.due_on), a.kind, a.subject, a.outcome, r.name, a.done_on IS NOT NULL, a.id
                 FROM activities a LEFT JOIN reps r ON r.id = a.rep_id WHERE a.customer_id = ?1
                 ORDER BY coalesce(a.done_on, a.due_on) DESC, a.id DESC LIMIT 40",
            )?
            .query_map([id], |r| {
                Ok(ActivityLine {
                    date: r.get(0)?,
                    kind: r.get(1)?,
                    subject: r.get(2)?,
                    outcome: r.get(3)?,
                    rep: r.get(4)?,
                    done: r.get(5)?,
                    id: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        d.lifetime_revenue = Money(self.conn.query_row(
            "SELECT coalesce(sum(amount_cents), 0) FROM orders WHERE customer_id = ?1",
            [id],
            |r| r.get(0),
        )?);
        d.intel = self.customer_intel(id)?;
        d.segment_history = self.segment_history(id)?;
        Ok(Some(d))
    }
}

impl Store {
    /// See `PickLists`. Regions come from the region index (distinct values, no scan of
    /// the customers).
    pub fn pick_lists(&self) -> Result<PickLists> {
        let names = |sql: &str| -> Result<Vec<String>> {
            Ok(self
                .conn
                .prepare_cached(sql)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        };
        Ok(PickLists {
            reps: names("SELECT name FROM reps ORDER BY active DESC, name")?,
            teams: names("SELECT name FROM teams ORDER BY name")?,
            products: names("SELECT name FROM products ORDER BY name")?,
            product_skus: names("SELECT sku FROM products ORDER BY sku")?,
            regions: names(
                "SELECT DISTINCT region FROM customers WHERE region IS NOT NULL ORDER BY region LIMIT 500",
            )?,
            open_stages: names("SELECT name FROM stages WHERE kind = 'open' ORDER BY position, id")?,
        })
    }

    /// Up to `limit` customer names holding the characters of `text` in order (what a
    /// fuzzy picker can match), shortest first.
    pub fn customer_names_like(&self, text: &str, limit: usize) -> Result<Vec<String>> {
        let pattern = fuzzy_pattern(text);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT name FROM customers WHERE name LIKE ?1 ESCAPE '\\' OR external_id = ?2
                 ORDER BY length(name), name LIMIT ?3",
            )?
            .query_map(rusqlite::params![pattern, text.trim(), limit as i64], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_percent_underscore_and_backslash_as_typed() {
        let store = Store::open_in_memory().unwrap();
        for name in [
            "foo_bar", "fooXbar", "50% off", "500 off", "C:\\data", "C:data",
        ] {
            store
                .conn
                .execute(
                    "INSERT INTO customers(name, created_on) VALUES (?1, '2025-01-01')",
                    [name],
                )
                .unwrap();
        }
        let count = |text: &str| {
            store
                .count_customers(&CustomerFilter {
                    search: text.into(),
                    ..Default::default()
                })
                .unwrap()
        };
        assert_eq!(count("foo_bar"), 1);
        assert_eq!(count("_"), 1);
        assert_eq!(count("50%"), 1);
        assert_eq!(count("C:\\"), 1);
        assert_eq!(count("off"), 2);
    }

    #[test]
    fn keyset_pages_walk_the_whole_list_both_ways() {
        let store = Store::open_in_memory().unwrap();
        for (i, name) in [
            "delta", "Alpha", "charlie", "bravo", "alpha", "Echo", "foxtrot",
        ]
        .iter()
        .enumerate()
        {
            store
                .conn
                .execute(
                    "INSERT INTO customers(name, city, created_on) VALUES (?1, ?2, '2025-01-01')",
                    rusqlite::params![name, if i % 2 == 0 { "Berlin" } else { "Paris" }],
                )
                .unwrap();
        }
        let f = CustomerFilter::default();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .customer_page(
                    &f,
                    CustomerSort::Name,
                    cursor.as_ref(),
                    PageDirection::Forward,
                    3,
                )
                .unwrap();
            if page.is_empty() {
                break;
            }
            let last = page.last().unwrap();
            cursor = Some(Cursor {
                sort_key: last.sort_key.clone(),
                id: last.id,
            });
            seen.extend(page.into_iter().map(|r| r.name));
        }
        assert_eq!(
            seen,
            ["Alpha", "alpha", "bravo", "charlie", "delta", "Echo", "foxtrot"]
        );
        // Backwards from the end gives the same order, in list order.
        let tail = store
            .customer_page(&f, CustomerSort::Name, None, PageDirection::Backward, 3)
            .unwrap();
        let names: Vec<&str> = tail.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["delta", "Echo", "foxtrot"]);
        let c = Cursor {
            sort_key: tail[0].sort_key.clone(),
            id: tail[0].id,
        };
        let before = store
            .customer_page(&f, CustomerSort::Name, Some(&c), PageDirection::Backward, 2)
            .unwrap();
        let names: Vec<&str> = before.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["bravo", "charlie"]);

        let search = CustomerFilter {
            search: "pari".into(),
            ..Default::default()
        };
        assert_eq!(store.count_customers(&search).unwrap(), 3);
        let page = store
            .customer_page(
                &search,
                CustomerSort::City,
                None,
                PageDirection::Forward,
                10,
            )
            .unwrap();
        assert!(page.iter().all(|r| r.city.as_deref() == Some("Paris")));
    }
}
