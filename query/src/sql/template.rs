//! A query template: SQL with named, typed placeholders `{name:Type}` and
//! named fragments `{fragment}`, turned once into the positional `?` form
//! the clickhouse crate binds.
//!
//! The clickhouse crate reads every `?` as a placeholder, also inside an SQL
//! comment or a string literal, so a stray `?` would shift every value bound
//! after it. A template therefore never holds a raw `?` (only `?fields`):
//! parsing fails, and [`Template::check`] compares the placeholders the
//! crate will see with the values bound.
//!
//! A fragment whose documentation has the line `-- switch: flag` is a
//! condition that holds whenever the UInt8 placeholder `flag` is bound as 1
//! (`({all_functions:UInt8} OR function IN (...))`). A template is parsed once
//! more for each combination of the switches it includes, those fragments
//! read as `1`, and a query bound with such a flag as 1 runs that variant:
//! ClickHouse then builds no set for a condition that cannot fail.

use super::params::{Params, Value};
use crate::error::QueryError;
use std::collections::BTreeMap;

/// Placeholder types a template may declare.
const TYPES: [&str; 5] = ["String", "UInt8", "UInt32", "UInt64", "Array(String)"];

/// How deep fragments may name other fragments.
const MAX_FRAGMENT_DEPTH: usize = 8;

/// A named piece of SQL that templates include as `{name}`.
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    pub name: &'static str,
    /// The file text; leading comment lines are its documentation and are not inlined.
    pub text: &'static str,
}

impl Fragment {
    /// The flag of a switch fragment: the placeholder that, bound as 1,
    /// makes the fragment true (its `-- switch: flag` line).
    pub fn switch(&self) -> Option<&'static str> {
        self.text
            .lines()
            .take_while(|line| line.trim_start().starts_with("--"))
            .find_map(|line| line.trim().strip_prefix("-- switch:"))
            .map(str::trim)
    }

    /// The SQL inlined for `{name}`.
    fn body(&self) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .skip_while(|line| line.trim_start().starts_with("--"))
            .collect();
        lines.join("\n").trim_end().to_owned()
    }
}

/// One placeholder occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub clickhouse_type: String,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Placeholder(usize),
}

/// A parsed template; see the module documentation.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file name, e.g. `function_stats.sql`.
    pub name: &'static str,
    parts: Vec<Part>,
    placeholders: Vec<Placeholder>,
    sql: String,
    /// Sample literals by placeholder name, from the `-- params:` line.
    samples: BTreeMap<String, String>,
    has_params_line: bool,
    error: Option<String>,
    /// The template with some switch fragments read as `1`, by the flags
    /// of those fragments (sorted); see the module documentation.
    variants: Vec<(Vec<&'static str>, Template)>,
}

impl Template {
    /// Parses `text`, inlining `fragments`. A malformed template is kept
    /// with its error, which [`Self::check`] reports.
    pub fn parse(name: &'static str, text: &str, fragments: &[Fragment]) -> Self {
        let mut template = Self::parse_switched(name, text, fragments, &[]);
        let switches: Vec<&Fragment> = fragments
            .iter()
            .filter(|fragment| fragment.switch().is_some())
            .filter(|fragment| {
                Self::parse_switched(name, text, fragments, &[fragment.name]).sql != template.sql
            })
            .collect();
        for combination in 1..(1usize << switches.len()) {
            let chosen: Vec<&Fragment> = (0..switches.len())
                .filter(|bit| combination & (1 << bit) != 0)
                .filter_map(|bit| switches.get(bit).copied())
                .collect();
            let names: Vec<&str> = chosen.iter().map(|fragment| fragment.name).collect();
            let mut flags: Vec<&'static str> = chosen.iter().filter_map(|f| f.switch()).collect();
            flags.sort_unstable();
            let variant = Self::parse_switched(name, text, fragments, &names);
            template.variants.push((flags, variant));
        }
        template
    }

    /// [`Self::parse`] with the fragments named in `switched_on` read as `1`.
    fn parse_switched(
        name: &'static str,
        text: &str,
        fragments: &[Fragment],
        switched_on: &[&str],
    ) -> Self {
        let mut parser = Parser {
            fragments,
            switched_on,
            parts: Vec::new(),
            placeholders: Vec::new(),
            text: String::new(),
            errors: Vec::new(),
        };
        parser.expand(text, 0);
        parser.flush();
        let params_line = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("-- params:"));
        let samples = parse_samples(params_line.unwrap_or(""));
        let error = (!parser.errors.is_empty()).then(|| parser.errors.join("; "));
        let sql = parser
            .parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Placeholder(_) => "?",
            })
            .collect();
        Self {
            name,
            parts: parser.parts,
            placeholders: parser.placeholders,
            sql,
            samples,
            has_params_line: params_line.is_some(),
            error,
            variants: Vec::new(),
        }
    }

    /// The variant that runs when `on(flag)` says which flags are bound as
    /// 1: the template itself when none of its switches is on.
    fn variant(&self, on: impl Fn(&str) -> bool) -> &Self {
        let mut flags: Vec<&str> = self
            .variants
            .iter()
            .flat_map(|(flags, _)| flags.iter().copied())
            .filter(|flag| on(flag))
            .collect();
        flags.sort_unstable();
        flags.dedup();
        self.variants
            .iter()
            .find(|(variant_flags, _)| *variant_flags == flags)
            .map_or(self, |(_, variant)| variant)
    }

    /// The variant a query bound with `params` runs.
    fn variant_for(&self, params: &Params) -> &Self {
        self.variant(|flag| params.get(flag) == Some(&Value::UInt8(1)))
    }

    /// The template and each of its variants.
    fn with_variants(&self) -> impl Iterator<Item = &Self> {
        std::iter::once(self).chain(self.variants.iter().map(|(_, variant)| variant))
    }

    /// The SQL as the clickhouse crate gets it: one `?` per placeholder occurrence.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Placeholder occurrences in order.
    pub fn placeholders(&self) -> &[Placeholder] {
        &self.placeholders
    }

    /// Placeholder names with their declared types.
    pub fn names(&self) -> BTreeMap<&str, &str> {
        self.placeholders
            .iter()
            .map(|p| (p.name.as_str(), p.clickhouse_type.as_str()))
            .collect()
    }

    /// Why `params` cannot be bound: a parse error, a placeholder without a
    /// value or with a value of another type, a value without a placeholder,
    /// or a `?` the crate would read that is not a placeholder.
    pub fn check(&self, params: &Params) -> Result<(), String> {
        let mut problems: Vec<String> = self.error.iter().cloned().collect();
        let names = self.names();
        for (name, declared) in &names {
            match params.get(name) {
                None => problems.push(format!("no value for {{{name}:{declared}}}")),
                Some(value) if value.clickhouse_type() != *declared => problems.push(format!(
                    "{{{name}:{declared}}} bound as {}",
                    value.clickhouse_type()
                )),
                Some(_) => {}
            }
        }
        for name in params.names() {
            if !names.contains_key(name) {
                problems.push(format!("{name} is bound but not a placeholder"));
            }
        }
        for template in self.with_variants() {
            let seen_by_crate = crate_placeholders(&template.sql);
            if seen_by_crate != template.placeholders.len() {
                problems.push(format!(
                    "the clickhouse crate sees {seen_by_crate} placeholders, the template has {}",
                    template.placeholders.len()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", self.name, problems.join("; ")))
        }
    }

    /// A query with every placeholder bound from `params`.
    pub fn query(
        &self,
        client: &clickhouse::Client,
        params: &Params,
    ) -> Result<clickhouse::query::Query, QueryError> {
        self.check(params).map_err(QueryError::Template)?;
        let variant = self.variant_for(params);
        let mut query = client.query(&variant.sql);
        for placeholder in &variant.placeholders {
            if let Some(value) = params.get(&placeholder.name) {
                query = query.bind(value);
            }
        }
        Ok(query)
    }

    /// Sample values by name, from the `-- params: name = literal, ...` line.
    pub fn samples(&self) -> &BTreeMap<String, String> {
        &self.samples
    }

    /// Whether the answer depends on the server's clock (`now()`), so that
    /// no golden answer can hold it.
    pub fn reads_clock(&self) -> bool {
        self.sql.contains("now()")
    }

    /// Whether the template has a `-- params:` line.
    pub fn has_params_line(&self) -> bool {
        self.has_params_line
    }

    /// The SQL with each placeholder replaced by its sample literal and
    /// `?fields` by `*`, for the dialect checks; `None` when a sample is missing.
    pub fn sample_sql(&self) -> Option<String> {
        self.sample_sql_with(&BTreeMap::new())
    }

    /// As [`Self::sample_sql`], with some samples replaced by `overrides`
    /// (name to literal); overrides of names the template lacks are ignored.
    /// The variant is the one a query bound with those values runs.
    pub fn sample_sql_with(&self, overrides: &BTreeMap<&str, String>) -> Option<String> {
        let literal = |name: &str| overrides.get(name).or_else(|| self.samples.get(name));
        let variant = self.variant(|flag| literal(flag).is_some_and(|value| value.trim() == "1"));
        variant.render_samples(overrides)
    }

    /// The sample SQL of the template and of each of its variants, for the
    /// checks that every one runs; `None` when a sample is missing.
    pub fn every_sample_sql(&self) -> Option<Vec<String>> {
        self.with_variants()
            .map(|template| template.render_samples(&BTreeMap::new()))
            .collect()
    }

    /// This template's own SQL with samples and `overrides` for placeholders.
    fn render_samples(&self, overrides: &BTreeMap<&str, String>) -> Option<String> {
        let mut sql = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => sql.push_str(&text.replace("?fields", "*")),
                Part::Placeholder(index) => {
                    let name = &self.placeholders.get(*index)?.name;
                    match overrides.get(name.as_str()) {
                        Some(literal) => sql.push_str(literal),
                        None => sql.push_str(self.samples.get(name)?),
                    }
                }
            }
        }
        Some(sql)
    }

    /// Sample values as [`Params`] are not typed; this says whether the
    /// samples name exactly the placeholders.
    pub fn samples_match(&self) -> bool {
        let names = self.names();
        self.samples.len() == names.len()
            && self
                .samples
                .keys()
                .all(|name| names.contains_key(name.as_str()))
    }

    /// The `LIMIT` the statement ends with: every template has one, so no
    /// read returns rows without end (the template tests enforce it).
    pub fn final_limit(&self) -> Option<FinalLimit> {
        let code: Vec<&str> = self
            .sql
            .lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .flat_map(str::split_whitespace)
            .collect();
        match code.as_slice() {
            [.., keyword, "?"] if keyword.eq_ignore_ascii_case("LIMIT") => Some(FinalLimit::Bound),
            [.., keyword, rows] if keyword.eq_ignore_ascii_case("LIMIT") => {
                rows.parse().ok().map(FinalLimit::Rows)
            }
            _ => None,
        }
    }
}

/// How a template's final `LIMIT` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalLimit {
    /// By a bound placeholder (`LIMIT {limit:UInt64}`).
    Bound,
    /// A number written in the template.
    Rows(u64),
}

/// Placeholders as the clickhouse crate counts them: each `?` that is not
/// `??` or `?fields`.
fn crate_placeholders(sql: &str) -> usize {
    let mut count = 0;
    let mut rest = sql;
    while let Some(index) = rest.find('?') {
        let after = &rest[index + 1..];
        if let Some(escaped) = after.strip_prefix('?') {
            rest = escaped;
            continue;
        }
        if let Some(fields) = after.strip_prefix("fields") {
            rest = fields;
            continue;
        }
        count += 1;
        rest = after;
    }
    count
}

struct Parser<'a> {
    fragments: &'a [Fragment],
    /// Switch fragments read as `1`.
    switched_on: &'a [&'a str],
    parts: Vec<Part>,
    placeholders: Vec<Placeholder>,
    text: String,
    errors: Vec<String>,
}

impl Parser<'_> {
    fn flush(&mut self) {
        if !self.text.is_empty() {
            self.parts.push(Part::Text(std::mem::take(&mut self.text)));
        }
    }

    /// Copies `sql`, replacing placeholders and fragments outside comments
    /// and string literals, and refusing every raw `?` but `?fields`.
    fn expand(&mut self, sql: &str, depth: usize) {
        let mut rest = sql;
        while let Some(character) = rest.chars().next() {
            let consumed = if rest.starts_with("--") {
                self.copy_checked(until_line_end(rest), "comment")
            } else if character == '\'' {
                self.copy_checked(string_literal(rest), "string literal")
            } else if character == '{' {
                self.brace(rest, depth)
            } else if rest.starts_with("?fields") {
                self.text.push_str("?fields");
                "?fields".len()
            } else if character == '?' {
                self.errors.push(
                    "a raw ? (write a {name:Type} placeholder; the crate binds every ?)".to_owned(),
                );
                1
            } else {
                self.text.push(character);
                character.len_utf8()
            };
            rest = &rest[consumed..];
        }
    }

    fn copy_checked(&mut self, piece: &str, what: &str) -> usize {
        if piece.contains('?') {
            self.errors.push(format!(
                "a ? in a {what} (the clickhouse crate reads it as a placeholder): {}",
                piece.trim()
            ));
        }
        self.text.push_str(piece);
        piece.len()
    }

    /// `{name:Type}` or `{fragment}`; returns the bytes consumed.
    fn brace(&mut self, rest: &str, depth: usize) -> usize {
        let Some(end) = rest.find('}').filter(|end| !rest[..*end].contains('\n')) else {
            self.text.push('{');
            return 1;
        };
        let inner = &rest[1..end];
        match inner.split_once(':') {
            Some((name, clickhouse_type)) => self.placeholder(name, clickhouse_type),
            None => self.fragment(inner, depth),
        }
        end + 1
    }

    fn placeholder(&mut self, name: &str, clickhouse_type: &str) {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            self.errors.push(format!("bad placeholder name {name:?}"));
        }
        if !TYPES.contains(&clickhouse_type) {
            self.errors.push(format!(
                "{{{name}:{clickhouse_type}}}: type not one of {TYPES:?}"
            ));
        }
        if let Some(earlier) = self.placeholders.iter().find(|p| p.name == name) {
            if earlier.clickhouse_type != clickhouse_type {
                self.errors.push(format!("{name} declared with two types"));
            }
        }
        self.flush();
        self.parts.push(Part::Placeholder(self.placeholders.len()));
        self.placeholders.push(Placeholder {
            name: name.to_owned(),
            clickhouse_type: clickhouse_type.to_owned(),
        });
    }

    fn fragment(&mut self, name: &str, depth: usize) {
        let Some(fragment) = self.fragments.iter().find(|f| f.name == name) else {
            self.errors.push(format!("unknown fragment {{{name}}}"));
            return;
        };
        if self.switched_on.contains(&name) {
            self.text.push('1');
            return;
        }
        if depth >= MAX_FRAGMENT_DEPTH {
            self.errors
                .push(format!("fragments nested deeper than {MAX_FRAGMENT_DEPTH}"));
            return;
        }
        self.expand(&fragment.body(), depth + 1);
    }
}

fn until_line_end(text: &str) -> &str {
    match text.find('\n') {
        Some(end) => &text[..end],
        None => text,
    }
}

/// The literal at the start of `text`, quotes included (`\'` and `''` escape).
fn string_literal(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut index = 1;
    while let Some(byte) = bytes.get(index) {
        match byte {
            b'\\' => index += 2,
            b'\'' if bytes.get(index + 1) == Some(&b'\'') => index += 2,
            b'\'' => return &text[..=index],
            _ => index += 1,
        }
    }
    text
}

/// `name = literal, ...`, split on top-level commas.
fn parse_samples(line: &str) -> BTreeMap<String, String> {
    split_literals(line)
        .into_iter()
        .filter_map(|pair| {
            let (name, literal) = pair.split_once('=')?;
            Some((name.trim().to_owned(), literal.trim().to_owned()))
        })
        .collect()
}

/// Splits `a, 'b,c', [1, 2]` on top-level commas.
fn split_literals(text: &str) -> Vec<String> {
    let (mut parts, mut current) = (Vec::new(), String::new());
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for character in text.chars() {
        if quoted {
            current.push(character);
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '\'' {
                quoted = false;
            }
            continue;
        }
        match character {
            '\'' => quoted = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Fragment = Fragment {
        name: "scope",
        text: "-- The project: {project}.\nproject = {project:String}",
    };

    fn parse(text: &str) -> Template {
        Template::parse("test.sql", text, &[SCOPE])
    }

    #[test]
    fn named_placeholders_become_positional_in_order() {
        let template = parse(
            "-- params: project = 'p', limit = 5\nSELECT ?fields FROM t WHERE {scope} AND x = {project:String} LIMIT {limit:UInt64}",
        );
        assert_eq!(
            template.sql(),
            "-- params: project = 'p', limit = 5\nSELECT ?fields FROM t WHERE project = ? AND x = ? LIMIT ?"
        );
        let params = Params::new().set("project", "p").set("limit", 5u64);
        assert_eq!(template.check(&params), Ok(()));
        assert!(template.samples_match());
        assert_eq!(
            template.sample_sql().as_deref(),
            Some("-- params: project = 'p', limit = 5\nSELECT * FROM t WHERE project = 'p' AND x = 'p' LIMIT 5")
        );
    }

    #[test]
    fn the_final_limit_is_found_past_comments() {
        let bound = parse("SELECT a FROM t\nLIMIT {limit:UInt64}\n");
        assert_eq!(bound.final_limit(), Some(FinalLimit::Bound));
        let fixed = parse("SELECT a FROM t\nlimit 1000001 -- backstop\n-- trailing comment\n");
        assert_eq!(fixed.final_limit(), Some(FinalLimit::Rows(1_000_001)));
        let inner = parse("SELECT a FROM (SELECT a FROM t LIMIT 5) ORDER BY a");
        assert_eq!(inner.final_limit(), None);
        assert_eq!(parse("SELECT a FROM t").final_limit(), None);
    }

    #[test]
    fn binds_that_disagree_with_placeholders_fail_the_check() {
        let template = parse("SELECT 1 WHERE a = {a:String} AND b = {b:UInt32}");
        let missing = template.check(&Params::new().set("a", "x"));
        assert!(missing.is_err_and(|why| why.contains("no value for {b:UInt32}")));
        let extra = Params::new().set("a", "x").set("b", 1u32).set("c", 1u32);
        assert!(template
            .check(&extra)
            .is_err_and(|why| why.contains("c is bound")));
        let wrong_type = Params::new().set("a", "x").set("b", 1u64);
        assert!(template
            .check(&wrong_type)
            .is_err_and(|why| why.contains("bound as UInt64")));
    }

    #[test]
    fn a_question_mark_in_a_comment_or_literal_fails_the_check() {
        let params = Params::new().set("a", "x");
        for text in [
            "SELECT 1 -- why?\nWHERE a = {a:String}",
            "SELECT 'who?' WHERE a = {a:String}",
            "SELECT 1 WHERE a = {a:String} AND b = ?",
        ] {
            let template = parse(text);
            assert!(template.check(&params).is_err(), "{text}");
        }
        // The crate's own count catches a ? even when parsing did not.
        assert_eq!(crate_placeholders("a = ? -- b?\n?fields ??"), 2);
    }

    const FILTER: Fragment = Fragment {
        name: "filter",
        text: "-- The functions.\n-- switch: all\n({all:UInt8} OR f IN (SELECT arrayJoin({names:Array(String)})))",
    };

    /// A switch bound as 1 leaves its condition and its binds out.
    #[test]
    fn a_switch_bound_as_one_reads_true() {
        let template = Template::parse(
            "test.sql",
            "-- params: all = 1, names = [], p = 'x'\nSELECT 1 FROM t WHERE {filter} AND p = {p:String}",
            &[FILTER],
        );
        let every = Params::new()
            .set("all", true)
            .set("names", Vec::<String>::new())
            .set("p", "x");
        assert_eq!(template.check(&every), Ok(()));
        assert_eq!(
            template.variant_for(&every).sql,
            "-- params: all = 1, names = [], p = 'x'\nSELECT 1 FROM t WHERE 1 AND p = ?"
        );
        let some = every.clone().set("all", false);
        assert_eq!(template.variant_for(&some).placeholders().len(), 3);
        let samples = template.every_sample_sql().unwrap_or_default();
        assert_eq!(samples.len(), 2);
        assert!(template
            .sample_sql()
            .is_some_and(|sql| sql.ends_with("WHERE 1 AND p = 'x'")));
    }

    #[test]
    fn unknown_fragments_and_types_are_errors() {
        assert!(parse("SELECT {nothing}").check(&Params::new()).is_err());
        assert!(parse("SELECT {a:Float32}")
            .check(&Params::new().set("a", "x"))
            .is_err());
    }
}
