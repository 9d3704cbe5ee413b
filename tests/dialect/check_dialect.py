#!/usr/bin/env python3
"""Runs every migration and every query template of Tracehouse on current
ClickHouse (chDB, in-process), so the one SQL dialect is proven on the new
side too; the Rust integration tests prove it on the live 18.16 server.

It also loads the golden scenario (tests/golden/) and compares every
template's answer with the checked-in results 18.16 is checked against,
reads the RowBinary rows of tests/golden/rowbinary/, and runs the schema
crate's statements of schema/sql/.

Templates carry their sample parameters on a line
`-- params: name = literal, ...` (one SQL literal per placeholder name);
each `{name:Type}` placeholder becomes its literal, each `{fragment}` the
fragment's SQL, and `?fields` becomes `*`, as the query crate's template
parser does (`query/src/sql/template.rs`).
"""

import math
import pathlib
import re
import sys
import tempfile
import unittest

from chdb import session

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIGRATIONS = sorted((ROOT / "schema" / "migrations").glob("*.sql"))
TEMPLATES = sorted((ROOT / "query" / "sql").glob("*.sql")) + sorted((ROOT / "alerting" / "sql").glob("*.sql"))
FRAGMENTS = sorted((ROOT / "query" / "sql" / "fragments").glob("*.sql"))
# The settler's statements (INSERT ... SELECT) and the reads.
WRITES = [path for path in TEMPLATES if path.read_text().count("\nINSERT INTO ")]
READS = [path for path in TEMPLATES if path not in WRITES]


PLACEHOLDER = re.compile(r"\{([a-z0-9_]+):([A-Za-z0-9()]+)\}")


def fragment_body(path):
    """A fragment's SQL without its leading comment lines."""
    lines = path.read_text().splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).rstrip()


def switch_of(path):
    """The flag of a switch fragment (its `-- switch: flag` line), else None."""
    for line in path.read_text().splitlines():
        if not line.lstrip().startswith("--"):
            return None
        if line.strip().startswith("-- switch:"):
            return line.strip()[len("-- switch:"):].strip()
    return None


# Switch fragments by name, with their flags: bound as 1, the flag makes the
# fragment read `1` (query/src/sql/template.rs).
SWITCHES = {path.stem: flag for path in FRAGMENTS if (flag := switch_of(path))}


def with_fragments(template, switched_on=()):
    """Inlines `{name}` fragments, also those fragments name, as the query
    crate does; those of `switched_on` read `1`."""
    bodies = {path.stem: ("1" if path.stem in switched_on else fragment_body(path)) for path in FRAGMENTS}
    for _ in range(8):
        for name, body in bodies.items():
            template = template.replace("{" + name + "}", body)
    return template


def placeholder_names(sql):
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return {match.group(1) for match in PLACEHOLDER.finditer(code)}


def render(template, params, switched_on=None):
    """The SQL the query crate runs for `template` bound with `params`: the
    switches whose flag is 1 read `1` (or those of `switched_on`), and the
    binds they held are not sent. Every name of `params` must be a
    placeholder of the whole template."""
    whole = placeholder_names(with_fragments(template))
    if set(params) != whole:
        raise ValueError(f"samples and placeholders differ: {sorted(set(params) ^ whole)}")
    if switched_on is None:
        switched_on = {name for name, flag in SWITCHES.items() if params.get(flag, "").strip() == "1"}
    sql = with_fragments(template, switched_on)
    kept = placeholder_names(sql)
    return bind(sql, {name: value for name, value in params.items() if name in kept})


def every_variant(template, params):
    """The SQL of the template and of each combination of its switches."""
    names = sorted(SWITCHES)
    for mask in range(1 << len(names)):
        chosen = {name for bit, name in enumerate(names) if mask & (1 << bit)}
        yield render(template, params, chosen)


SAMPLE_ROWS = [
    # One span, so that templates read real rows; the materialized views copy it.
    "INSERT INTO spans (project, timestamp, start_time_unix_nano, end_time_unix_nano, duration_ns, "
    "trace_id, span_id, service, name, kind, status_code, attribute_keys, attribute_values, attribute_types) "
    "VALUES ('default', now(), toUInt64(now()) * 1000000000, toUInt64(now()) * 1000000000 + 5000000, 5000000, "
    "toFixedString(unhex('0af7651916cd43dd8448eb211c80319c'), 16), toFixedString(unhex('b7ad6b7169203331'), 8), "
    "'checkout', 'POST /pay', 'server', 'error', ['faas.coldstart'], ['true'], [1])",
]


def split_literals(text):
    """Splits `a, 'b,c', [1, 2]` on top-level commas."""
    parts, current, depth, quoted, escaped = [], [], 0, False, False
    for char in text:
        if quoted:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                quoted = False
            continue
        if char == "'":
            quoted = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def bind(template, params):
    """Replaces `?fields` with `*` and each `{name:Type}` with the sample of `name`."""
    # Comment lines carry no placeholders (and may hold apostrophes).
    code = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("--"))
    if "?" in code.replace("?fields", ""):
        raise ValueError("a raw ? outside a placeholder")
    used = set()

    def sample(match):
        name = match.group(1)
        if name not in params:
            raise ValueError(f"no sample for {{{name}:{match.group(2)}}} in -- params")
        used.add(name)
        return params[name]

    sql = PLACEHOLDER.sub(sample, code.replace("?fields", "*"))
    if used != set(params):
        raise ValueError(f"samples without a placeholder: {sorted(set(params) - used)}")
    return sql


def params_of(template):
    """The `-- params: name = literal, ...` line as a dict."""
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("-- params:"):
            pairs = split_literals(stripped[len("-- params:"):])
            return {name.strip(): literal.strip() for name, literal in (pair.split("=", 1) for pair in pairs)}
    return {}


class DialectOnCurrentClickHouse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory(prefix="tracehouse-chdb-")
        cls.session = session.Session(cls.directory.name)
        cls.version = cls.session.query("SELECT version()", "CSV").bytes().decode().strip()
        cls.session.query("CREATE DATABASE IF NOT EXISTS tracehouse")
        cls.session.query("USE tracehouse")

    @classmethod
    def tearDownClass(cls):
        cls.session.close()
        cls.directory.cleanup()

    def test_1_every_migration_applies_twice(self):
        self.assertTrue(MIGRATIONS, "no migrations found")
        for _ in range(2):  # idempotent: a second start is a no-op
            for path in MIGRATIONS:
                with self.subTest(migration=path.name):
                    sql = path.read_text()
                    if not self.columns_already_added(sql) and self.tables_as_required(sql):
                        self.session.query(sql)
        for statement in SAMPLE_ROWS:
            self.session.query(statement)
        for table in ["span_index", "trace_time_index"]:
            copied = self.session.query(f"SELECT count() FROM {table}", "CSV").bytes().decode().strip()
            self.assertEqual(copied, "1", f"the materialized view indexes spans into {table}")

    def tables_as_required(self, sql):
        """As the migration runner does for a statement with `-- only while
        present: a, b` / `-- only while absent: c` lines (RENAME TABLE, a
        one-time copy): true while those tables exist and these do not."""
        def listed(prefix):
            return [name.strip() for line in sql.splitlines() if line.startswith(prefix)
                    for name in line[len(prefix):].split(",") if name.strip()]
        present, absent = listed("-- only while present:"), listed("-- only while absent:")
        if not present and not absent:
            return True
        found = self.session.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()", "CSV"
        ).bytes().decode().split()
        found = {name.strip('"') for name in found}
        return all(name in found for name in present) and not any(name in found for name in absent)

    def columns_already_added(self, sql):
        """As the migration runner does for ALTER TABLE ... ADD COLUMN (no IF NOT
        EXISTS on 18.16): true when every column the statement adds exists."""
        code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        table = re.search(r"ALTER TABLE (\w+)", code)
        columns = re.findall(r"ADD COLUMN (\w+)", code)
        if not table or not columns:
            return False
        names = ", ".join("'" + column + "'" for column in columns)
        found = self.session.query(
            "SELECT count() FROM system.columns WHERE database = currentDatabase() "
            f"AND table = '{table.group(1)}' AND name IN ({names})",
            "CSV",
        ).bytes().decode().strip()
        return found == str(len(columns))

    def test_2_every_query_template_runs(self):
        self.assertTrue(TEMPLATES, "no query templates found")
        for path in TEMPLATES:
            with self.subTest(template=path.name):
                template = path.read_text()
                for sql in set(every_variant(template, params_of(template))):
                    self.session.query(sql, "JSONEachRow")

    def test_3_every_fragment_is_used(self):
        texts = [path.read_text() for path in TEMPLATES + FRAGMENTS]
        for path in FRAGMENTS:
            with self.subTest(fragment=path.name):
                self.assertTrue(any("{" + path.stem + "}" in text for text in texts), "unused fragment")


GOLDEN = ROOT / "tests" / "golden"
TOLERANCE = 1e-9


def ascii_text(data):
    """ASCII as is, every other byte as \\xNN, as tests/tests/reads/golden_answers.rs does."""
    return "".join(chr(byte) if byte < 128 else "\\x%02x" % byte for byte in data)


def same_number(left, right):
    try:
        a, b = float(left), float(right)
    except ValueError:
        return False
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1.0)


def same_cell(left, right):
    if left == right or same_number(left, right):
        return True
    if left.startswith("[") and left.endswith("]") and right.startswith("[") and right.endswith("]"):
        a, b = left[1:-1].split(","), right[1:-1].split(",")
        return len(a) == len(b) and all(x == y or same_number(x, y) for x, y in zip(a, b))
    return False


def same_row(left, right):
    a, b = left.split("\t"), right.split("\t")
    return len(a) == len(b) and all(same_cell(x, y) for x, y in zip(a, b))


def row_diff(expected, actual):
    """None when equal (numbers within TOLERANCE), else the differing rows."""
    if len(expected) == len(actual) and all(same_row(a, b) for a, b in zip(expected, actual)):
        return None
    lines = []
    for index in range(max(len(expected), len(actual))):
        want = expected[index] if index < len(expected) else "(none)"
        got = actual[index] if index < len(actual) else "(none)"
        if not same_row(want, got):
            lines.append(f"  row {index}\n    - {want}\n    + {got}")
    return "\n".join(lines)


def migrated_session(directory, database):
    """A chDB session on a new database with every migration applied."""
    migrated = session.Session(directory)
    migrated.query(f"CREATE DATABASE IF NOT EXISTS {database}")
    migrated.query(f"USE {database}")
    for path in MIGRATIONS:
        migrated.query(path.read_text())
    return migrated


class GoldenAnswersOnCurrentClickHouse(unittest.TestCase):
    """The scenario of tests/golden/scenario.sql, loaded as on 18.16; every
    template's answer must be tests/golden/expected/<template>.tsv (rows
    sorted, numbers within TOLERANCE), the files 18.16 is checked against."""

    def test_every_template_gives_the_golden_answer(self):
        """Live, then with the window settled (its first half twice, under two
        generations) and read settled up to its middle, and wholly settled,
        as tests/tests/reads/golden_answers.rs does on 18.16."""
        directory = tempfile.TemporaryDirectory(prefix="tracehouse-golden-")
        golden = migrated_session(directory.name, "golden")
        try:
            for line in (GOLDEN / "scenario.sql").read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("--"):
                    golden.query(line.rstrip(";"))
            failures = self.failures(golden, {}, {})
            self.settle(golden, {})
            self.settle(golden, {"generation": "2", "to_s": "1700001780", "to_ns": "1700001780000000000"})
            # Split mid-window and at its end; the whole settled minutes summed, or not at all.
            for split, summed_to in [("1700001800", "1700001780"), ("1700003600", "1700003580"), ("1700003600", "1700003600")]:
                summed_from = split if summed_to == split else "1700000040"
                read = {"split_s": split, "split_ns": split + "000000000", "rollup_from_s": split, "rollup_to_s": split}
                slots = {"rollup_from_s": summed_from, "rollup_to_s": summed_to}
                failures += self.failures(golden, read, slots)
            self.assertFalse(failures, "\n".join(failures))
        finally:
            golden.close()
            directory.cleanup()

    @staticmethod
    def settle(golden, overrides):
        for path in WRITES:
            template = path.read_text()
            params = params_of(template)
            params.update({name: value for name, value in overrides.items() if name in params})
            golden.query(render(template, params))

    @staticmethod
    def failures(golden, overrides, slots):
        """The differing answers of the reads that bind one of `overrides`
        (all without), those samples replaced, and those of `slots` too in
        reads over slots (binding slot_s) of every trace; a read of the clock
        has none."""
        failures = []
        for path in READS:
            template = path.read_text()
            params = params_of(template)
            # Only a scope of every trace sums settled minutes (InvocationScope::slot_params_split).
            of_every_trace = params.get("all_traces", "1").strip() == "1"
            mine = {**overrides, **slots} if "slot_s" in params and of_every_trace else overrides
            if "now()" in template or (mine and not set(mine) & set(params)):
                continue
            sql = render(template, {**params, **{k: v for k, v in mine.items() if k in params}})
            answer = ascii_text(golden.query(sql, "TabSeparated").bytes())
            actual = sorted(answer.splitlines())
            expected_path = GOLDEN / "expected" / (path.stem + ".tsv")
            expected = sorted(expected_path.read_text().splitlines()) if expected_path.exists() else []
            difference = row_diff(expected, actual)
            if difference is not None:
                failures.append(f"{path.name} differs from {expected_path} ({overrides}):\n{difference}")
        return failures


class RowEncodingOnCurrentClickHouse(unittest.TestCase):
    """tests/golden/rowbinary/<table>.bin holds rows as the collector's
    encoder writes them (tests/tests/ingest/row_encoding.rs checks the bytes, and
    what 18.16 reads back, <table>.tsv). 26.9 must read the same rows."""

    def test_rowbinary_rows_read_back_as_on_18(self):
        directory = tempfile.TemporaryDirectory(prefix="tracehouse-rowbinary-")
        rows = migrated_session(directory.name, "rowbinary")
        try:
            encoded = sorted((GOLDEN / "rowbinary").glob("*.bin"))
            self.assertTrue(encoded, "no encoded rows found")
            for path in encoded:
                with self.subTest(table=path.stem):
                    table = path.stem
                    columns = path.with_suffix(".columns").read_text().strip().split(",")
                    types = dict(
                        line.split("\t")
                        for line in rows.query(
                            f"SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = '{table}'",
                            "TabSeparated",
                        ).bytes().decode().splitlines()
                    )
                    structure = ", ".join(f"{column} {types[column]}" for column in columns)
                    listed = ", ".join(columns)
                    rows.query(
                        f"INSERT INTO {table} ({listed}) SELECT * FROM file('{path}', 'RowBinary', '{structure}')"
                    )
                    read_back = rows.query(f"SELECT {listed} FROM {table}", "TabSeparated").bytes()
                    self.assertEqual(read_back, path.with_suffix(".tsv").read_bytes())
        finally:
            rows.close()
            directory.cleanup()


SCHEMA_STATEMENTS = sorted((ROOT / "schema" / "sql").glob("*.sql"))


def bind_positional(sql):
    """Each `?` of the code replaced, in order, by the samples of its `-- samples:` line."""
    samples = []
    for line in sql.splitlines():
        if line.startswith("-- samples:"):
            samples = split_literals(line[len("-- samples:"):])
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    parts = code.split("?")
    if len(parts) - 1 != len(samples):
        raise ValueError(f"{len(parts) - 1} placeholders, {len(samples)} samples")
    return parts[0] + "".join(sample + part for sample, part in zip(samples, parts[1:]))


class SchemaStatementsOnCurrentClickHouse(unittest.TestCase):
    """The schema crate's statements in schema/sql/ (database, migration
    bookkeeping, retention) run on 26.9 after the migrations."""

    def test_every_schema_statement_runs(self):
        self.assertTrue(SCHEMA_STATEMENTS, "no schema statements found")
        directory = tempfile.TemporaryDirectory(prefix="tracehouse-schema-")
        migrated = migrated_session(directory.name, "schema_check")
        try:
            for path in SCHEMA_STATEMENTS:
                with self.subTest(statement=path.name):
                    migrated.query(bind_positional(path.read_text()))
        finally:
            migrated.close()
            directory.cleanup()


if __name__ == "__main__":
    print(f"checking {len(MIGRATIONS)} migrations and {len(TEMPLATES)} query templates on chDB", flush=True)
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed
    print(f"dialect: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not result.testsRun else 0)
