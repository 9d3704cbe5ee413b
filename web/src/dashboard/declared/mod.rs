//! Dashboards as code: dashboard files (`spec`), the dashboards a process
//! serves (`registry`), drawing their panels (`render`) and the pages of
//! user dashboards, `/dashboards` and `/dashboards/{name}` (`page`).
//! The format is documented in `docs/dashboards.md`.

pub mod page;
pub mod registry;
pub mod render;
pub mod spec;

pub use registry::Dashboards;
