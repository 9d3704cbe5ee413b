//! The frame every page shares: navigation, the trace-id box, the time
//! range (presets or custom `from`/`to`), the project, and the links that
//! keep all of them. Time range and project live in the query string, so
//! any view can be shared as a URL.

use crate::api::window::resolve_window;
use serde::Deserialize;
use tracehouse_model::time::now_unix_nano;
use tracehouse_model::ProjectId;
use tracehouse_query::{QueryLimits, TimeWindow};

/// The frame's query parameters, read by every page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FrameParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub project: Option<String>,
}

/// The part of the dashboard a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Functions,
    Traces,
    BrokenChains,
    Map,
    Alerts,
    Dashboards,
    None,
}

const NAVIGATION: [(Section, &str, &str); 7] = [
    (Section::Overview, "Overview", "/"),
    (Section::Functions, "Functions", "/functions"),
    (Section::Traces, "Traces", "/traces"),
    (Section::BrokenChains, "Broken chains", "/chains/broken"),
    (Section::Map, "Map", "/map"),
    (Section::Alerts, "Alerts", "/alerts"),
    (Section::Dashboards, "Dashboards", "/dashboards"),
];

/// Time-range presets: label and `from`.
const PRESETS: [(&str, &str); 5] = [
    ("15m", "now-15m"),
    ("1h", "now-1h"),
    ("6h", "now-6h"),
    ("24h", "now-24h"),
    ("7d", "now-7d"),
];

/// A link of the frame.
#[derive(Debug, Clone)]
pub struct Link {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A hidden form field that keeps a parameter.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub name: String,
    pub value: String,
}

/// The frame of one page.
#[derive(Debug, Clone)]
pub struct Frame {
    /// `from` as given (default `now-1h`).
    pub from: String,
    /// `to` as given (default `now`).
    pub to: String,
    pub project: ProjectId,
    /// Projects offered by the selector (the current one included).
    pub projects: Vec<String>,
    pub section: Section,
    /// The page's path, for links that change only the range or project.
    pub path: String,
    /// Page parameters kept by range and project links (sort, filters).
    pub keep: Vec<(String, String)>,
    /// The resolved time range.
    pub window: TimeWindow,
    /// The user signed in by session, for the name and logout form (none when open).
    pub signed_in: Option<crate::access::SignedIn>,
}

/// Why the frame's parameters were refused.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError(pub String);

impl Frame {
    /// The frame of a page at `path` in `section`; an error names the bad parameter.
    pub fn resolve(
        params: &FrameParams,
        section: Section,
        path: &str,
        limits: &QueryLimits,
    ) -> Result<Self, FrameError> {
        let mut frame = Self::fallback(section, path);
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        if let Some(name) = given(&params.project) {
            frame.project =
                ProjectId::new(&name).map_err(|error| FrameError(format!("project: {error}")))?;
        }
        frame.projects = vec![frame.project.to_string()];
        frame.from = given(&params.from).unwrap_or(frame.from);
        frame.to = given(&params.to).unwrap_or(frame.to);
        frame.window = resolve_window(Some(&frame.from), Some(&frame.to), now_unix_nano(), limits)
            .map_err(|error| FrameError(error.message().to_owned()))?;
        Ok(frame)
    }

    /// The default frame (last hour, default project), for pages whose parameters were refused.
    pub fn fallback(section: Section, path: &str) -> Self {
        let now = now_unix_nano();
        Self {
            from: "now-1h".to_owned(),
            to: "now".to_owned(),
            project: ProjectId::default(),
            projects: vec![ProjectId::default().to_string()],
            section,
            path: path.to_owned(),
            keep: Vec::new(),
            signed_in: None,
            window: TimeWindow {
                start_unix_nano: now.saturating_sub(3_600_000_000_000),
                end_unix_nano: now,
            },
        }
    }

    /// Offers `projects` in the selector, keeping the current one.
    pub fn offer_projects(&mut self, projects: Vec<String>) {
        let current = self.project.to_string();
        let mut all = projects;
        if !all.contains(&current) {
            all.push(current);
        }
        all.sort();
        all.dedup();
        self.projects = all;
    }

    /// Keeps page parameters (non-empty ones) in range and project links.
    pub fn keep_params(&mut self, params: &[(&str, &str)]) {
        self.keep = params
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
    }

    fn frame_pairs(&self, from: &str, to: &str) -> Vec<(String, String)> {
        vec![
            ("from".to_owned(), from.to_owned()),
            ("to".to_owned(), to.to_owned()),
            ("project".to_owned(), self.project.to_string()),
        ]
    }

    /// `path` with the frame's range and project.
    pub fn href(&self, path: &str) -> String {
        with_query(path, &self.frame_pairs(&self.from, &self.to))
    }

    /// `path` with the frame and extra parameters.
    pub fn href_with(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = self.frame_pairs(&self.from, &self.to);
        pairs.extend(
            extra
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        with_query(path, &pairs)
    }

    /// The trace page of `trace_id` (hex) in this frame.
    pub fn trace_href(&self, trace_id: &str) -> String {
        self.href(&format!("/traces/{}", encode(trace_id)))
    }

    /// One span on its trace's page in this frame.
    pub fn span_href(&self, trace_id: &str, span_id: &str) -> String {
        format!("{}#span-{}", self.trace_href(trace_id), encode(span_id))
    }

    /// The function page of `function` in this frame.
    pub fn function_href(&self, function: &str) -> String {
        self.href(&format!("/functions/{}", encode(function)))
    }

    /// The navigation bar.
    pub fn navigation(&self) -> Vec<Link> {
        NAVIGATION
            .iter()
            .map(|(section, label, path)| Link {
                label,
                href: self.href(path),
                current: *section == self.section,
            })
            .collect()
    }

    /// The preset ranges for this page, keeping its parameters.
    pub fn presets(&self) -> Vec<Link> {
        PRESETS
            .iter()
            .map(|(label, from)| {
                let mut pairs = self.frame_pairs(from, "now");
                pairs.extend(self.keep.iter().cloned());
                Link {
                    label,
                    href: with_query(&self.path, &pairs),
                    current: self.from == *from && self.to == "now",
                }
            })
            .collect()
    }

    /// Whether the range is one of the presets.
    pub fn is_preset(&self) -> bool {
        self.to == "now" && PRESETS.iter().any(|(_, from)| *from == self.from)
    }

    /// Hidden fields for the range form (project and page parameters).
    pub fn hidden_for_range(&self) -> Vec<Hidden> {
        let mut fields = vec![Hidden {
            name: "project".to_owned(),
            value: self.project.to_string(),
        }];
        fields.extend(self.keep_fields());
        fields
    }

    /// Hidden fields for the project form (range and page parameters).
    pub fn hidden_for_project(&self) -> Vec<Hidden> {
        let mut fields = vec![
            Hidden {
                name: "from".to_owned(),
                value: self.from.clone(),
            },
            Hidden {
                name: "to".to_owned(),
                value: self.to.clone(),
            },
        ];
        fields.extend(self.keep_fields());
        fields
    }

    /// Hidden fields that keep only the range and project (for page forms).
    pub fn hidden_frame(&self) -> Vec<Hidden> {
        self.frame_pairs(&self.from, &self.to)
            .into_iter()
            .map(|(name, value)| Hidden { name, value })
            .collect()
    }

    fn keep_fields(&self) -> Vec<Hidden> {
        self.keep
            .iter()
            .map(|(name, value)| Hidden {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    }

    /// The stylesheet's current address.
    pub fn stylesheet_href(&self) -> String {
        super::assets::stylesheet_href()
    }

    /// The script's current address.
    pub fn script_href(&self) -> String {
        super::assets::script_href()
    }

    /// The range as a person reads it.
    pub fn describe_range(&self) -> String {
        format!(
            "{} to {} UTC",
            super::format::instant(self.window.start_unix_nano),
            super::format::instant(self.window.end_unix_nano)
        )
    }

    /// A step for charts over the range: a round length giving at most 60 buckets.
    pub fn chart_step_seconds(&self) -> u32 {
        const STEPS: [u32; 10] = [60, 120, 300, 600, 900, 1800, 3600, 10_800, 21_600, 86_400];
        let length = self
            .window
            .end_unix_nano
            .saturating_sub(self.window.start_unix_nano)
            .div_ceil(1_000_000_000);
        STEPS
            .iter()
            .copied()
            .find(|step| length / u64::from(*step) <= 60)
            .unwrap_or(86_400)
    }

    /// The window of the same length just before this one.
    pub fn previous_window(&self) -> TimeWindow {
        let length = self
            .window
            .end_unix_nano
            .saturating_sub(self.window.start_unix_nano);
        TimeWindow {
            start_unix_nano: self.window.start_unix_nano.saturating_sub(length),
            end_unix_nano: self.window.start_unix_nano.saturating_sub(1),
        }
    }
}

/// `path?name=value&...`, every name and value percent-encoded.
pub fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Percent-encoding of everything but unreserved characters (RFC 3986).
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(from: &str, to: &str, project: &str) -> FrameParams {
        FrameParams {
            from: Some(from.to_owned()),
            to: Some(to.to_owned()),
            project: Some(project.to_owned()),
        }
    }

    #[test]
    fn every_link_keeps_range_and_project() {
        let mut frame = Frame::resolve(
            &params("now-6h", "now", "shop"),
            Section::Functions,
            "/functions",
            &QueryLimits::default(),
        )
        .expect("valid");
        frame.keep_params(&[("sort", "cost_usd"), ("name", "")]);
        assert_eq!(frame.href("/map"), "/map?from=now-6h&to=now&project=shop");
        assert_eq!(
            frame.function_href("a b/<c>"),
            "/functions/a%20b%2F%3Cc%3E?from=now-6h&to=now&project=shop"
        );
        let presets = frame.presets();
        assert_eq!(
            presets[0].href,
            "/functions?from=now-15m&to=now&project=shop&sort=cost_usd"
        );
        assert!(presets[2].current && frame.is_preset());
        let navigation = frame.navigation();
        assert_eq!(navigation.len(), 7);
        assert!(navigation[1].current);
        assert_eq!(
            navigation[5].href,
            "/alerts?from=now-6h&to=now&project=shop"
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let error = Frame::resolve(
            &params("yesterday", "now", "default"),
            Section::None,
            "/",
            &QueryLimits::default(),
        )
        .expect_err("bad from");
        assert!(error.0.starts_with("from"), "{}", error.0);
        let error = Frame::resolve(
            &params("now-1h", "now", "Bad Project"),
            Section::None,
            "/",
            &QueryLimits::default(),
        )
        .expect_err("bad project");
        assert!(error.0.starts_with("project"), "{}", error.0);
        let frame = Frame::resolve(
            &FrameParams::default(),
            Section::None,
            "/",
            &QueryLimits::default(),
        )
        .expect("defaults");
        assert_eq!((frame.from.as_str(), frame.to.as_str()), ("now-1h", "now"));
        assert_eq!(frame.project.to_string(), "default");
    }

    #[test]
    fn the_previous_window_has_the_same_length() {
        let frame = Frame::resolve(
            &params("1000", "2000", "default"),
            Section::None,
            "/",
            &QueryLimits::default(),
        )
        .expect("valid");
        assert_eq!(frame.chart_step_seconds(), 60);
        let previous = frame.previous_window();
        assert_eq!(previous.end_unix_nano, 1_000_000_000 - 1);
        assert_eq!(previous.start_unix_nano, 0);
    }
}
