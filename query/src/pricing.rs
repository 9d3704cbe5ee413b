//! The pricing catalog and the cost of invocations.
//!
//! Cost is a property of one invocation. Queries sum the billing units of
//! invocations that share provider, region, architecture and memory (the
//! per-invocation rounding happens in SQL), and [`Pricing::price`] turns
//! such a group into dollars; since the price is linear in the units within
//! a group, the sum over groups equals the sum of per-invocation costs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The catalog shipped with Tracehouse.
pub const DEFAULT_CATALOG: &str = include_str!("../../deploy/pricing.toml");

/// Seconds in the month used for projections (730 hours, as AWS uses).
pub const SECONDS_PER_MONTH: f64 = 730.0 * 3600.0;

/// Why the pricing configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read pricing catalog {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pricing catalog {path}: {message}")]
    Parse { path: String, message: String },
}

/// AWS Lambda list prices.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsLambdaPrices {
    pub source: String,
    pub request_usd_per_million: f64,
    pub duration_step_ms: u64,
    pub gb_second_usd_x86_64: f64,
    pub gb_second_usd_arm64: f64,
    pub free_requests_per_month: f64,
    pub free_gb_seconds_per_month: f64,
}

/// Azure Functions consumption plan list prices.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AzureFunctionsPrices {
    pub source: String,
    pub execution_usd_per_million: f64,
    pub gb_second_usd: f64,
    pub memory_step_mb: u32,
    pub minimum_duration_ms: u64,
    pub free_requests_per_month: f64,
    pub free_gb_seconds_per_month: f64,
}

/// vCPUs allotted to a memory size.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VcpuForMemory {
    pub memory_mb: u32,
    pub vcpu: f64,
}

/// Google Cloud Run functions list prices.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GcpFunctionsPrices {
    pub source: String,
    pub invocation_usd_per_million: f64,
    pub duration_step_ms: u64,
    pub vcpu_second_usd: f64,
    pub gib_second_usd: f64,
    pub free_requests_per_month: f64,
    pub free_gb_seconds_per_month: f64,
    pub vcpu_by_memory: Vec<VcpuForMemory>,
}

/// The whole catalog (`deploy/pricing.toml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PricingCatalog {
    pub as_of: String,
    pub currency: String,
    pub aws_lambda: AwsLambdaPrices,
    pub azure_functions: AzureFunctionsPrices,
    pub gcp_cloud_run_functions: GcpFunctionsPrices,
}

impl PricingCatalog {
    /// Parses catalog text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PricingError> {
        toml::from_str(text).map_err(|error| PricingError::Parse {
            path: origin.to_owned(),
            message: error.to_string(),
        })
    }

    /// The shipped catalog.
    pub fn shipped() -> Result<Self, PricingError> {
        Self::parse(DEFAULT_CATALOG, "deploy/pricing.toml")
    }

    /// A catalog file.
    pub fn load(path: &Path) -> Result<Self, PricingError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::parse(&text, &origin)
    }
}

/// What the configuration says about one function where its telemetry is
/// silent (telemetry wins where it has a value).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionOverride {
    /// `aws`, `azure` or `gcp`.
    pub provider: Option<String>,
    /// Configured memory in MB.
    pub memory_mb: Option<u32>,
    /// `x86_64` or `arm64`.
    pub arch: Option<String>,
    /// vCPUs (Google Cloud only), instead of the catalog's default for the memory.
    pub vcpu: Option<f64>,
}

/// Deployment settings of pricing (the `[pricing]` table of the config file).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PricingSettings {
    /// A catalog file replacing the shipped one.
    pub catalog: Option<std::path::PathBuf>,
    /// Subtract the providers' monthly free tier from projected monthly
    /// totals (default off: most accounts use it up elsewhere).
    pub free_tier: Option<bool>,
    /// Multipliers of the cost of invocations in a region, e.g. `"sa-east-1" = 1.34`.
    pub region_multipliers: Option<BTreeMap<String, f64>>,
}

/// Everything cost computation needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pricing {
    pub catalog: PricingCatalog,
    /// Set when no catalog could be loaded: every cost is then null with this reason.
    pub unavailable: Option<String>,
    pub free_tier: bool,
    pub region_multipliers: BTreeMap<String, f64>,
    pub functions: BTreeMap<String, FunctionOverride>,
}

impl Pricing {
    /// The shipped catalog, no overrides.
    pub fn shipped() -> Result<Self, PricingError> {
        Self::from_settings(&PricingSettings::default(), BTreeMap::new())
    }

    /// From the configuration.
    pub fn from_settings(
        settings: &PricingSettings,
        functions: BTreeMap<String, FunctionOverride>,
    ) -> Result<Self, PricingError> {
        let catalog = match &settings.catalog {
            Some(path) => PricingCatalog::load(path)?,
            None => PricingCatalog::shipped()?,
        };
        Ok(Self {
            catalog,
            unavailable: None,
            free_tier: settings.free_tier.unwrap_or(false),
            region_multipliers: settings.region_multipliers.clone().unwrap_or_default(),
            functions,
        })
    }
}

/// A cloud provider Tracehouse can price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Aws,
    Azure,
    Gcp,
}

impl Provider {
    /// From `cloud.provider` or a config value.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "aws" | "aws_lambda" => Some(Self::Aws),
            "azure" | "azure_functions" => Some(Self::Azure),
            "gcp" | "gcp_cloud_functions" | "gcp_cloud_run" | "gcp_cloud_run_functions" => {
                Some(Self::Gcp)
            }
            _ => None,
        }
    }
}

/// Billing units of a group of invocations, rounded per invocation in SQL.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BillingUnits {
    pub invocations: u64,
    /// Sum of ceil(duration ms), or Lambda's billed duration when a REPORT line exists.
    pub billed_ms_aws: u64,
    /// Sum of max(ceil(duration ms), 100).
    pub billed_ms_azure: u64,
    /// Sum of duration rounded up to 100 ms.
    pub billed_ms_gcp: u64,
}

/// What the telemetry says about a group of invocations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupTraits<'a> {
    pub function: &'a str,
    pub provider: &'a str,
    pub region: &'a str,
    pub arch: &'a str,
    /// 0 when unknown.
    pub memory_mb: u32,
}

/// The price of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupCost {
    pub usd: f64,
    pub gb_seconds: f64,
}

impl Pricing {
    /// The cost of a group, or why it cannot be known.
    pub fn price(
        &self,
        traits: &GroupTraits<'_>,
        units: &BillingUnits,
    ) -> Result<GroupCost, String> {
        if let Some(reason) = &self.unavailable {
            return Err(reason.clone());
        }
        let function_override = self.functions.get(traits.function);
        let from_override = |pick: fn(&FunctionOverride) -> Option<String>| {
            function_override.and_then(pick).unwrap_or_default()
        };
        let provider_text = if traits.provider.is_empty() {
            from_override(|o| o.provider.clone())
        } else {
            traits.provider.to_owned()
        };
        if provider_text.is_empty() {
            return Err(format!(
                "provider unknown: set functions.\"{}\".provider",
                traits.function
            ));
        }
        let provider = Provider::parse(&provider_text)
            .ok_or_else(|| format!("no pricing for provider {provider_text:?}"))?;
        let memory_mb = match traits.memory_mb {
            0 => function_override.and_then(|o| o.memory_mb).unwrap_or(0),
            known => known,
        };
        if memory_mb == 0 {
            return Err(format!(
                "memory size unknown: set functions.\"{}\".memory_mb",
                traits.function
            ));
        }
        let multiplier = self
            .region_multipliers
            .get(traits.region)
            .copied()
            .unwrap_or(1.0);
        let requests = units.invocations as f64;
        let cost = match provider {
            Provider::Aws => {
                let arch = if traits.arch.is_empty() {
                    from_override(|o| o.arch.clone())
                } else {
                    traits.arch.to_owned()
                };
                let prices = &self.catalog.aws_lambda;
                let rate = match tracehouse_model::invocation::normalize_arch(&arch) {
                    Some("x86_64") => prices.gb_second_usd_x86_64,
                    Some("arm64") => prices.gb_second_usd_arm64,
                    Some(other) => {
                        return Err(format!("no AWS Lambda price for architecture {other:?}"))
                    }
                    None => {
                        return Err(format!(
                            "architecture unknown: set functions.\"{}\".arch",
                            traits.function
                        ))
                    }
                };
                let gb_seconds =
                    units.billed_ms_aws as f64 / 1000.0 * f64::from(memory_mb) / 1024.0;
                GroupCost {
                    usd: requests * prices.request_usd_per_million / 1e6 + gb_seconds * rate,
                    gb_seconds,
                }
            }
            Provider::Azure => {
                let prices = &self.catalog.azure_functions;
                let step = prices.memory_step_mb.max(1);
                let billed_memory_mb = memory_mb.div_ceil(step) * step;
                let gb_seconds =
                    units.billed_ms_azure as f64 / 1000.0 * f64::from(billed_memory_mb) / 1024.0;
                GroupCost {
                    usd: requests * prices.execution_usd_per_million / 1e6
                        + gb_seconds * prices.gb_second_usd,
                    gb_seconds,
                }
            }
            Provider::Gcp => {
                let prices = &self.catalog.gcp_cloud_run_functions;
                let vcpu = function_override
                    .and_then(|o| o.vcpu)
                    .or_else(|| gcp_vcpu_for_memory(prices, memory_mb))
                    .ok_or_else(|| {
                        format!(
                            "vCPU unknown for {memory_mb} MB: set functions.\"{}\".vcpu",
                            traits.function
                        )
                    })?;
                let seconds = units.billed_ms_gcp as f64 / 1000.0;
                let gb_seconds = seconds * f64::from(memory_mb) / 1024.0;
                GroupCost {
                    usd: requests * prices.invocation_usd_per_million / 1e6
                        + gb_seconds * prices.gib_second_usd
                        + seconds * vcpu * prices.vcpu_second_usd,
                    gb_seconds,
                }
            }
        };
        Ok(GroupCost {
            usd: cost.usd * multiplier,
            gb_seconds: cost.gb_seconds,
        })
    }

    /// The monthly free allowance in dollars at tier-1 prices for a
    /// provider, used for projected totals when `free_tier` is on.
    pub fn monthly_free_tier_usd(&self, provider: Provider, arch: &str) -> f64 {
        match provider {
            Provider::Aws => {
                let prices = &self.catalog.aws_lambda;
                let rate = if arch == "arm64" {
                    prices.gb_second_usd_arm64
                } else {
                    prices.gb_second_usd_x86_64
                };
                prices.free_requests_per_month * prices.request_usd_per_million / 1e6
                    + prices.free_gb_seconds_per_month * rate
            }
            Provider::Azure => {
                let prices = &self.catalog.azure_functions;
                prices.free_requests_per_month * prices.execution_usd_per_million / 1e6
                    + prices.free_gb_seconds_per_month * prices.gb_second_usd
            }
            Provider::Gcp => {
                let prices = &self.catalog.gcp_cloud_run_functions;
                prices.free_requests_per_month * prices.invocation_usd_per_million / 1e6
                    + prices.free_gb_seconds_per_month * prices.gib_second_usd
            }
        }
    }
}

fn gcp_vcpu_for_memory(prices: &GcpFunctionsPrices, memory_mb: u32) -> Option<f64> {
    prices
        .vcpu_by_memory
        .iter()
        .filter(|entry| entry.memory_mb >= memory_mb)
        .min_by_key(|entry| entry.memory_mb)
        .map(|entry| entry.vcpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(invocations: u64, aws: u64, azure: u64, gcp: u64) -> BillingUnits {
        BillingUnits {
            invocations,
            billed_ms_aws: aws,
            billed_ms_azure: azure,
            billed_ms_gcp: gcp,
        }
    }

    #[test]
    fn shipped_catalog_parses_with_documented_defaults() {
        let catalog = PricingCatalog::shipped().expect("shipped catalog parses");
        assert_eq!(catalog.aws_lambda.request_usd_per_million, 0.20);
        assert_eq!(catalog.aws_lambda.gb_second_usd_x86_64, 0.0000166667);
        assert_eq!(catalog.aws_lambda.gb_second_usd_arm64, 0.0000133334);
        assert_eq!(catalog.azure_functions.minimum_duration_ms, 100);
        assert_eq!(
            catalog.gcp_cloud_run_functions.invocation_usd_per_million,
            0.40
        );
        assert!(!catalog.as_of.is_empty());
    }

    #[test]
    fn aws_cost_matches_the_formula() {
        let pricing = Pricing::shipped().expect("pricing");
        let traits = GroupTraits {
            function: "f",
            provider: "aws",
            arch: "x86_64",
            memory_mb: 128,
            ..Default::default()
        };
        // One invocation of 102.3 ms: billed 103 ms.
        let cost = pricing
            .price(&traits, &units(1, 103, 0, 0))
            .expect("priced");
        let expected = 0.20e-6 + 103.0 / 1000.0 * 128.0 / 1024.0 * 0.0000166667;
        assert!((cost.usd - expected).abs() < 1e-15);
        let arm = GroupTraits {
            arch: "arm64",
            ..traits.clone()
        };
        let cost = pricing.price(&arm, &units(2, 2000, 0, 0)).expect("priced");
        let expected = 0.40e-6 + 2.0 * 128.0 / 1024.0 * 0.0000133334;
        assert!((cost.usd - expected).abs() < 1e-15);
    }

    /// Prices of already billed units (Azure's memory rounded up to 128 MB
    /// steps here). Rounding durations per invocation happens in SQL and is
    /// tested on ClickHouse in `tests/tests/reads/pricing_rounding.rs`.
    #[test]
    fn azure_and_gcp_prices_apply_to_billed_units() {
        let pricing = Pricing::shipped().expect("pricing");
        let azure = GroupTraits {
            function: "f",
            provider: "azure",
            memory_mb: 200,
            ..Default::default()
        };
        let cost = pricing.price(&azure, &units(1, 0, 100, 0)).expect("priced");
        let expected = 0.20e-6 + 0.1 * 256.0 / 1024.0 * 0.000016;
        assert!((cost.usd - expected).abs() < 1e-15);
        let gcp = GroupTraits {
            function: "f",
            provider: "gcp",
            memory_mb: 256,
            ..Default::default()
        };
        let cost = pricing.price(&gcp, &units(1, 0, 0, 200)).expect("priced");
        let expected = 0.40e-6 + 0.2 * 0.25 * 0.0000025 + 0.2 * 0.167 * 0.000024;
        assert!((cost.usd - expected).abs() < 1e-15);
    }

    #[test]
    fn missing_traits_give_a_reason_or_come_from_overrides() {
        let mut pricing = Pricing::shipped().expect("pricing");
        let traits = GroupTraits {
            function: "f",
            ..Default::default()
        };
        let reason = pricing
            .price(&traits, &units(1, 1, 1, 1))
            .expect_err("unknown");
        assert!(reason.contains("provider unknown"), "{reason}");
        pricing.functions.insert(
            "f".to_owned(),
            FunctionOverride {
                provider: Some("aws".to_owned()),
                memory_mb: Some(1024),
                ..Default::default()
            },
        );
        let reason = pricing
            .price(&traits, &units(1, 1, 1, 1))
            .expect_err("unknown");
        assert!(reason.contains("architecture unknown"), "{reason}");
        pricing.functions.get_mut("f").expect("inserted").arch = Some("arm64".to_owned());
        assert!(pricing.price(&traits, &units(1, 1, 1, 1)).is_ok());
    }
}
