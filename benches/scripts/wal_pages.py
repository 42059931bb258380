"""WAL pages an append of plera's SQLite log writes per commit, by table (BENCHMARKS.md, section 1,
session 7).

A model of the engine bench's appends on the store's own schema, in Python's `sqlite3`: leads'
histories appended in bulk, the WAL checkpointed, then COMMITS commits of 20 events (one per
sender), every other one with its 20 `sender_actions` rows, as the engine's `StepStarted` and
outcome commits. Prints the WAL pages per commit of each table or index, counted from the WAL file.

    python3 benches/scripts/wal_pages.py 200
    python3 benches/scripts/wal_pages.py 2000
"""

import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = open(os.path.join(HERE, "../../adapters/migrations/sqlite/0001_event_log.sql")).read()
PAYLOAD = (
    '{"StepStarted":{"step":3,"action":"message",'
    '"account_id":"acc-00000000-0000-0000-0000-000000000000","at":"2026-03-02T09:00:00Z"}}'
)
PAGE = 4096


def pages_per_commit(history, filler, commits, leads=100, senders=20):
    """WAL pages per commit by table, after `history` events per lead and `filler` events of
    other leads."""
    work = tempfile.mkdtemp()
    path = os.path.join(work, "log.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(SCHEMA)
    position = 0
    sequences = {}

    def append(rows):
        nonlocal position
        db.execute("BEGIN IMMEDIATE")
        events, actions = [], []
        for lead, account in rows:
            position += 1
            sequences[lead] = sequences.get(lead, 0) + 1
            events.append(("lead_sequence", lead, sequences[lead], "StepStarted", "1", PAYLOAD,
                           "{}", position))
            if account is not None:
                actions.append((position, account, "message", f"2026-03-{position:012d}"))
        db.executemany("INSERT OR ROLLBACK INTO events VALUES (?,?,?,?,?,?,?,?)", events)
        db.executemany("INSERT INTO sender_actions VALUES (?,?,?,?)", actions)
        db.execute("COMMIT")

    ids = [(f"ws/bench/lead-{i % senders}-{i // senders}", f"acc-{i % senders:02d}")
           for i in range(leads)]
    setup = []
    for lead, account in ids:
        setup += [(lead, account if k % 2 else None) for k in range(history)]
    for g in range(filler // 1000):
        setup += [(f"ws/bench/filler-{g}", f"acc-{g % senders:02d}" if k % 2 else None)
                  for k in range(1000)]
    for i in range(0, len(setup), 10_000):
        append(setup[i:i + 10_000])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for k in range(commits):
        tick = [ids[(k // 2 * senders + j) % leads] for j in range(senders)]
        append([(lead, account if k % 2 == 0 else None) for lead, account in tick])
    copy = os.path.join(work, "copy.db")
    for suffix in ("", "-wal"):
        shutil.copy(path + suffix, copy + suffix)
    db.close()
    wal = open(copy + "-wal", "rb").read()
    frames = [struct.unpack(">I", wal[o:o + 4])[0] for o in range(32, len(wal) - 23, 24 + PAGE)]
    owners = dict((page, name) for name, page in
                  sqlite3.connect(copy).execute("SELECT name, pageno FROM dbstat"))
    counts = collections.Counter(owners.get(page, "?") for page in frames)
    shutil.rmtree(work)
    return {name: count / commits for name, count in counts.most_common()}, len(frames) / commits


def main():
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for name, history, filler in [("history 10", 10, 0), ("history 1,000", 1000, 0),
                                  ("history 10, log as long as 1,000's", 10, 99_000)]:
        by_table, total = pages_per_commit(history, filler, commits)
        shown = ", ".join(f"{t} {n:.1f}" for t, n in by_table.items())
        print(f"{name}: {total:.1f} pages per commit ({shown})")


if __name__ == "__main__":
    main()
