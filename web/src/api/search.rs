//! `GET /api/v1/traces`: trace search.

use super::window::resolve_window;
use crate::access::Scope;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use tracehouse_model::time::now_unix_nano;
use tracehouse_query::search::{
    SearchCursor, TraceSearch, TraceSearchView, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT,
};
use tracehouse_query::QueryLimits;

/// Traces matching the filters, newest first; `next_cursor` pages on.
pub async fn search_traces(
    State(state): State<AppState>,
    scope: Scope,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<TraceSearchView>, ApiError> {
    let search = parse_search(&params, now_unix_nano(), state.query.limits())?;
    let window = search
        .window
        .ok_or_else(|| ApiError::bad_request("from: no window"))?;
    Ok(Json(
        state
            .query
            .search_traces(&scope.project, &search, window)
            .await?,
    ))
}

fn parse_millis(name: &str, text: &str) -> Result<u64, ApiError> {
    let millis: f64 = text
        .parse()
        .ok()
        .filter(|millis: &f64| millis.is_finite() && *millis >= 0.0)
        .ok_or_else(|| ApiError::bad_request(format!("{name}: expected milliseconds")))?;
    Ok((millis * 1_000_000.0) as u64)
}

/// The search from query parameters; unknown parameters are errors so a
/// typo does not silently widen the search.
pub fn parse_search(
    params: &[(String, String)],
    now: u64,
    limits: &QueryLimits,
) -> Result<TraceSearch, ApiError> {
    let mut search = TraceSearch {
        limit: DEFAULT_SEARCH_LIMIT,
        ..TraceSearch::default()
    };
    let (mut from, mut to) = (None, None);
    for (key, value) in params {
        match key.as_str() {
            "from" => from = Some(value.as_str()),
            "to" => to = Some(value.as_str()),
            "service" => search.service = value.clone(),
            "function" => search.function = value.clone(),
            "name" => search.name = value.clone(),
            "status" => match value.as_str() {
                "error" => search.errors_only = true,
                "" | "any" => search.errors_only = false,
                _ => return Err(ApiError::bad_request("status: expected error or any")),
            },
            "min_duration_ms" => search.min_duration_ns = Some(parse_millis(key, value)?),
            "max_duration_ms" => search.max_duration_ns = Some(parse_millis(key, value)?),
            "limit" => {
                search.limit = value
                    .parse()
                    .ok()
                    .filter(|limit| (1..=MAX_SEARCH_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("limit: expected 1 to {MAX_SEARCH_LIMIT}"))
                    })?;
            }
            "cursor" => {
                search.cursor = Some(SearchCursor::decode(value)?);
            }
            other => match other.strip_prefix("attr.") {
                Some(attribute) if !attribute.is_empty() => {
                    search
                        .attributes
                        .push((attribute.to_owned(), value.clone()));
                }
                _ => return Err(ApiError::bad_request(format!("{other}: unknown parameter"))),
            },
        }
    }
    search.window = Some(resolve_window(from, to, now, limits)?);
    Ok(search)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn parses_every_filter() {
        let search = parse_search(
            &params(&[
                ("service", "orders"),
                ("status", "error"),
                ("min_duration_ms", "1.5"),
                ("attr.http.route", "/orders"),
                ("limit", "5"),
            ]),
            10_000_000_000_000,
            &QueryLimits::default(),
        )
        .expect("valid");
        assert_eq!(search.service, "orders");
        assert!(search.errors_only);
        assert_eq!(search.min_duration_ns, Some(1_500_000));
        assert_eq!(
            search.attributes,
            vec![("http.route".to_owned(), "/orders".to_owned())]
        );
        assert_eq!(search.limit, 5);
    }

    #[test]
    fn names_the_bad_parameter() {
        for (pairs, name) in [
            (params(&[("limit", "0")]), "limit"),
            (params(&[("min_duration_ms", "-1")]), "min_duration_ms"),
            (params(&[("servce", "x")]), "servce"),
            (params(&[("cursor", "x")]), "cursor"),
        ] {
            let error = parse_search(&pairs, 0, &QueryLimits::default()).expect_err("invalid");
            assert!(error.message().starts_with(name), "{}", error.message());
        }
    }
}
