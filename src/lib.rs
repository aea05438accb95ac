//! funnel: a keyboard-driven sales CRM for the terminal.
//!
//! Layers, each depending only on those before it:
//! `domain <- store <- analytics <- app <- cli` (and the TUI, when it lands).

pub mod analytics;
pub mod app;
pub mod cli;
pub mod domain;
pub mod store;
pub mod tui;
