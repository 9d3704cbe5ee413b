//! Panels of a declared dashboard, drawn: every panel's named query runs
//! at once (one page's reads, each made once), then each answer is drawn as
//! its panel's chart kind. A panel whose query says "not found" or "bad
//! request" shows that message in its place; storage failing fails the page.

use super::spec::{ChartKind, Dashboard, Panel};
use crate::dashboard::charts::{self, Bar, HistogramBin, Series, Svg, TimeChart, TimeKind, Unit};
use crate::dashboard::format::{self, Change, Trend};
use crate::dashboard::frame::Frame;
use tracehouse_query::panels::{
    Better, Category, Cell, PanelData, PanelReads, PanelRequest, Stat, Table, TimeSeries,
};
use tracehouse_query::{QueryError, QueryService};

/// A headline figure.
pub struct TileView {
    pub value: String,
    pub change: Change,
    pub sparkline: Svg,
}

/// A table's header and rows of written cells; a row may link.
pub struct TableView {
    pub columns: Vec<String>,
    pub rows: Vec<(Option<String>, Vec<String>)>,
}

/// What a panel shows.
pub enum PanelBody {
    Chart(Svg),
    Tile(TileView),
    Table(TableView),
    /// Why its query has no answer.
    Message(String),
}

/// One drawn panel with its layout classes.
pub struct PanelView {
    pub title: String,
    /// `col-N span-N` on the row's 12-column grid.
    pub classes: String,
    pub body: PanelBody,
}

impl PanelView {
    /// The chart, for a chart panel.
    pub fn chart(&self) -> Option<&Svg> {
        match &self.body {
            PanelBody::Chart(svg) => Some(svg),
            _ => None,
        }
    }

    /// The figure, for a stat panel.
    pub fn tile(&self) -> Option<&TileView> {
        match &self.body {
            PanelBody::Tile(tile) => Some(tile),
            _ => None,
        }
    }

    /// The rows, for a table panel.
    pub fn table(&self) -> Option<&TableView> {
        match &self.body {
            PanelBody::Table(table) => Some(table),
            _ => None,
        }
    }

    /// Why there is no answer.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            PanelBody::Message(message) => Some(message),
            _ => None,
        }
    }
}

/// The panels of one row, left to right.
pub struct RowView {
    pub panels: Vec<PanelView>,
}

/// The request every panel of `frame` shares.
pub fn request(frame: &Frame) -> PanelRequest {
    PanelRequest {
        project: frame.project.clone(),
        window: frame.window,
        previous: frame.previous_window(),
        step_seconds: frame.chart_step_seconds(),
    }
}

/// Reads for a page of `frame`.
pub fn reads<'a>(query: &'a QueryService, frame: &Frame) -> PanelReads<'a> {
    PanelReads::new(query, request(frame))
}

/// Runs every panel of `dashboard` together and draws them in rows;
/// `function` is the page's, for a per-function dashboard.
pub async fn draw(
    reads: &PanelReads<'_>,
    frame: &Frame,
    dashboard: &Dashboard,
    function: Option<&str>,
) -> Result<Vec<RowView>, QueryError> {
    let answers = futures::future::join_all(dashboard.panels.iter().map(|panel| {
        let function = panel.function.as_deref().or(function);
        reads.run(panel.query, function)
    }))
    .await;
    let mut rows: Vec<(u16, RowView)> = Vec::new();
    for (panel, answer) in dashboard.panels.iter().zip(answers) {
        let body = match answer {
            Ok(data) => body(frame, panel, data),
            Err(QueryError::NotFound(what)) => {
                PanelBody::Message(format!("No data: {what} not found in this time range."))
            }
            Err(QueryError::BadRequest(message)) => PanelBody::Message(message),
            Err(error) => return Err(error),
        };
        let view = PanelView {
            title: panel.title.clone(),
            classes: format!("col-{} span-{}", panel.place.column, panel.place.width),
            body,
        };
        match rows.last_mut() {
            Some((row, current)) if *row == panel.place.row => current.panels.push(view),
            _ => rows.push((panel.place.row, RowView { panels: vec![view] })),
        }
    }
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// An answer drawn as the panel's chart kind (checked at parse to fit).
fn body(frame: &Frame, panel: &Panel, data: PanelData) -> PanelBody {
    let (title, unit) = (panel.title.as_str(), panel.unit);
    match (panel.chart, data) {
        (ChartKind::Line, PanelData::TimeSeries(series)) => {
            PanelBody::Chart(time_chart(title, unit, TimeKind::Line, series))
        }
        (ChartKind::Stacked, PanelData::TimeSeries(series)) => {
            PanelBody::Chart(time_chart(title, unit, TimeKind::Stacked, series))
        }
        (ChartKind::Bar, PanelData::Categories(items)) => {
            PanelBody::Chart(charts::bars(title, &bars(frame, &items), unit))
        }
        (ChartKind::Bar, PanelData::Histogram { series, bins }) => {
            let labels: Vec<&str> = series.iter().map(String::as_str).collect();
            let bins: Vec<HistogramBin> = bins
                .into_iter()
                .map(|(upper_bound, counts)| HistogramBin {
                    upper_bound,
                    counts,
                })
                .collect();
            PanelBody::Chart(charts::histogram(title, &labels, &bins, unit))
        }
        (ChartKind::Table, PanelData::Table(table)) => PanelBody::Table(table_view(frame, table)),
        (ChartKind::Table, PanelData::Categories(items)) => {
            PanelBody::Table(category_table(frame, unit, &items))
        }
        (ChartKind::Stat, PanelData::Stat(stat)) => PanelBody::Tile(tile(title, unit, &stat)),
        (chart, _) => PanelBody::Message(format!("a {chart:?} chart cannot draw this answer")),
    }
}

fn time_chart(title: &str, unit: Unit, kind: TimeKind, data: TimeSeries) -> Svg {
    charts::time_chart(&TimeChart {
        title: title.to_owned(),
        unit,
        kind,
        times_ms: data.times_ms,
        step_ms: data.step_ms,
        series: data
            .series
            .into_iter()
            .map(|series| Series {
                label: series.label,
                values: series.values,
            })
            .collect(),
    })
}

fn bars(frame: &Frame, items: &[Category]) -> Vec<Bar> {
    items
        .iter()
        .map(|item| Bar {
            label: item.label.clone(),
            value: item.value,
            href: item
                .function
                .as_deref()
                .map(|name| frame.function_href(name)),
        })
        .collect()
}

/// A figure of `unit`, or `unknown`.
fn figure(unit: Unit, value: Option<f64>) -> String {
    match (unit, value) {
        (Unit::Ms, value) => format::ms(value),
        (Unit::Usd, value) => format::usd(value),
        (_, Some(value)) => unit.format(value),
        (_, None) => "unknown".to_owned(),
    }
}

fn tile(title: &str, unit: Unit, stat: &Stat) -> TileView {
    let (current, previous) = stat.change.unwrap_or((0.0, 0.0));
    let mut change = format::change(current, previous, true);
    if stat.better == Better::Neither {
        change.trend = Trend::Same;
    }
    TileView {
        value: figure(unit, stat.value),
        change,
        sparkline: charts::sparkline(title, &stat.trend, unit),
    }
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Count(count) => format::count(*count),
        Cell::Ratio(ratio) => format::percent(*ratio),
        Cell::Ms(ms) => format::ms(*ms),
        Cell::Usd(usd) => format::usd(*usd),
    }
}

fn table_view(frame: &Frame, table: Table) -> TableView {
    TableView {
        columns: table.columns,
        rows: table
            .rows
            .iter()
            .map(|row| {
                let href = row
                    .function
                    .as_deref()
                    .map(|name| frame.function_href(name));
                (href, row.cells.iter().map(cell_text).collect())
            })
            .collect(),
    }
}

fn category_table(frame: &Frame, unit: Unit, items: &[Category]) -> TableView {
    TableView {
        columns: vec!["Item".to_owned(), "Value".to_owned()],
        rows: items
            .iter()
            .map(|item| {
                let href = item
                    .function
                    .as_deref()
                    .map(|name| frame.function_href(name));
                (
                    href,
                    vec![item.label.clone(), figure(unit, Some(item.value))],
                )
            })
            .collect(),
    }
}
