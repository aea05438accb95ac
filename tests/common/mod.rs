#![allow(dead_code)]
pub mod pg;
use funnel::store::audit::Actor;
use funnel::store::import::{import_file, ImportKind, ImportOptions, ImportReport};
use funnel::store::Store;
use std::path::{Path, PathBuf};

/// A file under `tests/data/` (copied from the shared evaluation data; see its README).
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Every kind `funnel import` takes, in an order where each file's references are
/// already there (the organisation, customers, deals, then what hangs on them).
pub const IMPORT_KINDS: [&str; 11] = [
    "teams",
    "reps",
    "products",
    "stages",
    "customers",
    "contacts",
    "deals",
    "stage_changes",
    "activities",
    "orders",
    "targets",
];

pub fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

pub fn actor() -> Actor {
    Actor {
        os_user: "tester".into(),
        display_name: None,
        at: "2026-11-22T10:00:00Z".into(),
        batch_id: None,
    }
}

pub fn opts() -> ImportOptions {
    ImportOptions {
        today: Some(today()),
        ..Default::default()
    }
}

pub struct Db {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        Db { dir, store }
    }

    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn import(&mut self, kind: ImportKind, path: &Path, o: &ImportOptions) -> ImportReport {
        import_file(&mut self.store, kind, path, o, &actor()).unwrap()
    }

    pub fn import_text(&mut self, kind: ImportKind, text: &str, o: &ImportOptions) -> ImportReport {
        let p = self.file(&format!("{}.csv", kind.as_str()), text.as_bytes());
        self.import(kind, &p, o)
    }

    pub fn count(&self, table: &str) -> i64 {
        self.store
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    pub fn scalar<T: rusqlite::types::FromSql>(&self, sql: &str) -> T {
        self.store
            .connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    pub fn export(&self, kind: &str) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let w_ref = std::cell::RefCell::new(&mut w);
        self.store
            .export(
                kind,
                &mut |h| {
                    w_ref
                        .borrow_mut()
                        .write_record(h)
                        .map_err(std::io::Error::other)
                },
                &mut |row| {
                    w_ref
                        .borrow_mut()
                        .write_record(row.iter().map(|c| c.to_text()))
                        .map_err(std::io::Error::other)
                },
            )
            .unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }
}

pub fn lines(r: &ImportReport) -> Vec<u64> {
    let mut l: Vec<u64> = r.errors.iter().map(|e| e.line).collect();
    l.dedup();
    l
}
