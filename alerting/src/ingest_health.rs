//! `rejected_spans`: spans Tracehouse refused at ingest, from its own
//! `tracehouse_rejected_items_total{signal="traces"}` counters.
//!
//! The counters live in the collector's process. When the collector runs
//! in this process they are read from its registry; when collectors run
//! elsewhere, `alerts.collector_metrics_urls` lists their `/metrics` URLs
//! and each evaluation scrapes them (a collector that cannot be scraped
//! puts the rule in `error`). The value is the increase over the rule's
//! window, from samples taken at each evaluation; a counter that went
//! down (a restarted collector) counts from zero again.

use prometheus_client::registry::Registry;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// The counter summed, with this label.
const REJECTED_METRIC: &str = "tracehouse_rejected_items_total{";
const TRACES_LABEL: &str = "signal=\"traces\"";
/// Samples kept (enough for a day of 1-second evaluations is not needed:
/// old samples are trimmed by the longest window).
const MAX_SAMPLES: usize = 100_000;

/// Where the counters come from.
#[derive(Clone)]
pub enum CounterSource {
    /// The collector runs in this process.
    Registry(Arc<Registry>),
    /// Collectors elsewhere, by `/metrics` URL.
    Scrape(Vec<String>),
    /// Nothing to read: `rejected_spans` rules are in error.
    None,
}

/// Sum of rejected spans in Prometheus text.
pub fn rejected_spans_in(text: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(REJECTED_METRIC) && line.contains(TRACES_LABEL))
        .filter_map(|line| line.rsplit(' ').next()?.trim().parse::<f64>().ok())
        .sum()
}

/// Samples of the summed counter over time.
#[derive(Default)]
pub struct RejectedSamples {
    samples: VecDeque<(u64, f64)>,
}

impl RejectedSamples {
    /// Adds a sample; keeps those within `keep` of it.
    pub fn push(&mut self, now_unix_nano: u64, total: f64, keep: Duration) {
        self.samples.push_back((now_unix_nano, total));
        let oldest = now_unix_nano.saturating_sub(u64::try_from(keep.as_nanos()).unwrap_or(0));
        // Keep one sample at or before the oldest kept time, as the baseline.
        while self.samples.len() > 1 && self.samples.get(1).is_some_and(|(at, _)| *at <= oldest) {
            self.samples.pop_front();
        }
        while self.samples.len() > MAX_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// The increase over `[now - window, now]`, resets counted from zero.
    pub fn increase(&self, now_unix_nano: u64, window: Duration) -> f64 {
        let start = now_unix_nano.saturating_sub(u64::try_from(window.as_nanos()).unwrap_or(0));
        let baseline = self
            .samples
            .iter()
            .rposition(|(at, _)| *at <= start)
            .unwrap_or(0);
        let mut increase = 0.0;
        let mut previous: Option<f64> = None;
        for (_, total) in self.samples.iter().skip(baseline) {
            if let Some(before) = previous {
                increase += if *total >= before {
                    total - before
                } else {
                    *total
                };
            }
            previous = Some(*total);
        }
        increase
    }
}

/// Reads the current total from `source`.
pub async fn read_total(source: &CounterSource, http: &reqwest::Client) -> Result<f64, String> {
    match source {
        CounterSource::Registry(registry) => {
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, registry)
                .map_err(|error| format!("encoding metrics: {error}"))?;
            Ok(rejected_spans_in(&text))
        }
        CounterSource::Scrape(urls) => {
            let mut total = 0.0;
            for url in urls {
                let response = http
                    .get(url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|error| format!("scraping {url}: {error}"))?;
                let text = response
                    .text()
                    .await
                    .map_err(|error| format!("scraping {url}: {error}"))?;
                total += rejected_spans_in(&text);
            }
            Ok(total)
        }
        CounterSource::None => {
            Err("no collector in this process: set alerts.collector_metrics_urls".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn sums_the_traces_counters() {
        let text = "# TYPE tracehouse_rejected_items counter\n\
            tracehouse_rejected_items_total{signal=\"traces\",reason=\"invalid_trace_id\"} 3\n\
            tracehouse_rejected_items_total{signal=\"traces\",reason=\"timestamp_out_of_range\"} 2\n\
            tracehouse_rejected_items_total{signal=\"logs\",reason=\"x\"} 7\n";
        assert_eq!(rejected_spans_in(text), 5.0);
    }

    #[test]
    fn increase_over_the_window_survives_a_reset() {
        let keep = Duration::from_secs(60);
        let mut samples = RejectedSamples::default();
        for (second, total) in [(0, 10.0), (10, 12.0), (20, 15.0), (30, 1.0), (40, 4.0)] {
            samples.push(second * S, total, keep);
        }
        // From t=10 (baseline 12): +3, reset to 1 counts 1, +3.
        assert_eq!(samples.increase(40 * S, Duration::from_secs(30)), 7.0);
        assert_eq!(samples.increase(40 * S, Duration::from_secs(5)), 3.0);
    }
}
