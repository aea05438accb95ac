//! The SQLite store: schema, migrations, queries, CSV import and export. All SQL lives here.

pub mod agenda;
pub mod audit;
pub mod backend;
pub mod bulk;
pub mod cache;
pub mod crypto;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod deals;
pub mod edits;
pub mod export;
pub mod funnel;
pub mod import;
pub mod intel;
pub mod ledger;
pub mod maintenance;
pub mod migrate;
pub mod plans;
pub mod postgres;
pub mod queries;
pub mod remove;
pub mod reports;
pub mod rules;
pub mod scoring;
pub mod segments;
pub mod setup;
pub mod targets;

pub use db::{mark_damaged_at, Result, Store, StoreError, SCHEMA_VERSION};
pub use queries::{Stage, StageTotals, Summary};
