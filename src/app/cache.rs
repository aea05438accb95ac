//! Analyses kept per data version (see `Store::data_version`): the first read after a
//! change computes and keeps them, later reads load them. Only results that depend on
//! nothing but the data and the day go through here.

use crate::app::Db as Store;
use crate::store::StoreError;
use chrono::NaiveDate;
use serde::{de::DeserializeOwned, Serialize};

/// Bumped when an analysis's stored shape or meaning changes, so that older bodies are
/// not read back.
const FORMAT: u32 = 1;

/// `compute`'s result for `today`, from the cache when the data has not changed since it
/// was kept.
pub fn cached<T: Serialize + DeserializeOwned, E: From<StoreError>>(
    store: &Store,
    name: &str,
    today: NaiveDate,
    compute: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let version = format!(
        "{}/{FORMAT}/{today}/{}",
        env!("CARGO_PKG_VERSION"),
        store.data_version()?
    );
    if let Some(body) = store.cached_analysis(name, &version)? {
        if let Ok(v) = serde_json::from_str(&body) {
            return Ok(v);
        }
    }
    let value = compute()?;
    if let Ok(body) = serde_json::to_string(&value) {
        store.keep_analysis(name, &version, &body);
    }
    Ok(value)
}
