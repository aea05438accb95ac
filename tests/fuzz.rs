//! A byte fuzzer over the CSV importer and the mapping parser, driven by proptest. Each case
//! takes a file of the corpus in `tests/data/fuzz/` (a CSV per import kind, vendor shapes,
//! mapping files), mutates its bytes with a seeded generator (bit flips, inserted bytes and
//! tokens such as quotes, NUL, escape sequences, impossible dates and huge numbers, deleted
//! ranges, repeated lines, splices from another corpus file, truncation) and imports the
//! result into a copy of a small database. An import must never panic; it either commits
//! whole or leaves every table as it was; the database stays sound (integrity and foreign
//! keys). A failure is shrunk by proptest and its input written under
//! `target/fuzz-failures/` so it can be added to the corpus.
//!
//! `cargo test --test fuzz` runs each target for `FUNNEL_FUZZ_SECS` seconds (default 5);
//! the long run is `FUNNEL_FUZZ_SECS=300 cargo test --release --test fuzz -- --nocapture`.

mod common;
use funnel::store::import::layout::Mapping;
use funnel::store::import::{import_file, ImportKind, ImportOptions};
use funnel::store::Store;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = common::data("fuzz").join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    files
}

/// The import kind a corpus file is for, from its name (`deals_hubspot.csv` is deals).
fn kind_of(name: &str) -> ImportKind {
    let stem = name.trim_end_matches(".csv");
    ImportKind::parse(stem)
        .or_else(|| ImportKind::parse(stem.split('_').next().unwrap()))
        .unwrap_or_else(|| panic!("corpus file {name} names no import kind"))
}

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b";",
    b"\t",
    b"\r\n",
    b"\n",
    b"\0",
    b"\x1b[2J",
    b"\x1b]0;title\x07",
    b"=HYPERLINK(\"x\")",
    b"'=1+1",
    b"9999-99-99",
    b"2025-02-30",
    b"0000-01-01",
    b"-0005-01-01",
    b"2025-01-01T25:99:99",
    b"31/12/2025",
    b"12/31/2025",
    b"-1",
    b"1e308",
    b"NaN",
    b"inf",
    b"99999999999999999999999",
    b"0.005",
    b"150%",
    b"\xc3\xa9",
    b"\xc3\x28",
    b"\xef\xbb\xbf",
    b"won",
    b"lost",
    b"C1",
    b"D2",
];

/// Applies `n` mutations chosen by `seed` to `input`; `other` is another corpus file to
/// splice from.
fn mutate(input: &[u8], other: &[u8], seed: u64, n: usize) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = input.to_vec();
    for _ in 0..n {
        let at = if out.is_empty() {
            0
        } else {
            rng.random_range(0..=out.len())
        };
        match rng.random_range(0..9) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 => out.insert(at, rng.random()),
            2 if !out.is_empty() => {
                let len = rng.random_range(1..=16.min(out.len() - at.min(out.len() - 1)));
                let start = at.min(out.len() - len);
                out.drain(start..start + len);
            }
            3 => {
                // Repeat the line the position falls in.
                let start = out[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = out[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.len(), |i| at + i + 1);
                let line = out[start..end].to_vec();
                out.splice(end..end, line);
            }
            4 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let len = rng.random_range(1..=64.min(other.len() - from));
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            5 => out.truncate(at),
            6 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            7 => {
                // A long field: past what any real column holds.
                let len = rng.random_range(100..20_000);
                out.splice(at..at, std::iter::repeat_n(b'x', len));
            }
            _ => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                let end = (at + token.len()).min(out.len());
                out.splice(at..end, token.iter().copied());
            }
        }
    }
    out
}

/// The rows in every table funnel keeps, to tell a committed import from one that left
/// nothing behind.
fn counts(store: &Store) -> Vec<i64> {
    funnel::store::audit::ALL_ENTITIES
        .iter()
        .map(|e| e.table())
        .chain(["import_batches", "audit_log"])
        .map(|t| {
            store
                .connection()
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        })
        .collect()
}

fn assert_sound(store: &Store) -> Result<(), String> {
    let check: String = store
        .connection()
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap();
    let broken: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    if check != "ok" || broken > 0 {
        return Err(format!(
            "database unsound: {check}, {broken} broken references"
        ));
    }
    Ok(())
}

/// A small database every case starts from: the organisation, customers and deals of the
/// corpus, so that references in mutated files resolve (or fail) as they would for real.
fn template(dir: &Path, files: &[(String, Vec<u8>)]) -> PathBuf {
    let path = dir.join("template.db");
    let mut store = Store::open(&path).unwrap();
    let o = ImportOptions {
        create_missing: true,
        skip_invalid: true,
        ..common::opts()
    };
    for name in [
        "stages.csv",
        "teams.csv",
        "reps.csv",
        "products.csv",
        "customers.csv",
        "deals.csv",
    ] {
        let (_, bytes) = files.iter().find(|(n, _)| n == name).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        import_file(&mut store, kind_of(name), &p, &o, &common::actor()).unwrap();
    }
    drop(store);
    path
}

/// One case: `bytes` imported as `kind` with options chosen by `flags`, into a copy of the
/// template. Err describes a broken guarantee.
fn import_case(
    dir: &Path,
    template: &Path,
    kind: ImportKind,
    bytes: &[u8],
    flags: u8,
    mapping: Option<Mapping>,
) -> Result<(), String> {
    let db = dir.join("case.db");
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", db.display()));
    }
    std::fs::copy(template, &db).unwrap();
    let file = dir.join(format!("case-{}.csv", kind.as_str()));
    std::fs::write(&file, bytes).unwrap();
    let mut store = Store::open(&db).unwrap();
    let before = counts(&store);
    let opts = ImportOptions {
        mapping,
        skip_invalid: flags & 1 != 0,
        dry_run: flags & 2 != 0,
        create_missing: flags & 4 != 0,
        round: flags & 8 != 0,
        blank_clears: flags & 16 != 0,
        ..common::opts()
    };
    let result = import_file(&mut store, kind, &file, &opts, &common::actor());
    let after = counts(&store);
    let committed = matches!(&result, Ok(r) if r.committed);
    if !committed && after != before {
        return Err(format!(
            "an import that did not commit changed the tables: {before:?} -> {after:?} ({result:?})"
        ));
    }
    if committed && opts.dry_run {
        return Err("a dry run committed".into());
    }
    assert_sound(&store)
}

/// Runs `case` on inputs from `strategy` for the time budget, a round of cases at a time
/// with a fresh deterministic seed each round. Returns the number of cases run.
fn fuzz_for<S: Strategy>(
    name: &str,
    strategy: S,
    case: impl Fn(S::Value) -> Result<(), String>,
    write_failure: impl Fn(&S::Value) -> PathBuf,
) -> u64
where
    S::Value: std::fmt::Debug,
{
    let secs: u64 = std::env::var("FUNNEL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut cases = 0u64;
    let mut round = 0u64;
    while std::time::Instant::now() < deadline {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        seed[8..16].copy_from_slice(&(name.len() as u64).to_le_bytes());
        let config = Config {
            cases: 16,
            failure_persistence: None,
            max_shrink_iters: 2000,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let result = runner.run(&strategy, |v| {
            case(v).map_err(proptest::test_runner::TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, value)) => {
                let path = write_failure(&value);
                panic!(
                    "{name}: round {round}: {why}; the shrunk input is in {}",
                    path.display()
                );
            }
            Err(e) => panic!("{name}: round {round}: {e}"),
        }
        cases += 16;
        round += 1;
    }
    println!("{name}: {cases} cases in {secs} s, no failure");
    cases
}

fn failure_path(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let hash = bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    let path = dir.join(format!("{hash:016x}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_csv_importer_survives_mutated_files() {
    let files = corpus("csv");
    let dir = tempfile::tempdir().unwrap();
    let template = template(dir.path(), &files);
    let n = files.len();
    let build = |(i, j, seed, k): (usize, usize, u64, usize)| {
        let (name, bytes) = &files[i % n];
        (name.clone(), mutate(bytes, &files[j % n].1, seed, k))
    };
    let strategy = (0..n, 0..n, any::<u64>(), 1usize..12, any::<u8>());
    let cases = fuzz_for(
        "csv importer",
        strategy,
        |(i, j, seed, k, flags)| {
            let (name, bytes) = build((i, j, seed, k));
            import_case(dir.path(), &template, kind_of(&name), &bytes, flags, None)
        },
        |&(i, j, seed, k, _)| {
            let (name, bytes) = build((i, j, seed, k));
            failure_path(&name, &bytes)
        },
    );
    assert!(cases > 0);
}

#[test]
fn the_mapping_parser_and_mapped_imports_survive_mutated_mappings() {
    let mappings = corpus("mapping");
    let files = corpus("csv");
    let dir = tempfile::tempdir().unwrap();
    let template = template(dir.path(), &files);
    let n = mappings.len();
    let build = |(i, seed, k): (usize, u64, usize)| {
        let (name, bytes) = &mappings[i % n];
        (
            name.clone(),
            mutate(bytes, &mappings[(i + 1) % n].1, seed, k),
        )
    };
    let strategy = (0..n, any::<u64>(), 1usize..6, any::<u8>(), 0..files.len());
    let cases = fuzz_for(
        "mapping parser",
        strategy,
        |(i, seed, k, flags, f)| {
            let (_, bytes) = build((i, seed, k));
            let text = String::from_utf8_lossy(&bytes);
            let Ok(mapping) = Mapping::from_toml(&text) else {
                return Ok(()); // refused with a message: what a bad mapping should get
            };
            // The mapping's own kind when it names one, else the CSV's.
            let (name, csv) = &files[f];
            let kind = mapping
                .kind
                .as_deref()
                .and_then(ImportKind::parse)
                .unwrap_or_else(|| kind_of(name));
            import_case(dir.path(), &template, kind, csv, flags, Some(mapping))
        },
        |&(i, seed, k, _, _)| {
            let (name, bytes) = build((i, seed, k));
            failure_path(&name, &bytes)
        },
    );
    assert!(cases > 0);
}

#[test]
fn the_mutator_changes_its_input_deterministically() {
    let a = mutate(b"external_id,name\nC1,Acme\n", b"x,y\n", 7, 5);
    let b = mutate(b"external_id,name\nC1,Acme\n", b"x,y\n", 7, 5);
    assert_eq!(a, b);
    assert_ne!(a, b"external_id,name\nC1,Acme\n".to_vec());
}
