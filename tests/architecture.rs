//! The layers, checked on the source: `domain <- {store, analytics} <- app <- {tui, cli}`.
//! The faces reach data only through `app` (and its types through `domain`), the store
//! knows no analytics, the analytics know no store, and SQLite stays inside `store`.

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    fn walk(d: &Path, out: &mut Vec<(PathBuf, String)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    assert!(!out.is_empty(), "{dir} has sources");
    out
}

/// Lines of code (not comments) in `dir` that mention `needle`.
fn mentions(dir: &str, needle: &str) -> Vec<String> {
    sources(dir)
        .into_iter()
        .flat_map(|(p, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    let code = l.trim_start();
                    !code.starts_with("//") && l.contains(needle)
                })
                .map(|(i, l)| format!("{}:{}: {}", p.display(), i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_faces_use_only_app_and_domain() {
    for face in ["src/tui", "src/cli"] {
        for needle in ["crate::store", "rusqlite", "crate::analytics"] {
            let found = mentions(face, needle);
            assert!(
                found.is_empty(),
                "{face} uses {needle}:\n{}",
                found.join("\n")
            );
        }
    }
}

#[test]
fn store_and_analytics_do_not_know_each_other() {
    let found = mentions("src/store", "crate::analytics");
    assert!(found.is_empty(), "{}", found.join("\n"));
    for needle in ["crate::store", "rusqlite", "crate::app"] {
        let found = mentions("src/analytics", needle);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}

#[test]
fn sqlite_stays_in_the_store() {
    // The use cases never hold a transaction either: the store opens and commits its own.
    let found = mentions("src/app", ".begin()");
    assert!(found.is_empty(), "{}", found.join("\n"));
    let found: Vec<String> = ["src/app", "src/domain", "src/analytics"]
        .iter()
        .flat_map(|d| mentions(d, "rusqlite"))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}
