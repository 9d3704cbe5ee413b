//! Jaeger's query parameters: microsecond times, Go durations, JSON tags.

use std::collections::HashMap;
use tracehouse_model::duration::parse_duration_nanos;
use tracehouse_query::search::{TraceSearch, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT};
use tracehouse_query::{QueryLimits, TimeWindow};

const HOUR_NANOS: u64 = 3_600 * 1_000_000_000;

fn micros(name: &str, text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .and_then(|micros| micros.checked_mul(1_000))
        .ok_or_else(|| format!("{name}: expected Unix microseconds"))
}

/// The search of `GET /jaeger/api/traces`. Tags are a JSON object of
/// strings; `error=true` asks for traces with errors. The window is bounded
/// by `limits` (`start=0` is refused, naming `max_query_window`).
pub fn trace_search(
    raw: &[(String, String)],
    now: u64,
    limits: &QueryLimits,
) -> Result<TraceSearch, String> {
    let mut search = TraceSearch {
        limit: DEFAULT_SEARCH_LIMIT,
        ..TraceSearch::default()
    };
    let (mut start, mut end) = (None, None);
    for (key, value) in raw {
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "service" => search.service = value.clone(),
            "operation" => search.name = value.clone(),
            "start" => start = Some(micros("start", value)?),
            "end" => end = Some(micros("end", value)?),
            "minDuration" => search.min_duration_ns = Some(parse_duration_nanos(value)?),
            "maxDuration" => search.max_duration_ns = Some(parse_duration_nanos(value)?),
            "limit" => {
                let limit: u64 = value
                    .parse()
                    .map_err(|_| "limit: expected a number".to_owned())?;
                search.limit = limit.clamp(1, MAX_SEARCH_LIMIT);
            }
            "tags" => {
                let tags: HashMap<String, serde_json::Value> = serde_json::from_str(value)
                    .map_err(|_| "tags: expected a JSON object".to_owned())?;
                for (tag, tag_value) in tags {
                    let text = match tag_value {
                        serde_json::Value::String(text) => text,
                        other => other.to_string(),
                    };
                    if tag == "error" && text == "true" {
                        search.errors_only = true;
                    } else {
                        search.attributes.push((tag, text));
                    }
                }
                search.attributes.sort();
            }
            // lookback is the UI's label for start/end; other keys are ignored as Jaeger does.
            _ => {}
        }
    }
    let end = end.unwrap_or(now);
    let start = start.unwrap_or_else(|| end.saturating_sub(HOUR_NANOS));
    let window = limits
        .window(start, end, "start/end")
        .map_err(|error| error.to_string())?;
    search.window = Some(window);
    Ok(search)
}

/// The window of `GET /jaeger/api/dependencies`: `endTs` and `lookback` in milliseconds.
pub fn dependencies_window(
    params: &HashMap<String, String>,
    now: u64,
    limits: &QueryLimits,
) -> Result<TimeWindow, String> {
    let millis = |name: &str| -> Result<Option<u64>, String> {
        params
            .get(name)
            .filter(|text| !text.is_empty())
            .map(|text| {
                text.parse::<u64>()
                    .ok()
                    .and_then(|millis| millis.checked_mul(1_000_000))
                    .ok_or_else(|| format!("{name}: expected milliseconds"))
            })
            .transpose()
    };
    let end = millis("endTs")?.unwrap_or(now);
    let lookback = millis("lookback")?.unwrap_or(HOUR_NANOS);
    limits
        .window(end.saturating_sub(lookback), end, "endTs/lookback")
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration_nanos("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_nanos("250us"), Ok(250_000));
        assert!(parse_duration_nanos("12").is_err());
    }

    #[test]
    fn search_from_jaeger_parameters() {
        let raw: Vec<(String, String)> = [
            ("service", "orders"),
            ("operation", "GET /orders"),
            ("tags", r#"{"error":"true","http.route":"/orders"}"#),
            ("start", "1000"),
            ("end", "2000"),
            ("minDuration", "1ms"),
            ("limit", "7"),
            ("lookback", "custom"),
        ]
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
        let search = trace_search(&raw, 0, &QueryLimits::default()).expect("valid");
        assert_eq!(search.service, "orders");
        assert_eq!(search.name, "GET /orders");
        assert!(search.errors_only);
        assert_eq!(
            search.attributes,
            vec![("http.route".to_owned(), "/orders".to_owned())]
        );
        assert_eq!(
            search.window,
            Some(TimeWindow {
                start_unix_nano: 1_000_000,
                end_unix_nano: 2_000_000
            })
        );
        assert_eq!(search.min_duration_ns, Some(1_000_000));
        assert_eq!(search.limit, 7);
    }

    #[test]
    fn windows_longer_than_the_limit_are_refused() {
        let limits = QueryLimits::default();
        let now = 1_764_000_000_000_000_000;
        let raw = vec![("start".to_owned(), "0".to_owned())];
        let message = trace_search(&raw, now, &limits).expect_err("start=0");
        assert!(message.contains("max_query_window"), "{message}");
        let lookback = HashMap::from([("lookback".to_owned(), "2592000000".to_owned())]);
        let message = dependencies_window(&lookback, now, &limits).expect_err("30 days");
        assert!(message.contains("max_query_window"), "{message}");
    }
}
