//! Storage: migrations, retention, shutdown and the writer's failure paths.
//! The area's test files, linked into one test binary.

mod lifecycle;
mod retention;
mod schema_migrations;
mod writer_failures;
mod writer_supervision;
