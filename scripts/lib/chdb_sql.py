"""Run SQL statements on a current ClickHouse engine, embedded in-process by chDB (PyPI `chdb-core`).

Reads a JSON array of statements on stdin, runs them in order in one session (state in a temporary
directory), and prints one JSON line per statement: {"ok": true, "result": "<JSONEachRow text>"} or
{"ok": false, "error": "..."}. Used by tests/current_clickhouse.rs to prove the SQL on a current engine.
"""

import json
import sys
import tempfile

from chdb import session


def main() -> int:
    statements = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as path:
        s = session.Session(path)
        version = str(s.query("SELECT version()", "CSV")).strip().strip('"')
        print(json.dumps({"ok": True, "version": version}), flush=True)
        for stmt in statements:
            try:
                result = s.query(stmt, "JSONEachRow")
                print(json.dumps({"ok": True, "result": str(result)}), flush=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported with its statement
                print(json.dumps({"ok": False, "error": str(e)}), flush=True)
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
