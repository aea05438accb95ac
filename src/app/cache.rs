//! Analyses kept per data version (see `Store::data_version`): the first read after a
//! change computes and keeps them, later reads load them. Only results that depend on
//! nothing but the data and the day go through here.

use crate::app::Db as Store;
use crate::store::StoreError;
use chrono::NaiveDate;
use serde::{de::DeserializeOwned, Serialize};

/// Bumped when an analysis's stored shape or meaning changes, so that older bodies are
/// not read back. 2: the pipeline's win rates pool the timing across stages, the quarter
/// pull, the backtest's `expected_is_close`.
const FORMAT: u32 = 7;

fn version(store: &Store, today: NaiveDate) -> Result<String, StoreError> {
    Ok(format!(
        "{}/{FORMAT}/{today}/{}",
        env!("CARGO_PKG_VERSION"),
        store.data_version()?
    ))
}

/// What was kept under `name` for `today` and the data as it is now, without computing
/// anything (`None` when nothing was kept since the last change).
pub fn kept<T: DeserializeOwned>(
    store: &Store,
    name: &str,
    today: NaiveDate,
) -> Result<Option<T>, StoreError> {
    let version = version(store, today)?;
    Ok(store
        .cached_analysis(name, &version)?
        .and_then(|body| serde_json::from_str(&body).ok()))
}

/// `compute`'s result for `today`, from the cache when the data has not changed since it
/// was kept.
pub fn cached<T: Serialize + DeserializeOwned, E: From<StoreError>>(
    store: &Store,
    name: &str,
    today: NaiveDate,
    compute: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let version = version(store, today)?;
    cached_as(store, name, &version, compute)
}

/// `compute`'s result kept under `name` for `key` instead of the day and data version: for
/// an analysis whose inputs `key` names, which need not follow every edit.
pub fn cached_by_key<T: Serialize + DeserializeOwned, E: From<StoreError>>(
    store: &Store,
    name: &str,
    key: &str,
    compute: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let version = format!("{}/{FORMAT}/{key}", env!("CARGO_PKG_VERSION"));
    cached_as(store, name, &version, compute)
}

fn cached_as<T: Serialize + DeserializeOwned, E: From<StoreError>>(
    store: &Store,
    name: &str,
    version: &str,
    compute: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    if let Some(body) = store.cached_analysis(name, version)? {
        if let Ok(v) = serde_json::from_str(&body) {
            return Ok(v);
        }
    }
    let value = compute()?;
    if let Ok(body) = serde_json::to_string(&value) {
        store.keep_analysis(name, version, &body);
    }
    Ok(value)
}
