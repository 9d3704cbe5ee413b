#!/usr/bin/env python3
"""Runs every migration and every query template of Tracehouse on current
ClickHouse (chDB, in-process), so the one SQL dialect is proven on the new
side too; the Rust integration tests prove it on the live 18.16 server.

Templates carry their sample parameters on a line
`-- params: name = literal, ...` (one SQL literal per placeholder name);
each `{name:Type}` placeholder becomes its literal, each `{fragment}` the
fragment's SQL, and `?fields` becomes `*`, as the query crate's template
parser does (`query/src/sql/template.rs`).
"""

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


PLACEHOLDER = re.compile(r"\{([a-z0-9_]+):([A-Za-z0-9()]+)\}")


def fragment_body(path):
    """A fragment's SQL without its leading comment lines."""
    lines = path.read_text().splitlines()
    while lines and lines[0].lstrip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).rstrip()


def with_fragments(template):
    """Inlines `{name}` fragments, also those fragments name, as the query crate does."""
    bodies = {path.stem: fragment_body(path) for path in FRAGMENTS}
    for _ in range(4):
        for name, body in bodies.items():
            template = template.replace("{" + name + "}", body)
    return template

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
                    self.session.query(path.read_text())
        for statement in SAMPLE_ROWS:
            self.session.query(statement)
        copied = self.session.query("SELECT count() FROM trace_spans", "CSV").bytes().decode().strip()
        self.assertEqual(copied, "1", "the materialized view copies spans into trace_spans")

    def test_2_every_query_template_runs(self):
        self.assertTrue(TEMPLATES, "no query templates found")
        for path in TEMPLATES:
            with self.subTest(template=path.name):
                template = path.read_text()
                sql = bind(with_fragments(template), params_of(template))
                self.session.query(sql, "JSONEachRow")

    def test_3_every_fragment_is_used(self):
        texts = [path.read_text() for path in TEMPLATES + FRAGMENTS]
        for path in FRAGMENTS:
            with self.subTest(fragment=path.name):
                self.assertTrue(any("{" + path.stem + "}" in text for text in texts), "unused fragment")


if __name__ == "__main__":
    print(f"checking {len(MIGRATIONS)} migrations and {len(TEMPLATES)} query templates on chDB", flush=True)
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed
    print(f"dialect: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not result.testsRun else 0)
