//! The PostgreSQL backend against a real server: connecting with the password from
//! PGPASSWORD or the password file, and clear errors for a refused connection, a wrong or
//! missing password and a missing database — none of which prints the password.
//!
//! The server is the one `.ci/run` starts with `tools/pg-throwaway` (its URL and password
//! in FUNNEL_TEST_PG_URL and FUNNEL_TEST_PG_PASSWORD). Without them each test says on
//! stderr that it was skipped and why, and passes: a machine with no PostgreSQL still
//! runs the rest of the suite.

use funnel::store::postgres::{connect, PasswordSource, PgError, Target};
use std::io::Write;

struct Server {
    url: String,
    password: String,
}

fn server(test: &str) -> Option<Server> {
    match (
        std::env::var("FUNNEL_TEST_PG_URL"),
        std::env::var("FUNNEL_TEST_PG_PASSWORD"),
    ) {
        (Ok(url), Ok(password)) if !url.is_empty() => Some(Server { url, password }),
        _ => {
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED postgres::{test}: no PostgreSQL server (FUNNEL_TEST_PG_URL unset; \
                 `.ci/run` starts one with tools/pg-throwaway when PostgreSQL is installed)"
            );
            None
        }
    }
}

/// The error of a connection expected to fail.
fn refused(t: &Target) -> PgError {
    match connect(t) {
        Ok(_) => panic!("{t} connected"),
        Err(e) => e,
    }
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    funnel::store::postgres::config::fixed_env(pairs)
}

#[test]
fn connects_with_the_password_from_the_environment_or_the_password_file() {
    let Some(s) = server("connects") else {
        return;
    };
    let t = Target::parse(&s.url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    assert_eq!(t.password_source, PasswordSource::Environment);
    let mut c = connect(&t).unwrap();
    let v: i32 = c
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .unwrap()
        .get(0);
    assert!(v >= 150000, "{v}");
    // The password file, matched by host, port, database and user.
    let home = tempfile::tempdir().unwrap();
    let (host, port) = (t.host.clone(), t.port);
    std::fs::write(
        home.path().join(".pgpass"),
        format!("{host}:{port}:funnel_test:funnel:{}\n", s.password),
    )
    .unwrap();
    let t = Target::parse(&s.url, &env_of(&[]), Some(home.path())).unwrap();
    assert_eq!(t.password_source, PasswordSource::PasswordFile);
    let mut c = connect(&t).unwrap();
    let one: i32 = c.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
}

#[test]
fn a_wrong_or_missing_password_is_named_without_printing_it() {
    let Some(s) = server("wrong_password") else {
        return;
    };
    let t = Target::parse(
        &s.url,
        &env_of(&[("PGPASSWORD", "not-the-password-42")]),
        None,
    )
    .unwrap();
    let e = refused(&t);
    let text = e.to_string();
    assert!(matches!(e, PgError::Login { .. }), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(text.contains("PGPASSWORD"), "{text}");
    assert!(!text.contains("not-the-password-42"), "{text}");
    assert!(!text.contains(&s.password), "{text}");
    // None at all.
    let t = Target::parse(&s.url, &env_of(&[]), None).unwrap();
    let text = refused(&t).to_string();
    assert!(text.contains("asks for a password"), "{text}");
}

#[test]
fn a_missing_database_and_a_refused_connection_say_so() {
    let Some(s) = server("missing_database") else {
        return;
    };
    let other = s.url.replace("/funnel_test", "/no_such_db");
    let t = Target::parse(&other, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let text = refused(&t).to_string();
    assert!(
        text.contains("database 'no_such_db' does not exist"),
        "{text}"
    );
    assert!(text.contains("createdb"), "{text}");
    // sslmode=require: encrypted when the server has TLS (the throwaway one does when the
    // openssl tool was there to make its certificate), refused and said when it has not —
    // never silently sent in clear.
    let plain = Target::parse(&s.url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let server_tls: String = connect(&plain)
        .unwrap()
        .query_one("SHOW ssl", &[])
        .unwrap()
        .get(0);
    let tls = s.url.replace("sslmode=disable", "sslmode=require");
    let t = Target::parse(&tls, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    if server_tls == "on" {
        let used: bool = connect(&t)
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(used, "sslmode=require connected without TLS");
    } else {
        let text = refused(&t).to_string();
        assert!(text.contains("TLS"), "{text}");
    }
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://funnel@127.0.0.1:{port}/funnel_test?sslmode=disable");
    let t = Target::parse(&url, &env_of(&[("PGPASSWORD", &s.password)]), None).unwrap();
    let e = refused(&t);
    let text = e.to_string();
    assert!(matches!(e, PgError::Unreachable { .. }), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains(&s.password), "{text}");
}
