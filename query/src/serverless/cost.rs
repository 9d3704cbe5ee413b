//! The only glue between query rows and the pricing catalog: billing groups
//! (`function_cost_groups.sql`, one row per function, bucket, pricing traits
//! and cold/warm) become [`GroupTraits`] and [`BillingUnits`], and their
//! prices add up to a [`CostTotals`]. The functions list, the time series
//! and chains all price through here.

use crate::pricing::{BillingUnits, GroupTraits, Pricing};
use serde::Deserialize;

/// A row of `function_cost_groups.sql`.
#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
pub struct BillingGroupRow {
    pub function: String,
    pub bucket: u32,
    pub provider: String,
    pub region: String,
    pub arch: String,
    pub memory_mb: u32,
    pub is_cold: u8,
    pub invocations: u64,
    pub billed_ms_aws: u64,
    pub billed_ms_azure: u64,
    pub billed_ms_gcp: u64,
}

impl BillingGroupRow {
    fn traits(&self) -> GroupTraits<'_> {
        GroupTraits {
            function: &self.function,
            provider: &self.provider,
            region: &self.region,
            arch: &self.arch,
            memory_mb: self.memory_mb,
        }
    }

    fn units(&self) -> BillingUnits {
        BillingUnits {
            invocations: self.invocations,
            billed_ms_aws: self.billed_ms_aws,
            billed_ms_azure: self.billed_ms_azure,
            billed_ms_gcp: self.billed_ms_gcp,
        }
    }
}

/// Invocations, cold starts and cost of a set of billing groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostTotals {
    pub invocations: u64,
    pub cold_starts: u64,
    usd: f64,
    gb_seconds: f64,
    cold_usd: f64,
    warm_usd: f64,
    unknown_reason: Option<String>,
}

impl CostTotals {
    /// The totals of `groups`.
    pub fn of<'a>(
        pricing: &Pricing,
        groups: impl IntoIterator<Item = &'a BillingGroupRow>,
    ) -> Self {
        let mut totals = Self::default();
        for group in groups {
            totals.add(pricing, group);
        }
        totals
    }

    /// Adds one group.
    pub fn add(&mut self, pricing: &Pricing, group: &BillingGroupRow) {
        let is_cold = group.is_cold == 1;
        self.invocations += group.invocations;
        if is_cold {
            self.cold_starts += group.invocations;
        }
        match pricing.price(&group.traits(), &group.units()) {
            Ok(cost) => {
                self.usd += cost.usd;
                self.gb_seconds += cost.gb_seconds;
                if is_cold {
                    self.cold_usd += cost.usd;
                } else {
                    self.warm_usd += cost.usd;
                }
            }
            Err(reason) => {
                self.unknown_reason.get_or_insert(reason);
            }
        }
    }

    /// The cost, or why it is unknown (any unpriced group makes it unknown).
    pub fn usd(&self) -> Result<f64, String> {
        match &self.unknown_reason {
            Some(reason) => Err(reason.clone()),
            None => Ok(self.usd),
        }
    }

    /// What the cold invocations cost beyond as many average warm ones.
    fn cold_start_penalty_usd(&self) -> Option<f64> {
        let warm_invocations = self.invocations - self.cold_starts;
        if self.unknown_reason.is_some() || self.cold_starts == 0 || warm_invocations == 0 {
            return None;
        }
        let warm_average = self.warm_usd / warm_invocations as f64;
        Some(self.cold_usd - warm_average * self.cold_starts as f64)
    }

    /// The cost fields of a function summary.
    pub fn function_cost(&self) -> FunctionCost {
        let known = self.unknown_reason.is_none();
        FunctionCost {
            usd: self.usd(),
            gb_seconds: known.then_some(self.gb_seconds),
            cold_start_penalty_usd: self.cold_start_penalty_usd(),
        }
    }
}

/// What a function costs in a window, as a summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCost {
    /// The cost, or why it is unknown.
    pub usd: Result<f64, String>,
    pub gb_seconds: Option<f64>,
    pub cold_start_penalty_usd: Option<f64>,
}

impl FunctionCost {
    /// The cost of invocations known only as a duration histogram (FaaS
    /// metrics): there are no single invocations to round, so the billed
    /// time is the histogram sum, a lower bound by less than one rounding
    /// step per invocation. Unknown when invocations were counted but no
    /// duration was sent: request charges alone would be a guess.
    pub fn from_histogram(
        pricing: &Pricing,
        traits: &GroupTraits<'_>,
        invocations: u64,
        durations_counted: u64,
        duration_sum_ms: f64,
    ) -> Self {
        if invocations > 0 && durations_counted == 0 {
            return Self::unknown(format!(
                "durations unknown: {} sent invocation counts without faas.invoke_duration",
                traits.function
            ));
        }
        let billed_ms = duration_sum_ms.ceil().max(0.0) as u64;
        let units = BillingUnits {
            invocations,
            billed_ms_aws: billed_ms,
            billed_ms_azure: billed_ms.max(invocations * 100),
            billed_ms_gcp: billed_ms,
        };
        match pricing.price(traits, &units) {
            Ok(cost) => Self {
                usd: Ok(cost.usd),
                gb_seconds: Some(cost.gb_seconds),
                cold_start_penalty_usd: None,
            },
            Err(reason) => Self::unknown(reason),
        }
    }

    fn unknown(reason: String) -> Self {
        Self {
            usd: Err(reason),
            gb_seconds: None,
            cold_start_penalty_usd: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(is_cold: u8, invocations: u64, billed_ms: u64, memory_mb: u32) -> BillingGroupRow {
        BillingGroupRow {
            function: "f".to_owned(),
            bucket: 0,
            provider: "aws".to_owned(),
            region: String::new(),
            arch: "x86_64".to_owned(),
            memory_mb,
            is_cold,
            invocations,
            billed_ms_aws: billed_ms,
            billed_ms_azure: billed_ms,
            billed_ms_gcp: billed_ms,
        }
    }

    #[test]
    fn totals_count_cold_starts_and_the_cold_penalty() {
        let pricing = Pricing::shipped().expect("pricing");
        let groups = [group(1, 1, 1000, 1024), group(0, 2, 200, 1024)];
        let totals = CostTotals::of(&pricing, &groups);
        assert_eq!((totals.invocations, totals.cold_starts), (3, 1));
        let rate = pricing.catalog.aws_lambda.gb_second_usd_x86_64;
        let penalty = totals
            .function_cost()
            .cold_start_penalty_usd
            .expect("known");
        // The cold one billed 1 s, the warm ones 0.1 s on average.
        assert!((penalty - 0.9 * rate).abs() < 1e-15, "{penalty}");
        let unknown = CostTotals::of(&pricing, &[group(0, 1, 100, 0)]);
        assert!(unknown
            .usd()
            .is_err_and(|why| why.contains("memory size unknown")));
        assert_eq!(unknown.invocations, 1, "counted even when not priced");
    }

    #[test]
    fn counts_without_durations_have_no_cost() {
        let pricing = Pricing::shipped().expect("pricing");
        let traits = GroupTraits {
            function: "cron",
            provider: "aws",
            arch: "x86_64",
            memory_mb: 128,
            ..Default::default()
        };
        let cost = FunctionCost::from_histogram(&pricing, &traits, 10, 0, 0.0);
        assert!(cost
            .usd
            .is_err_and(|why| why.contains("faas.invoke_duration")));
        let cost = FunctionCost::from_histogram(&pricing, &traits, 10, 10, 1000.0);
        assert!(cost.usd.is_ok());
    }
}
