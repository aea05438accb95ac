//! Where a PostgreSQL database is and how to log in: `postgres://user@host:port/dbname`
//! URLs (`postgresql://` too), the password from the URL, `PGPASSWORD` or the password
//! file (`PGPASSFILE`, else `~/.pgpass`, in libpq's format), and the TLS mode from
//! `?sslmode=`. The password is never part of what is printed: `Display` and `Debug` show
//! the URL without it and say where it came from.

use std::fmt;
use std::path::{Path, PathBuf};

/// Whether to use TLS, as libpq's `sslmode` (`disable`, `prefer`, `require`; `verify-ca`
/// and `verify-full` check the server's certificate against the system's roots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

/// Where the password came from (said in errors, never the password itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    None,
    Url,
    Environment,
    PasswordFile,
}

impl PasswordSource {
    pub fn describe(&self) -> &'static str {
        match self {
            PasswordSource::None => "no password given",
            PasswordSource::Url => "the password in the URL",
            PasswordSource::Environment => "the password from PGPASSWORD",
            PasswordSource::PasswordFile => "the password from the password file",
        }
    }
}

/// A database to connect to.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub ssl: SslMode,
    password: Option<String>,
    pub password_source: PasswordSource,
}

/// What is wrong with a URL, said without its password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(pub String);

impl Target {
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    pub fn is_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// Parses a URL; the password, when the URL has none, from `PGPASSWORD` or the
    /// password file. `env` reads a variable (the process's environment in use, a map in
    /// tests); `home` is the user's home directory for `~/.pgpass`.
    pub fn parse(
        url: &str,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Target, UrlError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| {
                UrlError("a PostgreSQL URL starts with postgres:// or postgresql://".into())
            })?;
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, url_password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((name, pw)) => (decode(name)?, Some(decode(pw)?)),
                None => (decode(u)?, None),
            },
            None => (String::new(), None),
        };
        let user = if user.is_empty() {
            env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into())
        } else {
            user
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [v6 address]:port
            let (addr, tail) = h
                .split_once(']')
                .ok_or_else(|| UrlError(format!("unclosed '[' in the host of {}", redact(url))))?;
            (addr.to_string(), tail.strip_prefix(':').unwrap_or(""))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (hostport.to_string(), ""),
            }
        };
        let host = if host.is_empty() {
            "localhost".to_string()
        } else {
            decode(&host)?
        };
        let port = if port.is_empty() {
            5432
        } else {
            port.parse::<u16>().map_err(|_| {
                UrlError(format!(
                    "port '{port}' in {} is not a number from 1 to 65535",
                    redact(url)
                ))
            })?
        };
        let dbname = decode(path)?;
        if dbname.is_empty() {
            return Err(UrlError(format!(
                "no database name in {}: write postgres://user@host:port/dbname",
                redact(url)
            )));
        }
        let mut ssl = SslMode::Prefer;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sslmode" => {
                    ssl = match v {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" | "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(UrlError(format!(
                                "sslmode '{other}' is not one of disable, prefer, require, verify-ca, verify-full"
                            )))
                        }
                    }
                }
                "application_name" | "connect_timeout" => {}
                other => {
                    return Err(UrlError(format!(
                        "unknown URL parameter '{other}' (funnel reads sslmode)"
                    )))
                }
            }
        }
        let (password, password_source) = if let Some(p) = url_password {
            (Some(p), PasswordSource::Url)
        } else if let Some(p) = env("PGPASSWORD").filter(|p| !p.is_empty()) {
            (Some(p), PasswordSource::Environment)
        } else {
            let file = env("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".pgpass")));
            match file
                .and_then(|f| std::fs::read_to_string(f).ok())
                .and_then(|text| from_password_file(&text, &host, port, &dbname, &user))
            {
                Some(p) => (Some(p), PasswordSource::PasswordFile),
                None => (None, PasswordSource::None),
            }
        };
        Ok(Target {
            user,
            host,
            port,
            dbname,
            ssl,
            password,
            password_source,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            self.user, host, self.port, self.dbname
        )
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{self} ({}, sslmode {:?})",
            self.password_source.describe(),
            self.ssl
        )
    }
}

/// An environment of fixed values for `Target::parse` (tests, or checking a URL apart
/// from the process's own variables).
pub fn fixed_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// A URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:***@{host}{}",
                &url[..scheme_end],
                &rest[authority_end..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Percent-decoding of one URL component.
fn decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    UrlError("a '%' in the URL is not followed by two hex digits".into())
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("the URL does not decode to UTF-8".into()))
}

/// The password of the first line of a libpq password file
/// (`hostname:port:database:username:password`, `*` matching anything, `\:` and `\\`
/// escaped, `#` comments) that matches.
pub fn from_password_file(
    text: &str,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        let host_ok = matches(&fields[0], host)
            || (fields[0] == "localhost" && (host == "127.0.0.1" || host.starts_with('/')));
        if host_ok
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        fixed_env(pairs)
    }

    #[test]
    fn urls_are_read_with_defaults_and_the_password_is_never_shown() {
        let t = Target::parse(
            "postgres://ann:s%40cret@db.example.com:6543/sales?sslmode=require",
            &env_of(&[]),
            None,
        )
        .unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port, t.dbname.as_str()),
            ("ann", "db.example.com", 6543, "sales")
        );
        assert_eq!(t.ssl, SslMode::Require);
        assert_eq!(t.password(), Some("s@cret"));
        assert_eq!(t.password_source, PasswordSource::Url);
        let shown = format!("{t} {t:?}");
        assert!(
            !shown.contains("s@cret") && !shown.contains("s%40cret"),
            "{shown}"
        );
        assert_eq!(t.to_string(), "postgres://ann@db.example.com:6543/sales");
        // Defaults: port 5432, the user from PGUSER, TLS preferred.
        let t = Target::parse(
            "postgresql://localhost/crm",
            &env_of(&[("PGUSER", "ops")]),
            None,
        )
        .unwrap();
        assert_eq!(
            (t.user.as_str(), t.port, t.ssl),
            ("ops", 5432, SslMode::Prefer)
        );
        assert_eq!(t.password_source, PasswordSource::None);
        // IPv6.
        let t = Target::parse("postgres://u@[::1]:5433/d", &env_of(&[]), None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 5433));
        assert_eq!(t.to_string(), "postgres://u@[::1]:5433/d");
    }

    #[test]
    fn bad_urls_say_what_is_wrong_without_the_password() {
        let e = |u: &str| Target::parse(u, &env_of(&[]), None).unwrap_err().0;
        assert!(e("mysql://x/y").contains("postgres://"));
        let m = e("postgres://ann:hunter2@h:99999/db");
        assert!(m.contains("port '99999'") && !m.contains("hunter2"), "{m}");
        assert!(m.contains("ann:***@h"), "{m}");
        assert!(e("postgres://ann@h:5432").contains("no database name"));
        assert!(e("postgres://h/db?sslmode=sometimes").contains("sslmode 'sometimes'"));
        assert!(e("postgres://h/db?colour=red").contains("unknown URL parameter 'colour'"));
    }

    #[test]
    fn the_password_comes_from_the_environment_then_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".pgpass"),
            "# comment\nother:5432:*:*:nope\nlocalhost:5432:crm:ann:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        let t = Target::parse(
            "postgres://ann@localhost/crm",
            &env_of(&[]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(t.password(), Some("pa:ss"));
        assert_eq!(t.password_source, PasswordSource::PasswordFile);
        let t = Target::parse(
            "postgres://bob@elsewhere/crm",
            &env_of(&[]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(t.password(), Some("fallback"));
        let t = Target::parse(
            "postgres://ann@localhost/crm",
            &env_of(&[("PGPASSWORD", "from-env")]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(t.password(), Some("from-env"));
        assert_eq!(t.password_source, PasswordSource::Environment);
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("from-env") && shown.contains("PGPASSWORD"),
            "{shown}"
        );
    }
}
