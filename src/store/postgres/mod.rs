//! The PostgreSQL backend: where the server is (`config`), connecting with TLS when the
//! URL asks for it, errors that say what went wrong — a refused connection, a wrong or
//! missing password, a missing database — without ever printing the password, the schema
//! (`schema`), versioned as SQLite's, and `PgStore` (`store` and the modules beside it),
//! which implements the store traits. `funnel migrate` (`store::migrate`) copies whole
//! databases in and out. `tests/postgres.rs`, `tests/postgres_backend.rs` and the
//! PostgreSQL half of `tests/store_contract.rs` run all of this against a real server.

pub mod agenda;
pub mod bulk;
pub mod config;
pub mod customers;
pub mod edits;
pub mod maintenance;
pub mod remove;
pub mod schema;
pub mod store;

pub use config::{PasswordSource, SslMode, Target, UrlError};
use postgres::error::SqlState;
use std::time::Duration;
pub use store::PgStore;

/// Why a connection failed, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot reach PostgreSQL at {target}: {why}")]
    Unreachable { target: String, why: String },
    #[error("PostgreSQL refused the login of '{user}' at {target}: {why} ({source_of})")]
    Login {
        user: String,
        target: String,
        why: String,
        source_of: &'static str,
    },
    #[error(
        "database '{dbname}' does not exist on {host}:{port} (create it with `createdb -h {host} -p {port} {dbname}`)"
    )]
    NoDatabase {
        dbname: String,
        host: String,
        port: u16,
    },
    #[error("TLS for {target}: {why}")]
    Tls { target: String, why: String },
    #[error("PostgreSQL at {target}: {why}")]
    Other { target: String, why: String },
    #[error(
        "{target}: not a funnel database (it holds {tables} tables of another application); \
         nothing was changed. Give an empty database or one funnel made"
    )]
    NotFunnel { target: String, tables: i64 },
    #[error(
        "{target}: this database has schema version {found}, made by a newer funnel; this funnel \
         knows versions up to {known}. Upgrade funnel to open it"
    )]
    TooNew {
        target: String,
        found: i64,
        known: i64,
    },
}

/// A statement's error in words: the server's message with its detail and hint, or the
/// connection's failure.
pub fn sql_error(t: &Target, e: &postgres::Error) -> PgError {
    match e.as_db_error() {
        Some(db) => {
            let mut why = db.message().to_string();
            if let Some(d) = db.detail() {
                why.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                why.push_str(&format!("; {h}"));
            }
            PgError::Other {
                target: t.to_string(),
                why,
            }
        }
        None => classify(t, e),
    }
}

/// Connects, with a 10-second timeout; TLS as the URL's sslmode says (OpenSSL, the same
/// vendored build the SQLite encryption uses).
pub fn connect(t: &Target) -> Result<postgres::Client, PgError> {
    let mut cfg = postgres::Config::new();
    cfg.user(&t.user)
        .host(&t.host)
        .port(t.port)
        .dbname(&t.dbname)
        .application_name("funnel")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = t.password() {
        cfg.password(p);
    }
    let result = match t.ssl {
        SslMode::Disable => {
            cfg.ssl_mode(postgres::config::SslMode::Disable);
            cfg.connect(postgres::NoTls)
        }
        mode => {
            cfg.ssl_mode(if mode == SslMode::Prefer {
                postgres::config::SslMode::Prefer
            } else {
                postgres::config::SslMode::Require
            });
            cfg.connect(tls(t)?)
        }
    };
    result.map_err(|e| classify(t, &e))
}

/// The TLS connector for `t`'s sslmode: prefer / require encrypt without checking the
/// certificate, as libpq does; verify-full checks it against the system's roots.
pub(crate) fn tls(t: &Target) -> Result<postgres_openssl::MakeTlsConnector, PgError> {
    let mut builder =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).map_err(|e| {
            PgError::Tls {
                target: t.to_string(),
                why: e.to_string(),
            }
        })?;
    if t.ssl != SslMode::VerifyFull {
        builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
    }
    let mut tls = postgres_openssl::MakeTlsConnector::new(builder.build());
    if t.ssl != SslMode::VerifyFull {
        tls.set_callback(|c, _| {
            c.set_verify_hostname(false);
            Ok(())
        });
    }
    Ok(tls)
}

/// A connection error in words, never with the password.
fn classify(t: &Target, e: &postgres::Error) -> PgError {
    let target = t.to_string();
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_CATALOG_NAME {
            return PgError::NoDatabase {
                dbname: t.dbname.clone(),
                host: t.host.clone(),
                port: t.port,
            };
        }
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return PgError::Login {
                user: t.user.clone(),
                target,
                why: db.message().to_string(),
                source_of: t.password_source.describe(),
            };
        }
        return PgError::Other {
            target,
            why: db.message().to_string(),
        };
    }
    // The whole chain: the client's own errors say what they are in their sources
    // ("invalid configuration: password missing").
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if text.contains("password missing") {
        return PgError::Login {
            user: t.user.clone(),
            target,
            why: "the server asks for a password".into(),
            source_of: "none in the URL, PGPASSWORD or the password file",
        };
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let why = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused (is the server running and listening on that port?)"
                        .to_string()
                }
                std::io::ErrorKind::TimedOut => "no answer within 10 seconds".to_string(),
                _ => io.to_string(),
            };
            return PgError::Unreachable { target, why };
        }
        src = s.source();
    }
    if text.contains("timed out") {
        return PgError::Unreachable {
            target,
            why: "no answer within 10 seconds".into(),
        };
    }
    if text.to_lowercase().contains("tls") || text.to_lowercase().contains("ssl") {
        return PgError::Tls { target, why: text };
    }
    PgError::Other { target, why: text }
}
