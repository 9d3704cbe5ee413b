//! The dashboard file format (`docs/dashboards.md`): a name, a title and
//! panels, each a named query of the registry, a chart kind, a unit and a
//! place in a 12-column layout. Parsing checks everything a page would
//! trip on (unknown names, missing fields, a chart kind that cannot draw
//! its query's shape, a function where none is read, overlapping places),
//! and every error names the file, the line and the field.

use crate::dashboard::charts::Unit;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;
use tracehouse_query::panels::{FunctionRule, NamedQuery, Shape};

/// Columns of the layout grid.
pub const COLUMNS: u8 = 12;
/// Panels one dashboard may hold.
pub const MAX_PANELS: usize = 60;
/// Bytes a dashboard file may hold.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// How a panel draws its query's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Line,
    Stacked,
    Bar,
    Table,
    Stat,
}

impl ChartKind {
    const ALL: [ChartKind; 5] = [
        ChartKind::Line,
        ChartKind::Stacked,
        ChartKind::Bar,
        ChartKind::Table,
        ChartKind::Stat,
    ];

    /// Whether this kind can draw answers of `shape`.
    pub fn draws(self, shape: Shape) -> bool {
        matches!(
            (self, shape),
            (ChartKind::Line | ChartKind::Stacked, Shape::TimeSeries)
                | (ChartKind::Bar, Shape::Categories | Shape::Histogram)
                | (ChartKind::Table, Shape::Table | Shape::Categories)
                | (ChartKind::Stat, Shape::Stat)
        )
    }

    fn name(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Stacked => "stacked",
            ChartKind::Bar => "bar",
            ChartKind::Table => "table",
            ChartKind::Stat => "stat",
        }
    }
}

/// Where a panel sits: a row (from 1, top first), a first column (1 to 12)
/// and a width in columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub row: u16,
    pub column: u8,
    pub width: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    row: u16,
    column: u8,
    width: u8,
}

impl TryFrom<RawPlace> for Place {
    type Error = String;
    fn try_from(raw: RawPlace) -> Result<Self, String> {
        if raw.row == 0 {
            return Err("field `row`: rows count from 1".to_owned());
        }
        if raw.column == 0 || raw.column > COLUMNS {
            return Err(format!("field `column`: must be 1 to {COLUMNS}"));
        }
        if raw.width == 0 || u16::from(raw.column) + u16::from(raw.width) > u16::from(COLUMNS) + 1 {
            return Err(format!(
                "field `width`: must be at least 1 and end by column {COLUMNS} (column {} + width {})",
                raw.column, raw.width
            ));
        }
        Ok(Place {
            row: raw.row,
            column: raw.column,
            width: raw.width,
        })
    }
}

impl Place {
    fn last_column(self) -> u8 {
        self.column + self.width - 1
    }

    fn overlaps(self, other: Place) -> bool {
        self.row == other.row
            && self.column <= other.last_column()
            && other.column <= self.last_column()
    }
}

/// One panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub query: NamedQuery,
    pub chart: ChartKind,
    pub unit: Unit,
    /// The function read, for queries that read one; a per-function
    /// dashboard's panels read the page's function instead.
    pub function: Option<String>,
    pub place: Place,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    title: String,
    query: NamedQuery,
    chart: ChartKind,
    unit: Unit,
    #[serde(default)]
    function: Option<String>,
    place: Place,
}

impl TryFrom<RawPanel> for Panel {
    type Error = String;
    fn try_from(raw: RawPanel) -> Result<Self, String> {
        let shape = raw.query.shape();
        if !raw.chart.draws(shape) {
            let kinds: Vec<&str> = ChartKind::ALL
                .iter()
                .filter(|kind| kind.draws(shape))
                .map(|kind| kind.name())
                .collect();
            return Err(format!(
                "field `chart`: {} cannot draw {} (query `{}`); use {}",
                raw.chart.name(),
                shape.label(),
                raw.query.name(),
                kinds.join(" or ")
            ));
        }
        if raw.function.is_some() && raw.query.function_rule() == FunctionRule::Refused {
            return Err(format!(
                "field `function`: query `{}` reads every function of the project",
                raw.query.name()
            ));
        }
        if raw.title.trim().is_empty() {
            return Err("field `title`: must not be empty".to_owned());
        }
        Ok(Panel {
            title: raw.title,
            query: raw.query,
            chart: raw.chart,
            unit: raw.unit,
            function: raw.function,
            place: raw.place,
        })
    }
}

/// A dashboard as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Its name in `/dashboards/{name}`.
    pub name: String,
    pub title: String,
    /// Whether its panels read the function of the page (`?function=`).
    pub per_function: bool,
    /// Ordered by row, then column.
    pub panels: Vec<Panel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    name: String,
    title: String,
    #[serde(default)]
    per_function: bool,
    panels: Vec<Panel>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl TryFrom<RawDashboard> for Dashboard {
    type Error = String;
    fn try_from(raw: RawDashboard) -> Result<Self, String> {
        if !valid_name(&raw.name) {
            return Err(format!(
                "field `name`: {:?} must be 1 to 64 of a-z, 0-9, '-' and '_'",
                raw.name
            ));
        }
        if raw.panels.len() > MAX_PANELS {
            return Err(format!("field `panels`: at most {MAX_PANELS} panels"));
        }
        for (index, panel) in raw.panels.iter().enumerate() {
            let needs = panel.query.function_rule() == FunctionRule::Required;
            if needs && panel.function.is_none() && !raw.per_function {
                return Err(format!(
                    "panels[{index}]: field `function`: query `{}` reads one function; name it, or set per_function: true",
                    panel.query.name()
                ));
            }
            if panel.function.is_some() && raw.per_function {
                return Err(format!(
                    "panels[{index}]: field `function`: the panels of a per-function dashboard read the page's function"
                ));
            }
            let earlier = raw.panels.get(..index).unwrap_or_default();
            if let Some(other) = earlier.iter().position(|o| o.place.overlaps(panel.place)) {
                return Err(format!(
                    "panels[{index}]: field `place`: overlaps panels[{other}] in row {}",
                    panel.place.row
                ));
            }
        }
        let mut panels = raw.panels;
        panels.sort_by_key(|panel| (panel.place.row, panel.place.column));
        Ok(Dashboard {
            name: raw.name,
            title: raw.title,
            per_function: raw.per_function,
            panels,
        })
    }
}

/// Deserializes `Raw`, then checks it into `T` inside the same mapping, so
/// that a refusal carries the mapping's line and field path (as a missing
/// field does).
struct Checked<Raw, T>(PhantomData<(Raw, T)>);

impl<'de, Raw, T> Visitor<'de> for Checked<Raw, T>
where
    Raw: Deserialize<'de>,
    T: TryFrom<Raw, Error = String>,
{
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let raw = Raw::deserialize(MapAccessDeserializer::new(map))?;
        T::try_from(raw).map_err(A::Error::custom)
    }
}

macro_rules! checked_from {
    ($raw:ty => $checked:ty) => {
        impl<'de> Deserialize<'de> for $checked {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_map(Checked::<$raw, $checked>(PhantomData))
            }
        }
    };
}

checked_from!(RawPlace => Place);
checked_from!(RawPanel => Panel);
checked_from!(RawDashboard => Dashboard);

/// Why a dashboard file is refused: the file, where in it, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field's path and what is wrong with it, e.g.
    /// ``panels[1].chart: unknown variant `pie` ...``.
    pub message: String,
}

impl fmt::Display for DashboardError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(formatter, ", line {line}")?;
        }
        if let Some(column) = self.column {
            write!(formatter, ", column {column}")?;
        }
        write!(formatter, ": {}", self.message)
    }
}

/// Parses the dashboard `text` of `file` (a name for messages).
pub fn parse(file: &str, text: &str) -> Result<Dashboard, DashboardError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(DashboardError {
            file: file.to_owned(),
            line: None,
            column: None,
            message: format!("larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    yaml_serde::from_str(text).map_err(|error| {
        let location = error.location();
        let mut message = error.to_string();
        if let Some(location) = &location {
            let suffix = format!(" at line {} column {}", location.line(), location.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        DashboardError {
            file: file.to_owned(),
            line: location.as_ref().map(|location| location.line()),
            column: location.as_ref().map(|location| location.column()),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
name: team
title: Team
panels:
  - title: Invocations
    query: invocations_and_errors
    chart: stacked
    unit: count
    place: { row: 1, column: 1, width: 6 }
  - title: Slow
    query: latency_percentiles
    function: checkout
    chart: line
    unit: ms
    place: { row: 1, column: 7, width: 6 }
";

    fn error_of(text: &str) -> DashboardError {
        parse("team.yaml", text).expect_err("refused")
    }

    #[test]
    fn a_valid_file_parses_in_layout_order() {
        let dashboard = parse("team.yaml", GOOD).expect("parses");
        assert_eq!(dashboard.name, "team");
        assert_eq!(dashboard.panels.len(), 2);
        assert_eq!(dashboard.panels[1].function.as_deref(), Some("checkout"));
        assert_eq!(dashboard.panels[1].unit, Unit::Ms);
        assert_eq!(dashboard.panels[1].place.column, 7);
    }

    #[test]
    fn an_unknown_named_query_names_file_line_and_field() {
        let error = error_of(&GOOD.replace("query: latency_percentiles", "query: select_star"));
        assert_eq!(error.file, "team.yaml");
        assert_eq!(error.line, Some(10), "{error}");
        assert!(
            error
                .message
                .starts_with("panels[1].query: unknown variant `select_star`"),
            "{error}"
        );
        assert!(
            error.message.contains("latency_percentiles"),
            "lists the names: {error}"
        );
        assert!(
            error.to_string().starts_with("team.yaml, line 10, column "),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_chart_kind_names_the_field() {
        let error = error_of(&GOOD.replace("chart: line", "chart: pie"));
        assert_eq!(error.line, Some(12), "{error}");
        assert!(
            error
                .message
                .starts_with("panels[1].chart: unknown variant `pie`"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = error_of(&GOOD.replace("    unit: count\n", ""));
        assert_eq!(error.line, Some(4), "the panel's line: {error}");
        assert!(
            error.message.contains("panels[0]: missing field `unit`"),
            "{error}"
        );
        let error = error_of("title: no name\npanels: []\n");
        assert!(error.message.contains("missing field `name`"), "{error}");
    }

    #[test]
    fn a_chart_kind_that_cannot_draw_the_shape_is_refused() {
        let error = error_of(&GOOD.replace("chart: stacked", "chart: stat"));
        assert_eq!(error.line, Some(4), "{error}");
        assert!(
            error.message.starts_with(
                "panels[0]: field `chart`: stat cannot draw a time series (query `invocations_and_errors`); use line or stacked"
            ),
            "{error}"
        );
        let table = GOOD.replace("query: invocations_and_errors", "query: functions");
        let error = error_of(&table);
        assert!(error.message.contains("use table"), "{error}");
    }

    #[test]
    fn functions_are_given_where_read_and_only_there() {
        let refused = GOOD.replace(
            "query: invocations_and_errors\n",
            "query: cost_by_function\n    function: checkout\n",
        );
        let error = error_of(&refused);
        assert!(
            error.message.contains(
                "panels[0]: field `function`: query `cost_by_function` reads every function"
            ),
            "{error}"
        );
        let required = GOOD.replace(
            "query: latency_percentiles\n    function: checkout\n    chart: line",
            "query: latency_histogram\n    chart: bar",
        );
        let error = error_of(&required);
        assert!(
            error.message.contains(
                "panels[1]: field `function`: query `latency_histogram` reads one function"
            ),
            "{error}"
        );
        let per_function = required.replace("title: Team\n", "title: Team\nper_function: true\n");
        assert!(
            parse("team.yaml", &per_function)
                .expect("parses")
                .per_function
        );
    }

    #[test]
    fn places_stay_in_the_grid_and_apart() {
        let error = error_of(&GOOD.replace("column: 7, width: 6", "column: 5, width: 6"));
        assert!(
            error
                .message
                .contains("panels[1]: field `place`: overlaps panels[0] in row 1"),
            "{error}"
        );
        let error = error_of(&GOOD.replace("column: 7, width: 6", "column: 7, width: 7"));
        assert!(
            error.message.starts_with("panels[1].place: field `width`"),
            "{error}"
        );
        assert_eq!(error.line, Some(14), "{error}");
    }

    #[test]
    fn unknown_fields_and_bad_yaml_are_located() {
        let error = error_of(&GOOD.replace("    unit: ms\n", "    unit: ms\n    sql: SELECT 1\n"));
        assert!(
            error.message.contains("panels[1]: unknown field `sql`"),
            "{error}"
        );
        let error = error_of("name: team\ntitle: [unclosed\npanels: []\n");
        assert!(error.line.is_some(), "{error}");
        let error = error_of(&GOOD.replace("name: team", "name: Team Board"));
        assert!(error.message.contains("field `name`"), "{error}");
    }
}
