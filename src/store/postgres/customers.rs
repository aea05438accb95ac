//! The customer list on PostgreSQL: the same keyset paging on (sort key, id), filters and
//! search as SQLite's (`store::customers`), with SQLite's NOCASE and LIKE spelled out:
//! `funnel_nocase` folds ASCII letters only and the byte order ("C") compares, so the
//! list runs in the same order and a search finds the same customers on both backends.

use super::store::PgStore;
use crate::domain::customers::*;
use crate::domain::Money;
use crate::store::db::Result;
use postgres::types::ToSql;

type Param = Box<dyn ToSql + Sync>;

/// (ORDER BY expression, the value kept in the cursor, the cursor's value as compared).
fn sort_sql(sort: CustomerSort) -> (&'static str, &'static str, &'static str) {
    match sort {
        CustomerSort::Name => (
            "funnel_nocase(c.name) COLLATE \"C\"",
            "c.name",
            "funnel_nocase($K::text) COLLATE \"C\"",
        ),
        CustomerSort::Created => ("c.created_on", "c.created_on::text", "$K::text::date"),
        CustomerSort::City => (
            "funnel_nocase(coalesce(c.city, '')) COLLATE \"C\"",
            "coalesce(c.city, '')",
            "funnel_nocase($K::text) COLLATE \"C\"",
        ),
        CustomerSort::LifetimeValue => (
            "coalesce(ci.lifetime_cents, -1)",
            "coalesce(ci.lifetime_cents, -1)",
            "$K::bigint",
        ),
        CustomerSort::PredictedValue => (
            "coalesce(ci.predicted_value_cents, -1)",
            "coalesce(ci.predicted_value_cents, -1)",
            "$K::bigint",
        ),
        CustomerSort::ChurnRisk => (
            "coalesce(ci.churn_risk, -1.0)",
            "coalesce(ci.churn_risk, -1.0)",
            "$K::float8",
        ),
    }
}

/// SQLite's `LIKE` (ASCII letters in any case) with `\` escaping `%`, `_` and itself.
pub(crate) fn like(col: &str, n: usize) -> String {
    format!("funnel_nocase({col}) LIKE funnel_nocase(${n}::text) ESCAPE '\\'")
}

fn where_clause(f: &CustomerFilter, params: &mut Vec<Param>) -> String {
    let mut parts = Vec::new();
    if !f.search.trim().is_empty() {
        params.push(Box::new(crate::store::customers::search_pattern(&f.search)));
        let n = params.len();
        parts.push(format!(
            "({} OR {} OR {})",
            like("c.name", n),
            like("c.email", n),
            like("c.city", n)
        ));
    }
    let mut exact = |expr: &str, v: &Option<String>| {
        if let Some(v) = v {
            params.push(Box::new(v.clone()));
            parts.push(format!("{expr} = ${}::text", params.len()));
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
        params.push(Box::new(f64::from(p) / 100.0));
        parts.push(format!("ci.churn_risk >= ${}::float8", params.len()));
    }
    if let Some(c) = f.min_predicted_cents {
        params.push(Box::new(c));
        parts.push(format!(
            "ci.predicted_value_cents >= ${}::bigint",
            params.len()
        ));
    }
    if parts.is_empty() {
        "TRUE".to_string()
    } else {
        parts.join(" AND ")
    }
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref()).collect()
}

impl PgStore {
    pub fn count_customers(&self, f: &CustomerFilter) -> Result<i64> {
        let mut params = Vec::new();
        let w = where_clause(f, &mut params);
        let join = if f.on_intel() {
            " LEFT JOIN customer_intel ci ON ci.customer_id = c.id"
        } else {
            ""
        };
        Ok(self
            .row(
                &format!("SELECT count(*) FROM customers c{join} WHERE {w}"),
                &refs(&params),
            )?
            .get(0))
    }

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
        let (key, expr, at) = sort_sql(sort);
        let (id, from) = if sort.on_intel() {
            (
                "ci.customer_id",
                "customer_intel ci JOIN customers c ON c.id = ci.customer_id",
            )
        } else {
            (
                "c.id",
                "customers c LEFT JOIN customer_intel ci ON ci.customer_id = c.id",
            )
        };
        let forward = (direction == PageDirection::Forward) != sort.descending();
        let (cmp, order) = if forward { (">", "ASC") } else { ("<", "DESC") };
        if let Some(c) = cursor {
            params.push(match &c.sort_key {
                SortKey::Text(t) => Box::new(t.clone()),
                SortKey::Int(i) => Box::new(*i),
                SortKey::Real(x) => Box::new(*x),
            });
            let at = at.replace("$K", &format!("${}", params.len()));
            params.push(Box::new(c.id));
            let i = params.len();
            w = format!("{w} AND ({key} {cmp} {at} OR ({key} = {at} AND {id} {cmp} ${i}))");
        }
        params.push(Box::new(limit as i64));
        let sql = format!(
            "SELECT c.id, c.name, r.name, c.segment, c.status, c.city,
               (SELECT coalesce(sum(d.amount_cents), 0)::bigint FROM deals d
                  JOIN stages s ON s.id = d.stage_id
                  WHERE d.customer_id = c.id AND s.kind = 'open'),
               (SELECT max(a.done_on)::text FROM activities a WHERE a.customer_id = c.id),
               {expr},
               ci.segment, ci.tier, ci.churn_risk, ci.predicted_value_cents, ci.lifetime_cents
             FROM {from} LEFT JOIN reps r ON r.id = c.owner_rep_id
             WHERE {w}
             ORDER BY {key} {order}, {id} {order}
             LIMIT ${n}",
            n = params.len()
        );
        let mut rows: Vec<CustomerRow> = self.map_rows(&sql, &refs(&params), |r| {
            use postgres::types::Type;
            let sort_key = match *r.columns()[8].type_() {
                Type::INT8 => SortKey::Int(r.get(8)),
                Type::FLOAT8 => SortKey::Real(r.get(8)),
                _ => SortKey::Text(r.get::<_, Option<String>>(8).unwrap_or_default()),
            };
            CustomerRow {
                id: r.get(0),
                name: r.get(1),
                owner: r.get(2),
                segment: r.get(3),
                status: r.get(4),
                city: r.get(5),
                open_pipeline: Money(r.get(6)),
                last_contact: r.get(7),
                sort_key,
                rfm_segment: r.get(9),
                tier: r.get(10),
                churn_risk: r.get(11),
                predicted_value: r.get::<_, Option<i64>>(12).map(Money),
                lifetime_value: r.get::<_, Option<i64>>(13).map(Money),
            }
        })?;
        if direction == PageDirection::Backward {
            rows.reverse();
        }
        Ok(rows)
    }

    pub fn customer_detail(&self, id: i64) -> Result<Option<CustomerDetail>> {
        use crate::store::backend::Segments;
        let Some(r) = self.opt(
            "SELECT c.id, c.external_id, c.name, r.name, c.industry, c.segment, c.region, c.city,
               c.country, c.email, c.phone, c.status, c.contact_every_days::bigint,
               c.created_on::text,
               (SELECT coalesce(max(a.id), 0) FROM audit_log a
                WHERE a.entity = 'customer' AND a.entity_id = c.id)
             FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id WHERE c.id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let mut d = CustomerDetail {
            id: r.get(0),
            external_id: r.get(1),
            name: r.get(2),
            owner: r.get(3),
            industry: r.get(4),
            segment: r.get(5),
            region: r.get(6),
            city: r.get(7),
            country: r.get(8),
            email: r.get(9),
            phone: r.get(10),
            status: r.get(11),
            contact_every_days: r.get(12),
            created_on: r.get(13),
            version: r.get(14),
            ..Default::default()
        };
        d.contacts = self.map_rows(
            "SELECT k.id, k.name, k.title, k.email, k.phone, k.is_primary,
                   (SELECT coalesce(max(a.id), 0) FROM audit_log a
                    WHERE a.entity = 'contact' AND a.entity_id = k.id)
                 FROM contacts k WHERE k.customer_id = $1 ORDER BY k.is_primary DESC, k.id",
            &[&id],
            |r| ContactLine {
                id: r.get(0),
                name: r.get(1),
                title: r.get(2),
                email: r.get(3),
                phone: r.get(4),
                primary: r.get(5),
                version: r.get(6),
            },
        )?;
        d.deals = self
            .map_rows(
                "SELECT d.name, s.name, s.kind, d.amount_cents, d.expected_close::text,
                   d.closed_on::text
                 FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.customer_id = $1
                 ORDER BY s.kind = 'open' DESC, coalesce(d.closed_on, d.expected_close) DESC NULLS LAST,
                          d.id DESC
                 LIMIT 50",
                &[&id], |r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    Money(r.get(3)),
                    r.get(4),
                    r.get(5),
                )
            })?;
        d.orders = self.map_rows(
            "SELECT o.ordered_on::text, o.amount_cents, p.name FROM orders o
                 LEFT JOIN products p ON p.id = o.product_id
                 WHERE o.customer_id = $1 ORDER BY o.ordered_on DESC, o.id DESC LIMIT 30",
            &[&id],
            |r| (r.get(0), Money(r.get(1)), r.get(2)),
        )?;
        d.activities = self.map_rows(
            "SELECT coalesce(a.done_on, a.due_on)::text, a.kind, a.subject, a.outcome, r.name,
                   a.done_on IS NOT NULL, a.id
                 FROM activities a LEFT JOIN reps r ON r.id = a.rep_id WHERE a.customer_id = $1
                 ORDER BY coalesce(a.done_on, a.due_on) DESC, a.id DESC LIMIT 40",
            &[&id],
            |r| ActivityLine {
                date: r.get(0),
                kind: r.get(1),
                subject: r.get(2),
                outcome: r.get(3),
                rep: r.get(4),
                done: r.get(5),
                id: r.get(6),
            },
        )?;
        d.lifetime_revenue = Money(
            self.row(
                "SELECT coalesce(sum(amount_cents), 0)::bigint FROM orders WHERE customer_id = $1",
                &[&id],
            )?
            .get(0),
        );
        d.intel = self.customer_intel(id)?;
        d.segment_history = self.segment_history(id)?;
        Ok(Some(d))
    }

    pub fn pick_lists(&self) -> Result<PickLists> {
        let names = |sql: &str| -> Result<Vec<String>> { self.map_rows(sql, &[], |r| r.get(0)) };
        Ok(PickLists {
            reps: names("SELECT name FROM reps ORDER BY active DESC, name COLLATE \"C\"")?,
            teams: names("SELECT name FROM teams ORDER BY name COLLATE \"C\"")?,
            products: names("SELECT name FROM products ORDER BY name COLLATE \"C\"")?,
            product_skus: names("SELECT sku FROM products ORDER BY sku COLLATE \"C\"")?,
            regions: names(
                "SELECT DISTINCT region COLLATE \"C\" FROM customers WHERE region IS NOT NULL
                 ORDER BY 1 LIMIT 500",
            )?,
            open_stages: names(
                "SELECT name FROM stages WHERE kind = 'open' ORDER BY position, id",
            )?,
        })
    }

    pub fn customer_names_like(&self, text: &str, limit: usize) -> Result<Vec<String>> {
        let pattern = crate::store::customers::fuzzy_pattern(text);
        self.map_rows(
            &format!(
                "SELECT name FROM customers WHERE {} OR external_id = $2
                     ORDER BY length(name), name COLLATE \"C\" LIMIT $3",
                like("name", 1)
            ),
            &[&pattern, &text.trim(), &(limit as i64)],
            |r| r.get(0),
        )
    }
}
