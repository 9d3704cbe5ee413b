//! Cluster mode: the same migration files, rendered for a ClickHouse cluster
//! named in the servers' `remote_servers`.
//!
//! Every statement runs `ON CLUSTER`, with every name qualified by the
//! database (a distributed DDL task runs on each node outside the session's
//! database). The rendering is one generic transformation, so a migration is
//! written once, for one server:
//!
//! - A table `t` becomes `t_local`, a `Replicated*MergeTree` with the
//!   `{shard}` and `{replica}` macros, plus `t` itself, a `Distributed` table
//!   over `t_local` sharded by `cityHash64(trace_id)` (each trace lives on one
//!   shard) or by `rand()` for tables without a trace id. Writers and query
//!   templates use the plain name, so they do not change.
//! - A materialized view reads and writes local tables, so it fires on the
//!   shard that stores the row, also for rows another node forwarded.
//! - A small table of [`REPLICATED_EVERYWHERE`] (migration bookkeeping, alert
//!   state) keeps its plain name and one replica on every node: readable in
//!   full from any node, also while another shard is down.
//! - `ALTER TABLE t` alters `t_local`, then makes the `Distributed` table
//!   `t` again over it.
//!
//! Aggregating tables fed by a view (`instance_first_starts`) hold, on each
//! shard, the states of the invocations stored there. An instance whose
//! invocations land on several shards has a partial state on each; a read
//! through the `Distributed` table merges them (`minMerge`, `argMinMerge`
//! under `GROUP BY` aggregate in two stages: states on each shard, the merge
//! on the node asked), which is the same answer as one server's.

use crate::connection::validate_identifier;
use crate::error::SchemaError;
use crate::tables::REPLICATED_EVERYWHERE;
use std::collections::BTreeMap;

/// Where Tracehouse's tables live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Layout {
    /// One server, plain `MergeTree` tables (the default).
    #[default]
    SingleNode,
    /// Sharded and replicated across a cluster.
    Cluster(Cluster),
}

/// A cluster of `remote_servers` and the database on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    name: String,
    database: String,
}

/// One statement of a rendered migration; `alters` names the table of an
/// `ALTER TABLE ... ADD COLUMN`, whose columns are checked before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub alters: Option<String>,
}

/// Where a table created by an earlier migration lives.
#[derive(Debug, Clone)]
enum Placement {
    /// `t_local` on each shard behind the `Distributed` table `t`.
    Sharded { key: String },
    /// `t`, one replica on every node.
    Everywhere,
}

/// The tables created so far, in migration order.
#[derive(Debug, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Placement>,
    /// How often each name was made before: a table renamed away keeps its
    /// replication path, so a new table of the same name needs another one.
    made: BTreeMap<String, u32>,
}

impl Catalog {
    /// The replication path of a new table `local` (the same rendering on
    /// every process, so every process names the same path).
    fn path_of(&mut self, base: String, local: &str) -> String {
        let made = self.made.entry(local.to_owned()).or_insert(0);
        *made += 1;
        match *made {
            1 => base,
            generation => format!("{base}_{generation}"),
        }
    }
}

impl Cluster {
    /// The cluster `name` (as in `remote_servers`) holding `database`.
    pub fn new(name: &str, database: &str) -> Result<Self, SchemaError> {
        validate_identifier(name).map_err(|_| SchemaError::InvalidClusterName(name.to_owned()))?;
        validate_identifier(database)?;
        Ok(Self {
            name: name.to_owned(),
            database: database.to_owned(),
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The local table behind the `Distributed` table `table`.
    pub fn local_table(table: &str) -> String {
        format!("{table}_local")
    }

    /// The statements of one migration file, given the tables of the earlier
    /// ones (which `catalog` gains the tables this one creates).
    pub fn render(&self, catalog: &mut Catalog, sql: &str) -> Result<Vec<Statement>, SchemaError> {
        let code = without_comments(sql);
        let code = code.trim().trim_end_matches(';').trim_end();
        let unsupported = || SchemaError::UnsupportedForCluster(first_line(code));
        if let Some(rest) = code.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
            self.create_table(catalog, rest).ok_or_else(unsupported)
        } else if let Some(rest) = code.strip_prefix("CREATE MATERIALIZED VIEW IF NOT EXISTS ") {
            self.create_view(catalog, rest).ok_or_else(unsupported)
        } else if let Some(rest) = code.strip_prefix("ALTER TABLE ") {
            self.alter_table(catalog, rest).ok_or_else(unsupported)
        } else if let Some(rest) = code.strip_prefix("DROP TABLE IF EXISTS ") {
            self.drop_table(catalog, rest).ok_or_else(unsupported)
        } else if let Some(rest) = code.strip_prefix("RENAME TABLE ") {
            self.rename_table(catalog, rest).ok_or_else(unsupported)
        } else if let Some(rest) = code.strip_prefix("INSERT INTO ") {
            self.insert_select(catalog, rest).ok_or_else(unsupported)
        } else {
            Err(unsupported())
        }
    }

    fn create_table(&self, catalog: &mut Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (name, after) = split_identifier(rest)?;
        let after = after.trim_start();
        let (body, key) = match after.strip_prefix("AS ") {
            Some(source_and_tail) => {
                let (source, tail) = split_identifier(source_and_tail.trim_start())?;
                let Placement::Sharded { key } = catalog.tables.get(source)?.clone() else {
                    return None;
                };
                let source = self.qualified_source(catalog, source)?;
                (format!("AS {source}{tail}"), key)
            }
            None => (after.to_owned(), sharding_key(after)),
        };
        let (db, cluster) = (&self.database, &self.name);
        if REPLICATED_EVERYWHERE.contains(&name) {
            let path = catalog.path_of(format!("/clickhouse/tables/all/{db}/{name}"), name);
            let body = replicated_engine(&body, &path, "{shard}-{replica}")?;
            catalog
                .tables
                .insert(name.to_owned(), Placement::Everywhere);
            return Some(vec![plain(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{name} ON CLUSTER {cluster} {body}"
            ))]);
        }
        let local = Self::local_table(name);
        let path = catalog.path_of(format!("/clickhouse/tables/{{shard}}/{db}/{local}"), &local);
        let body = replicated_engine(&body, &path, "{replica}")?;
        let statements = vec![
            plain(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{local} ON CLUSTER {cluster} {body}"
            )),
            plain(self.distributed(name, &key)),
        ];
        catalog
            .tables
            .insert(name.to_owned(), Placement::Sharded { key });
        Some(statements)
    }

    fn create_view(&self, catalog: &Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (name, after) = split_identifier(rest)?;
        let (target, select) = split_identifier(after.trim_start().strip_prefix("TO ")?)?;
        let target = self.qualified_source(catalog, target)?;
        let select = localize_sources(select, |table| self.qualified_source(catalog, table))?;
        let (db, cluster) = (&self.database, &self.name);
        Some(vec![plain(format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{name} ON CLUSTER {cluster} TO {target}{select}"
        ))])
    }

    /// The local table is altered; the `Distributed` table is made again
    /// over it (18.16 refuses `ALTER ... ON CLUSTER` of a `Distributed` table
    /// on shards with internal replication). Writes to it fail in between and
    /// are retried; rows it still queued for a shard that is down would be
    /// dropped with it, so a column migration wants every shard up.
    fn alter_table(&self, catalog: &Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (name, tail) = split_identifier(rest)?;
        let (db, cluster) = (&self.database, &self.name);
        let alter = |table: String| Statement {
            sql: format!("ALTER TABLE {db}.{table} ON CLUSTER {cluster}{tail}"),
            alters: Some(table),
        };
        let Placement::Sharded { key } = catalog.tables.get(name)? else {
            return Some(vec![alter(name.to_owned())]);
        };
        let local = Self::local_table(name);
        let remade = |sql: String| Statement {
            sql,
            alters: Some(name.to_owned()),
        };
        Some(vec![
            alter(local.clone()),
            remade(format!(
                "DROP TABLE IF EXISTS {db}.{name} ON CLUSTER {cluster}"
            )),
            remade(self.distributed(name, key)),
        ])
    }

    /// A table is dropped with its local table; a view by its name.
    fn drop_table(&self, catalog: &mut Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (name, tail) = split_identifier(rest)?;
        if !tail.trim().is_empty() {
            return None;
        }
        let (db, cluster) = (&self.database, &self.name);
        let drop = |table: &str| {
            plain(format!(
                "DROP TABLE IF EXISTS {db}.{table} ON CLUSTER {cluster}"
            ))
        };
        Some(match catalog.tables.remove(name) {
            Some(Placement::Sharded { .. }) => vec![drop(name), drop(&Self::local_table(name))],
            Some(Placement::Everywhere) | None => vec![drop(name)],
        })
    }

    /// A sharded table is renamed by its local table; its `Distributed`
    /// table is made again under the new name.
    fn rename_table(&self, catalog: &mut Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (from, after) = split_identifier(rest)?;
        let (to, tail) = split_identifier(after.trim_start().strip_prefix("TO ")?)?;
        if !tail.trim().is_empty() {
            return None;
        }
        let Placement::Sharded { key } = catalog.tables.remove(from)? else {
            return None;
        };
        let (db, cluster) = (&self.database, &self.name);
        let (from_local, to_local) = (Self::local_table(from), Self::local_table(to));
        let statements = vec![
            plain(format!(
                "RENAME TABLE {db}.{from_local} TO {db}.{to_local} ON CLUSTER {cluster}"
            )),
            plain(format!(
                "DROP TABLE IF EXISTS {db}.{from} ON CLUSTER {cluster}"
            )),
            plain(self.distributed(to, &key)),
        ];
        catalog
            .tables
            .insert(to.to_owned(), Placement::Sharded { key });
        Some(statements)
    }

    /// A one-time copy runs once, from the node migrating, through the
    /// `Distributed` tables; subqueries read every shard (`GLOBAL`).
    fn insert_select(&self, catalog: &Catalog, rest: &str) -> Option<Vec<Statement>> {
        let (target, select) = split_identifier(rest)?;
        catalog.tables.get(target)?;
        let db = &self.database;
        let select = localize_sources(select, |table| {
            catalog.tables.get(table).map(|_| format!("{db}.{table}"))
        })?;
        let select = select
            .replace(" IN (", " GLOBAL IN (")
            .replace(" NOT GLOBAL IN (", " GLOBAL NOT IN (");
        Some(vec![plain(format!("INSERT INTO {db}.{target}{select}"))])
    }

    /// The `Distributed` table `name` over its local table.
    fn distributed(&self, name: &str, key: &str) -> String {
        let (db, cluster) = (&self.database, &self.name);
        let local = Self::local_table(name);
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.{name} ON CLUSTER {cluster} AS {db}.{local} \
             ENGINE = Distributed({cluster}, {db}, {local}, {key})"
        )
    }

    /// The table a statement reads or writes the rows of `table` in: its
    /// local table on each shard, or itself when it is everywhere.
    fn qualified_source(&self, catalog: &Catalog, table: &str) -> Option<String> {
        let db = &self.database;
        match catalog.tables.get(table)? {
            Placement::Sharded { .. } => Some(format!("{db}.{}", Self::local_table(table))),
            Placement::Everywhere => Some(format!("{db}.{table}")),
        }
    }
}

/// Every migration (after the bootstrap table) rendered for `cluster`, in order.
pub fn render_all(
    cluster: &Cluster,
    bootstrap: &str,
    migrations: &[&str],
) -> Result<(Vec<Statement>, Vec<Vec<Statement>>), SchemaError> {
    let mut catalog = Catalog::default();
    let bootstrap = cluster.render(&mut catalog, bootstrap)?;
    let rendered = migrations
        .iter()
        .map(|sql| cluster.render(&mut catalog, sql))
        .collect::<Result<_, _>>()?;
    Ok((bootstrap, rendered))
}

fn plain(sql: String) -> Statement {
    Statement { sql, alters: None }
}

/// The statement without its comment lines.
fn without_comments(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn first_line(code: &str) -> String {
    code.lines().next().unwrap_or_default().to_owned()
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The identifier `text` starts with, and what follows it.
fn split_identifier(text: &str) -> Option<(&str, &str)> {
    let end = text
        .bytes()
        .position(|byte| !is_identifier_byte(byte))
        .unwrap_or(text.len());
    (end > 0).then(|| text.split_at(end))
}

/// `cityHash64(trace_id)` for a column list with a `trace_id`, else `rand()`.
fn sharding_key(body: &str) -> String {
    let columns = body.split("ENGINE").next().unwrap_or_default();
    let has_trace_id = columns.lines().any(|line| {
        line.trim_start()
            .strip_prefix("trace_id")
            .is_some_and(|rest| rest.starts_with(' '))
    });
    if has_trace_id {
        "cityHash64(trace_id)".to_owned()
    } else {
        "rand()".to_owned()
    }
}

/// `ENGINE = XMergeTree(args)` as `ENGINE = ReplicatedXMergeTree('path', 'replica', args)`.
fn replicated_engine(body: &str, path: &str, replica: &str) -> Option<String> {
    const MARKER: &str = "ENGINE = ";
    let start = body.find(MARKER)? + MARKER.len();
    let (engine, after) = split_identifier(&body[start..])?;
    if !engine.ends_with("MergeTree") || engine.starts_with("Replicated") {
        return None;
    }
    let arguments_and_tail = after.strip_prefix('(')?;
    let close = arguments_and_tail.find(')')?;
    let arguments = arguments_and_tail[..close].trim();
    let tail = &arguments_and_tail[close..];
    let separator = if arguments.is_empty() { "" } else { ", " };
    Some(format!(
        "{}Replicated{engine}('{path}', '{replica}'{separator}{arguments}{tail}",
        &body[..start]
    ))
}

/// `text` with the table after each `FROM` and `JOIN` (not `ARRAY JOIN`)
/// mapped by `source`, outside string literals. `None` when a table is unknown.
fn localize_sources(text: &str, source: impl Fn(&str) -> Option<String>) -> Option<String> {
    let bytes = text.as_bytes();
    let mut output = String::with_capacity(text.len() + 64);
    let (mut index, mut previous_words) = (0, ["", ""]);
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'\'' {
            let end = closing_quote(bytes, index);
            output.push_str(&text[index..end]);
            index = end;
        } else if is_identifier_byte(byte) {
            let (word, _) = split_identifier(&text[index..])?;
            let is_source = previous_words[1] == "FROM"
                || (previous_words[1] == "JOIN" && previous_words[0] != "ARRAY");
            if is_source {
                output.push_str(&source(word)?);
            } else {
                output.push_str(word);
            }
            previous_words = [previous_words[1], word];
            index += word.len();
        } else {
            let character = text[index..].chars().next()?;
            output.push(character);
            index += character.len_utf8();
        }
    }
    Some(output)
}

/// The index just past the literal opening at `start`.
fn closing_quote(bytes: &[u8], start: usize) -> usize {
    let mut index = start + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'\'' => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{BOOTSTRAP, MIGRATIONS};

    fn cluster() -> Cluster {
        Cluster::new("tracehouse", "th").expect("valid names")
    }

    fn rendered() -> (Vec<Statement>, Vec<Vec<Statement>>) {
        let sqls: Vec<&str> = MIGRATIONS.iter().map(|migration| migration.sql).collect();
        render_all(&cluster(), BOOTSTRAP, &sqls).expect("every migration renders")
    }

    #[test]
    fn every_statement_runs_on_the_cluster_with_qualified_names() {
        let (bootstrap, migrations) = rendered();
        for statement in bootstrap.iter().chain(migrations.iter().flatten()) {
            // A one-time copy runs once, from one node, through the Distributed tables.
            let copies = statement.sql.starts_with("INSERT INTO th.");
            assert!(
                copies || statement.sql.contains(" ON CLUSTER tracehouse"),
                "{}",
                statement.sql
            );
            assert!(
                !statement.sql.contains("ENGINE = MergeTree"),
                "{}",
                statement.sql
            );
            assert!(
                !statement.sql.contains("ENGINE = AggregatingMergeTree"),
                "{}",
                statement.sql
            );
        }
    }

    #[test]
    fn a_table_becomes_a_replicated_local_table_and_a_distributed_one() {
        let mut catalog = Catalog::default();
        let statements = cluster()
            .render(&mut catalog, MIGRATIONS[0].sql)
            .expect("spans renders");
        assert_eq!(statements.len(), 2);
        assert!(statements[0].sql.starts_with(
            "CREATE TABLE IF NOT EXISTS th.spans_local ON CLUSTER tracehouse (\n    project String,"
        ));
        assert!(statements[0].sql.contains(
            "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/th/spans_local', '{replica}')\nPARTITION BY"
        ));
        assert_eq!(
            statements[1].sql,
            "CREATE TABLE IF NOT EXISTS th.spans ON CLUSTER tracehouse AS th.spans_local \
             ENGINE = Distributed(tracehouse, th, spans_local, cityHash64(trace_id))"
        );
    }

    #[test]
    fn views_read_and_write_local_tables() {
        let (_, migrations) = rendered();
        let view = |name: &str| {
            let index = MIGRATIONS
                .iter()
                .position(|migration| migration.name.ends_with(name))
                .expect("the migration");
            migrations[index][0].sql.clone()
        };
        let trace_spans = view("_trace_spans_mv");
        assert!(trace_spans.starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS th.trace_spans_mv ON CLUSTER tracehouse TO th.trace_spans_local AS"
        ));
        assert!(
            trace_spans.ends_with("FROM th.spans_local"),
            "{trace_spans}"
        );
        let first_starts = view("_instance_first_starts_mv");
        assert!(first_starts.contains("TO th.instance_first_starts_local"));
        assert!(first_starts.contains("FROM th.invocations_local\nWHERE"));
        // Literals stay as they are.
        assert!(view("_messaging_spans_mv").contains("'messaging.message.id'"));
    }

    #[test]
    fn tables_without_a_trace_id_spread_at_random_and_copies_keep_their_source_key() {
        let (_, migrations) = rendered();
        let all: Vec<&Statement> = migrations.iter().flatten().collect();
        let distributed = |table: &str| {
            all.iter()
                .find(|statement| {
                    statement
                        .sql
                        .starts_with(&format!("CREATE TABLE IF NOT EXISTS th.{table} ON"))
                })
                .map(|statement| statement.sql.clone())
                .expect("the distributed table")
        };
        assert!(distributed("platform_reports").ends_with("platform_reports_local, rand())"));
        assert!(distributed("trace_spans").ends_with("cityHash64(trace_id))"));
        assert!(all.iter().any(|statement| statement.sql.starts_with(
            "CREATE TABLE IF NOT EXISTS th.trace_spans_local ON CLUSTER tracehouse AS th.spans_local\nENGINE = ReplicatedMergeTree("
        )));
        let first_starts_local = distributed("instance_first_starts_local");
        assert!(first_starts_local.contains("ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/th/instance_first_starts_local', '{replica}')"));
    }

    #[test]
    fn bookkeeping_and_alert_state_have_a_replica_on_every_node() {
        let (bootstrap, migrations) = rendered();
        assert_eq!(bootstrap.len(), 1);
        assert!(bootstrap[0]
            .sql
            .contains("CREATE TABLE IF NOT EXISTS th.schema_migrations ON CLUSTER tracehouse (\n"));
        assert!(bootstrap[0].sql.contains(
            "ReplicatedMergeTree('/clickhouse/tables/all/th/schema_migrations', '{shard}-{replica}')"
        ));
        let alert_events = migrations
            .iter()
            .flatten()
            .find(|statement| statement.sql.contains("th.alert_events "))
            .expect("alert_events");
        assert!(!alert_events.sql.contains("Distributed"));
    }

    #[test]
    fn column_migrations_alter_the_local_table_and_make_the_distributed_one_again() {
        let (_, migrations) = rendered();
        let index = MIGRATIONS
            .iter()
            .position(|migration| migration.adds_columns.is_some())
            .expect("a column migration");
        let last = &migrations[index];
        let altered: Vec<Option<&str>> = last.iter().map(|s| s.alters.as_deref()).collect();
        assert_eq!(
            altered,
            [
                Some("platform_reports_local"),
                Some("platform_reports"),
                Some("platform_reports")
            ]
        );
        assert_eq!(
            last[1].sql,
            "DROP TABLE IF EXISTS th.platform_reports ON CLUSTER tracehouse"
        );
        assert!(last[2]
            .sql
            .contains("ENGINE = Distributed(tracehouse, th, platform_reports_local, rand())"));
        assert!(last[0].sql.starts_with(
            "ALTER TABLE th.platform_reports_local ON CLUSTER tracehouse\n    ADD COLUMN restore_duration_ms"
        ));
    }

    #[test]
    fn renames_drops_and_copies_follow_the_local_tables() {
        let (_, migrations) = rendered();
        let all: Vec<&str> = migrations
            .iter()
            .flatten()
            .map(|s| s.sql.as_str())
            .collect();
        assert!(all.contains(
            &"RENAME TABLE th.spans_local TO th.spans_by_service_local ON CLUSTER tracehouse"
        ));
        assert!(all.contains(&"DROP TABLE IF EXISTS th.trace_spans_local ON CLUSTER tracehouse"));
        // The spans table made after the rename has a replication path of its own.
        assert!(all.iter().any(
            |sql| sql.starts_with("CREATE TABLE IF NOT EXISTS th.spans_local")
                && sql.contains("/clickhouse/tables/{shard}/th/spans_local_2")
        ));
        let copy = all
            .iter()
            .find(|sql| sql.starts_with("INSERT INTO th.spans"))
            .expect("the one-time copy");
        assert!(copy.contains("FROM th.trace_spans"), "{copy}");
        assert!(copy.contains("GLOBAL NOT IN (SELECT"), "{copy}");
    }

    #[test]
    fn unknown_statements_and_tables_are_refused() {
        let mut catalog = Catalog::default();
        let refused = cluster().render(&mut catalog, "TRUNCATE TABLE spans");
        assert!(matches!(
            refused,
            Err(SchemaError::UnsupportedForCluster(_))
        ));
        let unknown = cluster().render(
            &mut catalog,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO nowhere AS SELECT 1 FROM spans",
        );
        assert!(unknown.is_err());
        assert!(Cluster::new("bad-name", "th").is_err());
        let joined = localize_sources("FROM a ANY LEFT JOIN b USING x ARRAY JOIN c AS d", |t| {
            Some(format!("db.{t}_local"))
        });
        assert_eq!(
            joined.as_deref(),
            Some("FROM db.a_local ANY LEFT JOIN db.b_local USING x ARRAY JOIN c AS d")
        );
    }
}
