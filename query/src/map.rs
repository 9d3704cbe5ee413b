//! The service and event map: services and messaging destinations as nodes,
//! calls, publishes and consumes as edges, per time window.

use crate::error::QueryError;
use crate::sql;
use crate::time_window::TimeWindow;
use crate::QueryService;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracehouse_model::ProjectId;

/// The map of one window.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceMapView {
    pub nodes: Vec<MapNodeView>,
    pub edges: Vec<MapEdgeView>,
}

/// What a node of the map is; serialized `service` or `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapNodeKind {
    /// A service or function.
    Service,
    /// A messaging destination (queue, topic).
    Destination,
}

/// What an edge of the map is; serialized `calls`, `publishes` or `consumes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapEdgeKind {
    Calls,
    Publishes,
    Consumes,
}

impl std::fmt::Display for MapNodeKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Service => "service",
            Self::Destination => "destination",
        })
    }
}

impl std::fmt::Display for MapEdgeKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Calls => "calls",
            Self::Publishes => "publishes",
            Self::Consumes => "consumes",
        })
    }
}

/// A service (or function) or a messaging destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MapNodeView {
    pub id: String,
    pub kind: MapNodeKind,
}

/// Traffic between two nodes.
#[derive(Debug, Clone, Serialize)]
pub struct MapEdgeView {
    pub source: String,
    pub target: String,
    pub kind: MapEdgeKind,
    pub request_count: u64,
    pub error_count: u64,
    /// Errors over requests, 0 to 1.
    pub error_rate: f64,
    /// Approximate 95th percentile of the callee's (or messaging span's) duration.
    pub p95_ms: f64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct CallRow {
    source: String,
    target: String,
    request_count: u64,
    error_count: u64,
    p95_duration_ns: f64,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct MessagingRow {
    source: String,
    target: String,
    edge_kind: String,
    request_count: u64,
    error_count: u64,
    p95_duration_ns: f64,
}

fn edge(
    source: String,
    target: String,
    kind: MapEdgeKind,
    request_count: u64,
    error_count: u64,
    p95_duration_ns: f64,
) -> MapEdgeView {
    MapEdgeView {
        source,
        target,
        kind,
        request_count,
        error_count,
        error_rate: if request_count == 0 {
            0.0
        } else {
            error_count as f64 / request_count as f64
        },
        p95_ms: if p95_duration_ns.is_finite() {
            p95_duration_ns / 1_000_000.0
        } else {
            0.0
        },
    }
}

/// Adds consumers known by links to the `consumes` edge of the same
/// destination and service, or as a new edge. The p95 of a merged edge is
/// the larger of the two, an upper bound.
fn add_consumes(edges: &mut Vec<MapEdgeView>, row: CallRow) {
    let added = edge(
        row.source,
        row.target,
        MapEdgeKind::Consumes,
        row.request_count,
        row.error_count,
        row.p95_duration_ns,
    );
    match edges.iter_mut().find(|existing| {
        existing.kind == MapEdgeKind::Consumes
            && existing.source == added.source
            && existing.target == added.target
    }) {
        Some(existing) => {
            existing.request_count += added.request_count;
            existing.error_count += added.error_count;
            existing.error_rate =
                existing.error_count as f64 / existing.request_count.max(1) as f64;
            existing.p95_ms = existing.p95_ms.max(added.p95_ms);
        }
        None => edges.push(added),
    }
}

impl QueryService {
    /// The service and event map of `window`.
    pub async fn service_map(
        &self,
        project: &ProjectId,
        window: TimeWindow,
    ) -> Result<ServiceMapView, QueryError> {
        let params = sql::project_window_params(project, &window);
        // The four reads run at once; services without traffic to others
        // are nodes too.
        let (calls, messaging, link_consumers, services) = futures::future::try_join4(
            self.fetch::<CallRow>(&sql::MAP_CALLS, &params),
            self.fetch::<MessagingRow>(&sql::MAP_MESSAGING, &params),
            self.fetch::<CallRow>(&sql::MAP_LINK_CONSUMERS, &params),
            self.services(project, window),
        )
        .await?;
        let mut nodes: BTreeMap<String, MapNodeKind> = services
            .into_iter()
            .map(|service| (service, MapNodeKind::Service))
            .collect();
        let mut edges = Vec::with_capacity(calls.len() + messaging.len());
        for row in calls {
            nodes.insert(row.source.clone(), MapNodeKind::Service);
            nodes.insert(row.target.clone(), MapNodeKind::Service);
            edges.push(edge(
                row.source,
                row.target,
                MapEdgeKind::Calls,
                row.request_count,
                row.error_count,
                row.p95_duration_ns,
            ));
        }
        for row in messaging {
            // The template's one text column, read once here.
            let kind = if row.edge_kind == "publishes" {
                MapEdgeKind::Publishes
            } else {
                MapEdgeKind::Consumes
            };
            let (service, destination) = match kind {
                MapEdgeKind::Publishes => (&row.source, &row.target),
                _ => (&row.target, &row.source),
            };
            nodes.insert(service.clone(), MapNodeKind::Service);
            nodes
                .entry(destination.clone())
                .or_insert(MapNodeKind::Destination);
            edges.push(edge(
                row.source,
                row.target,
                kind,
                row.request_count,
                row.error_count,
                row.p95_duration_ns,
            ));
        }
        for row in link_consumers {
            nodes.insert(row.target.clone(), MapNodeKind::Service);
            nodes
                .entry(row.source.clone())
                .or_insert(MapNodeKind::Destination);
            add_consumes(&mut edges, row);
        }
        Ok(ServiceMapView {
            nodes: nodes
                .into_iter()
                .map(|(id, kind)| MapNodeView { id, kind })
                .collect(),
            edges,
        })
    }
}
