//! Pure analytics over plain data: no SQL, no terminal.

pub mod pipeline;
