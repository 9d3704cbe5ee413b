//! Prometheus metrics of alerting. The `rule` label takes rule names from
//! the configuration file (a small set the operator controls), never from
//! requests; `outcome` comes from a fixed set.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Labels of per-rule counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: String,
}

/// Labels of delivery counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered`, `retry`, `failed`, `gave_up` or `silenced`.
    pub outcome: &'static str,
}

/// Counters of the alerts role.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    /// Evaluations of each rule.
    pub evaluations: Family<RuleLabels, Counter>,
    /// Evaluations of each rule that failed (the rule is then in `error`).
    pub evaluation_errors: Family<RuleLabels, Counter>,
    /// Delivery attempts and their ends, by outcome.
    pub deliveries: Family<OutcomeLabels, Counter>,
    /// Rules and receivers rejected by the last load or reload of the configuration.
    pub rejected_rules: Gauge,
}

impl AlertMetrics {
    /// Registers the counters in `registry`.
    pub fn register(registry: &mut Registry) -> Arc<Self> {
        let metrics = Self::default();
        registry.register(
            "tracehouse_alert_evaluations",
            "Evaluations of each alert rule",
            metrics.evaluations.clone(),
        );
        registry.register(
            "tracehouse_alert_evaluation_errors",
            "Evaluations of each alert rule that failed",
            metrics.evaluation_errors.clone(),
        );
        registry.register(
            "tracehouse_alert_deliveries",
            "Webhook delivery attempts and their ends, by outcome",
            metrics.deliveries.clone(),
        );
        registry.register(
            "tracehouse_alert_rejected_rules",
            "Alert rules and receivers rejected when the configuration was loaded",
            metrics.rejected_rules.clone(),
        );
        Arc::new(metrics)
    }

    /// Counts one evaluation of `rule`, failed or not.
    pub fn evaluated(&self, rule: &str, failed: bool) {
        let labels = RuleLabels {
            rule: rule.to_owned(),
        };
        self.evaluations.get_or_create(&labels).inc();
        if failed {
            self.evaluation_errors.get_or_create(&labels).inc();
        }
    }

    /// Counts a delivery outcome.
    pub fn delivery(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}
