//! The named queries, what each answers, and which function it needs.

use serde::{Deserialize, Serialize};

/// One query a panel can name. Names are snake_case in dashboard files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedQuery {
    /// Succeeded and failed invocations per bucket.
    InvocationsAndErrors,
    /// p50 and p95 duration per bucket (gaps where nothing ran).
    LatencyPercentiles,
    /// Cold starts per bucket.
    ColdStarts,
    /// Cold starts over invocations per bucket.
    ColdStartRate,
    /// Cost per bucket.
    Cost,
    /// Cost per bucket of the five most expensive functions, and "other".
    CostByFunction,
    /// A function's durations, cold against warm.
    LatencyHistogram,
    /// Cost of each function in the window, most expensive first.
    FunctionCosts,
    /// Every function in the window with its headline figures.
    Functions,
    /// Invocations in the window, against the previous window.
    InvocationsTotal,
    /// Error rate in the window, against the previous window.
    ErrorRateTotal,
    /// Cold-start rate in the window, against the previous window.
    ColdStartRateTotal,
    /// p95 duration in the window, against the previous window.
    P95LatencyTotal,
    /// Cost in the window, against the previous window.
    CostTotal,
    /// The window's cost projected to a month.
    ProjectedMonthlyCost,
}

/// What a named query answers; chart kinds draw some shapes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Named series over buckets of equal length.
    TimeSeries,
    /// Labelled values, one per item.
    Categories,
    /// Bins with a cold and a warm count.
    Histogram,
    /// Rows of typed cells.
    Table,
    /// One figure, with the previous window's and a trend.
    Stat,
}

impl Shape {
    /// The name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Shape::TimeSeries => "a time series",
            Shape::Categories => "a value per item",
            Shape::Histogram => "a histogram",
            Shape::Table => "a table",
            Shape::Stat => "a single figure",
        }
    }
}

/// Whether a named query reads one function, all of them, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionRule {
    /// Every function of the project together, or one when a function is given.
    Optional,
    /// One function; a panel must name it (or the page gives it).
    Required,
    /// Every function of the project; a function is refused.
    Refused,
}

impl NamedQuery {
    /// Every named query, in the order of the documentation.
    pub const ALL: [NamedQuery; 15] = [
        NamedQuery::InvocationsAndErrors,
        NamedQuery::LatencyPercentiles,
        NamedQuery::ColdStarts,
        NamedQuery::ColdStartRate,
        NamedQuery::Cost,
        NamedQuery::CostByFunction,
        NamedQuery::LatencyHistogram,
        NamedQuery::FunctionCosts,
        NamedQuery::Functions,
        NamedQuery::InvocationsTotal,
        NamedQuery::ErrorRateTotal,
        NamedQuery::ColdStartRateTotal,
        NamedQuery::P95LatencyTotal,
        NamedQuery::CostTotal,
        NamedQuery::ProjectedMonthlyCost,
    ];

    /// Its name in dashboard files.
    pub fn name(self) -> &'static str {
        match self {
            NamedQuery::InvocationsAndErrors => "invocations_and_errors",
            NamedQuery::LatencyPercentiles => "latency_percentiles",
            NamedQuery::ColdStarts => "cold_starts",
            NamedQuery::ColdStartRate => "cold_start_rate",
            NamedQuery::Cost => "cost",
            NamedQuery::CostByFunction => "cost_by_function",
            NamedQuery::LatencyHistogram => "latency_histogram",
            NamedQuery::FunctionCosts => "function_costs",
            NamedQuery::Functions => "functions",
            NamedQuery::InvocationsTotal => "invocations_total",
            NamedQuery::ErrorRateTotal => "error_rate_total",
            NamedQuery::ColdStartRateTotal => "cold_start_rate_total",
            NamedQuery::P95LatencyTotal => "p95_latency_total",
            NamedQuery::CostTotal => "cost_total",
            NamedQuery::ProjectedMonthlyCost => "projected_monthly_cost",
        }
    }

    /// The shape of its answer.
    pub fn shape(self) -> Shape {
        match self {
            NamedQuery::InvocationsAndErrors
            | NamedQuery::LatencyPercentiles
            | NamedQuery::ColdStarts
            | NamedQuery::ColdStartRate
            | NamedQuery::Cost
            | NamedQuery::CostByFunction => Shape::TimeSeries,
            NamedQuery::LatencyHistogram => Shape::Histogram,
            NamedQuery::FunctionCosts => Shape::Categories,
            NamedQuery::Functions => Shape::Table,
            NamedQuery::InvocationsTotal
            | NamedQuery::ErrorRateTotal
            | NamedQuery::ColdStartRateTotal
            | NamedQuery::P95LatencyTotal
            | NamedQuery::CostTotal
            | NamedQuery::ProjectedMonthlyCost => Shape::Stat,
        }
    }

    /// Which function it reads.
    pub fn function_rule(self) -> FunctionRule {
        match self {
            NamedQuery::InvocationsAndErrors
            | NamedQuery::LatencyPercentiles
            | NamedQuery::ColdStarts
            | NamedQuery::ColdStartRate
            | NamedQuery::Cost => FunctionRule::Optional,
            NamedQuery::LatencyHistogram => FunctionRule::Required,
            _ => FunctionRule::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for query in NamedQuery::ALL {
            let json = serde_json::to_string(&query).expect("serializes");
            assert_eq!(json, format!("\"{}\"", query.name()));
            let back: NamedQuery = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, query);
        }
    }
}
