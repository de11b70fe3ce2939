//! Prometheus metrics of the engine: journeys started, completed and failed (by the step the
//! journey ended at and its reason), legacy calls by provider, method and outcome with their
//! latency, and users migrated by method. `ferry serve` exposes them at `GET /metrics` in the
//! OpenMetrics text format. Labels never carry a user, an identifier or a secret.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JourneyLabels {
    journey: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailedLabels {
    journey: String,
    step: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LegacyLabels {
    idp: String,
    provider: String,
    method: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MigratedLabels {
    journey: String,
    method: String,
}

type Latencies = Family<LegacyLabels, Histogram, fn() -> Histogram>;

/// Legacy call latencies from 5 ms to about 20 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// The engine's counters and histograms, and the registry that names them.
pub struct Metrics {
    registry: Mutex<Registry>,
    started: Family<JourneyLabels, Counter>,
    completed: Family<JourneyLabels, Counter>,
    failed: Family<FailedLabels, Counter>,
    legacy: Latencies,
    migrated: Family<MigratedLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, every count at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ferry");
        let started = Family::default();
        let completed = Family::default();
        let failed = Family::default();
        let legacy: Latencies = Family::new_with_constructor(latency);
        let migrated = Family::default();
        registry.register(
            "journeys_started",
            "Journeys started, by journey",
            started.clone(),
        );
        registry.register(
            "journeys_completed",
            "Journeys that ended with a signed-in user, by journey",
            completed.clone(),
        );
        registry.register(
            "journeys_failed",
            "Journeys that ended without a signed-in user, by journey, the step they ended at and the reason",
            failed.clone(),
        );
        registry.register(
            "legacy_call_duration_seconds",
            "Calls to legacy identity providers, by IDP, provider, method and outcome",
            legacy.clone(),
        );
        registry.register(
            "users_migrated",
            "Users created by a just-in-time migration, by journey and the method that proved them",
            migrated.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            started,
            completed,
            failed,
            legacy,
            migrated,
        }
    }

    /// A journey was started.
    pub fn journey_started(&self, journey: &str) {
        let labels = JourneyLabels {
            journey: journey.to_owned(),
        };
        self.started.get_or_create(&labels).inc();
    }

    /// A journey ended with a signed-in user.
    pub fn journey_completed(&self, journey: &str) {
        let labels = JourneyLabels {
            journey: journey.to_owned(),
        };
        self.completed.get_or_create(&labels).inc();
    }

    /// A journey ended without one, at `step`, for `reason`.
    pub fn journey_failed(&self, journey: &str, step: &str, reason: &str) {
        let labels = FailedLabels {
            journey: journey.to_owned(),
            step: step.to_owned(),
            reason: reason.to_owned(),
        };
        self.failed.get_or_create(&labels).inc();
    }

    /// A call to a legacy provider answered `outcome` after `took`.
    pub fn legacy_call(
        &self,
        (idp, provider): (&str, &str),
        method: &str,
        outcome: &str,
        took: Duration,
    ) {
        let labels = LegacyLabels {
            idp: idp.to_owned(),
            provider: provider.to_owned(),
            method: method.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.legacy
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A just-in-time migration created a user.
    pub fn user_migrated(&self, journey: &str, method: &str) {
        let labels = MigratedLabels {
            journey: journey.to_owned(),
            method: method.to_owned(),
        };
        self.migrated.get_or_create(&labels).inc();
    }

    /// Every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_latencies_are_encoded_with_their_labels() {
        let metrics = Metrics::new();
        metrics.journey_started("jit-password");
        metrics.journey_started("jit-password");
        metrics.journey_completed("jit-password");
        metrics.journey_failed("jit-password", "denied", "invalid_credentials");
        metrics.legacy_call(
            ("legacy", "oauth2"),
            "password",
            "success",
            Duration::from_millis(30),
        );
        metrics.user_migrated("jit-password", "password");
        let text = metrics.encode();
        for line in [
            "ferry_journeys_started_total{journey=\"jit-password\"} 2",
            "ferry_journeys_completed_total{journey=\"jit-password\"} 1",
            "ferry_journeys_failed_total{journey=\"jit-password\",step=\"denied\",reason=\"invalid_credentials\"} 1",
            "ferry_legacy_call_duration_seconds_count{idp=\"legacy\",provider=\"oauth2\",method=\"password\",outcome=\"success\"} 1",
            "ferry_legacy_call_duration_seconds_bucket{le=\"0.04\",idp=\"legacy\",provider=\"oauth2\",method=\"password\",outcome=\"success\"} 1",
            "ferry_legacy_call_duration_seconds_bucket{le=\"0.02\",idp=\"legacy\",provider=\"oauth2\",method=\"password\",outcome=\"success\"} 0",
            "ferry_users_migrated_total{journey=\"jit-password\",method=\"password\"} 1",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
