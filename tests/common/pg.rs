//! The throwaway PostgreSQL server the PostgreSQL tests use (the one `.ci/run` starts with
//! `tools/pg-throwaway`; its URL and password in FUNNEL_TEST_PG_URL and
//! FUNNEL_TEST_PG_PASSWORD), and a fresh database on it per test.
#![allow(dead_code)]

use funnel::store::postgres::{connect, Target};
use std::io::Write;

pub struct Server {
    pub url: String,
    pub password: String,
}

pub fn server(test: &str) -> Option<Server> {
    match (
        std::env::var("FUNNEL_TEST_PG_URL"),
        std::env::var("FUNNEL_TEST_PG_PASSWORD"),
    ) {
        (Ok(url), Ok(password)) if !url.is_empty() => Some(Server { url, password }),
        _ => {
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL server (FUNNEL_TEST_PG_URL unset; \
                 `.ci/run` starts one with tools/pg-throwaway when PostgreSQL is installed)"
            );
            None
        }
    }
}

pub fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    funnel::store::postgres::config::fixed_env(pairs)
}

/// A new, empty database on the test server for one test (dropped when it ends).
pub struct Scratch {
    admin: String,
    password: String,
    pub name: String,
    pub url: String,
}

impl Scratch {
    pub fn new(s: &Server, tag: &str) -> Scratch {
        let name = format!("funnel_{tag}_{}", std::process::id());
        let mut c = admin(s);
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Scratch {
            admin: s.url.clone(),
            password: s.password.clone(),
            url: s.url.replace("/funnel_test", &format!("/{name}")),
            name,
        }
    }

    /// Tables in the database's public schema.
    pub fn tables(&self) -> i64 {
        self.client()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .unwrap()
            .get(0)
    }

    pub fn client(&self) -> postgres::Client {
        let t = Target::parse(&self.url, &env_of(&[("PGPASSWORD", &self.password)]), None).unwrap();
        connect(&t).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(t) = Target::parse(
            &self.admin,
            &env_of(&[("PGPASSWORD", &self.password)]),
            None,
        ) {
            if let Ok(mut c) = connect(&t) {
                let _ = c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }
}

pub fn admin(s: &Server) -> postgres::Client {
    let t = Target::parse(&s.url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    connect(&t).unwrap()
}
