//! The `tracehouse` binary's library: configuration and the wiring of
//! `tracehouse serve`. It only connects the crates; logic lives in them.

pub mod access;
pub mod alerts;
pub mod cluster;
pub mod config;
pub mod data_dir;
pub mod demo;
pub mod reload;
pub mod serve;
pub mod serverless;
pub mod tls;

pub use config::{Config, Role, ServeArgs};
pub use serve::{serve, serve_with_timings, BoundAddresses, Running, Timings};
