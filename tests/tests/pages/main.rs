//! The dashboard: every page, error pages, access to every route and user dashboards.
//! The area's test files, linked into one test binary.

mod access_routes;
mod dashboard_pages;
mod error_pages;
mod user_dashboards;
