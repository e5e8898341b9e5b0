"""Benchmark: build the impacted customer list from a CRM export and an engineering list.

Herald's full import path (a CRM report import, then an engineering list import, each a real
`import_file` call into a fresh database that stores accounts, domains, contacts and marks) is
timed on SQLite and on PostgreSQL, and compared with DuckDB doing the same match in the same run
(read both files, normalise emails, match by account id, email and domain, dedup, write the
result). Every measured part runs in its own child process so that each peak memory figure
(ru_maxrss) is its own.

    .venv/bin/python bench/contacts.py                     # 100,000 accounts, 1,000,000 rows
    .venv/bin/python bench/contacts.py --accounts 2000 --engineering-rows 20000   # quick look

The files are generated deterministically (seeded) under --data-dir (default /tmp). The exit
status is non-zero only on errors (a crash, a database that cannot be reached, or Herald and
DuckDB disagreeing on the matched accounts), never because a target is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

RATIO_TARGET = 4.0
MEMORY_TARGET_MB = 1024.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/herald_bench"

CRM_HEADER = ["Account Name", "Account ID", "Website", "Deployment Type", "First Name",
              "Last Name", "Email", "Incident Contact", "Customer Engineer", "Email",
              "Account Owner", "Email"]
ENG_HEADER = ["user_email", "account_id", "domain", "instance_url"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
                "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Wei Aiko Lars "
                "Ingrid Pierre Amélie Jürgen Søren Chloé Mateo Lucía Priya Arjun Fatima Omar Yuki "
                "Hana Olga Ivan Noah Emma Liam Olivia Ava Sophia Lucas Mia Ethan Zoe")
_LAST = _words("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
               "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee "
               "Perez Thompson White Harris Müller Schmidt Dubois Rossi Novak Kowalski Tanaka "
               "Sato Kim Park Chen Wang Singh Patel Nguyen O'Brien Fischer Larsen Silva Costa "
               "Ivanova")
_WORDS = _words("acme globex initech umbrella stark wayne wonka tyrell cyberdyne soylent hooli "
                "vandelay massive dynamic aperture black mesa oscorp gringotts monarch nakatomi "
                "pied piper prestige sterling vertex summit pioneer harbor apex nimbus quantum "
                "polar cobalt granite maple cedar falcon orbit signal beacon lumen atlas nova "
                "zenith")
_KINDS = ("Inc.", "GmbH", "Ltd", "LLC", "S.A.", "AG", "Corp.", "B.V.", "Group", "Labs")
_TLDS = (".com", ".com", ".com", ".io", ".de", ".co.uk", ".net", ".fr", ".org", ".dev")
_DEPLOYMENTS = ("Self-Hosted", "Cloud", "Cloud", "On-Prem", "SaaS", "Managed", "Self-Hosted")
_HOSTS = ("git", "ci", "scm", "code", "gitlab", "dev.eu", "build.us-east")


# --- data -----------------------------------------------------------------------------------


def _account_id(i: int) -> str:
    """An 18-character Salesforce-like id, unique per account."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n, out = i * 7919 + 104729, []
    for _ in range(8):
        n, r = divmod(n, 62)
        out.append(alphabet[r])
    return "0015g00000" + "".join(reversed(out))


def generate(accounts: int, per_account: int, eng_rows: int, seed: int,
             folder: Path) -> tuple[Path, Path]:
    """Write the CRM report and the engineering list (once per set of parameters)."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{accounts}x{per_account}-{eng_rows}-s{seed}"
    crm_path, eng_path = folder / f"crm-{tag}.csv", folder / f"engineering-{tag}.csv"
    if crm_path.exists() and eng_path.exists():
        return crm_path, eng_path
    rng = random.Random(seed)
    ces = [(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", f"ce{n}@herald-vendor.example")
           for n in range(150)]
    aes = [(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", f"ae{n}@herald-vendor.example")
           for n in range(250)]
    domains: list[str] = []
    emails: list[list[str]] = []
    tmp = crm_path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as f:  # Salesforce writes a BOM
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(CRM_HEADER)
        for i in range(accounts):
            words = rng.sample(_WORDS, 2)
            name = f"{words[0].title()} {words[1].title()}"
            name = rng.choice((f"{name}, {rng.choice(_KINDS)}", f"{name} {rng.choice(_KINDS)}",
                               name))
            domain = f"{words[0]}{words[1]}{i}{rng.choice(_TLDS)}"
            website = rng.choice((f"https://www.{domain}", f"www.{domain}", domain,
                                  f"http://{domain}/", f"https://{domain}/en/home"))
            deployment = rng.choice(_DEPLOYMENTS)
            ce, ae = rng.choice(ces), rng.choice(aes)
            acct_id = _account_id(i)
            domains.append(domain)
            mine: list[str] = []
            for k in range(per_account):
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                local = unicodedata.normalize("NFKD", f"{first}.{last}").encode(
                    "ascii", "ignore").decode().replace("'", "")
                email = f"{local}{k}@{domain}"
                email = email if rng.random() < 0.7 else email.title()  # mixed case
                mine.append(email)
                w.writerow([name, acct_id, website, deployment, first, last, email,
                            "1" if k == 0 or rng.random() < 0.2 else "0", ce[0], ce[1],
                            ae[0], ae[1]])
            emails.append(mine)
        # A report footer as CRM tools write it.
        f.write('\r\n"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\r\n'
                '"Confidential Information - Do Not Distribute"\r\n'
                '"Generated By:  Ops Bench  5/14/2026 9:12 AM"\r\n"Example Vendor, Inc."\r\n')
    tmp.replace(crm_path)

    impacted = rng.sample(range(accounts), max(1, accounts * 35 // 100))
    tmp = eng_path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(ENG_HEADER)
        previous: list[str] = ["", "", "", ""]
        for n in range(eng_rows):
            i = rng.choice(impacted)
            domain = domains[i]
            roll = rng.random()
            if roll < 0.03:  # the same line again, as exports of joined tables do
                row = previous
            elif roll < 0.40:  # a known contact
                row = [rng.choice(emails[i]).upper() if roll < 0.05 else rng.choice(emails[i]),
                       "", "", ""]
            elif roll < 0.58:  # a user at a known domain (or a subdomain of it)
                host = domain if roll < 0.55 else f"mail.{domain}"
                row = [f"user{n}@{host}", "", "", ""]
            elif roll < 0.70:  # an account id, sometimes with the email too
                row = [f"user{n}@{domain}" if roll < 0.62 else "", _account_id(i), "", ""]
            elif roll < 0.86:  # an instance URL on a subdomain
                row = ["", "", "", f"https://{rng.choice(_HOSTS)}.{domain}/users/{n}"]
            elif roll < 0.92:  # a domain
                row = ["", "", rng.choice((domain, f"www.{domain}", domain.upper())), ""]
            elif roll < 0.985:  # nobody we know
                row = rng.choice(([f"someone{n}@unknown{n % 977}.example", "", "", ""],
                                  ["", "", "", f"https://ci.unknown{n % 613}.example/x"],
                                  ["", "0015g00000ZZZZZZZZ", "", ""]))
            else:  # not usable at all
                row = [rng.choice(("n/a", "TBD", "user at acme")), "", "", ""]
            w.writerow(row)
            previous = row
    tmp.replace(eng_path)
    return crm_path, eng_path


# --- measured parts (each in its own process) ------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _cpu() -> float:
    """CPU seconds of this process so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pg_cpu(url: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends serving the bench database (read from
    /proc: the server runs on this machine), so that work moved into the server is counted."""
    import psycopg

    tick = os.sysconf("SC_CLK_TCK")
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def run_herald(url: str, crm: Path, eng: Path, home: Path) -> dict[str, Any]:
    """CRM import then engineering import into a fresh database; the two calls are timed."""
    from sqlalchemy import func, select

    from herald.services.contact_import import import_file
    from herald.services.context import open_herald
    from herald.services.incidents import create_incident
    from herald.settings import Settings
    from herald.store.contact_models import AccountDomain, Contact, CustomerAccount, ImpactMark

    h = open_herald(Settings(home=home, database_url=url))  # type: ignore[arg-type]
    ref = create_incident(h, title="Bench: customer list import", actor="bench@example.com",
                          messenger="bench@example.com")
    base = _peak_mb()
    pg = url.startswith("postgresql")
    server0 = _pg_cpu(url) if pg else 0.0
    cpu0, t0 = _cpu(), time.perf_counter()
    crm_report = import_file(h, ref, crm, source="crm", actor="bench@example.com")
    t1 = time.perf_counter()
    eng_report = import_file(h, ref, eng, source="engineering", actor="bench@example.com")
    t2, cpu = time.perf_counter(), _cpu() - cpu0
    server = (_pg_cpu(url) or 0.0) - (server0 or 0.0) if pg else 0.0
    with h.db.transaction() as s:
        stored = {name: s.scalar(select(func.count()).select_from(table)) for name, table in (
            ("accounts", CustomerAccount), ("domains", AccountDomain), ("contacts", Contact),
            ("marks", ImpactMark))}
        impacted = s.scalar(select(func.count()).select_from(ImpactMark)
                            .where(ImpactMark.impact == "yes"))
    h.db.dispose()
    return {"seconds": t2 - t0, "crm_seconds": t1 - t0, "eng_seconds": t2 - t1,
            "cpu_seconds": cpu + server, "server_cpu_seconds": server, "peak_mb": _peak_mb(),
            "base_mb": base, "stored": stored, "impacted": impacted,
            "crm": {k: getattr(crm_report, k) for k in ("read", "imported", "merged")}
            | {"rejected": len(crm_report.rejected)},
            "eng": {k: getattr(eng_report, k) for k in ("read", "imported", "merged")}
            | {"rejected": len(eng_report.rejected), "unmatched": len(eng_report.unmatched)}}


_DUCK_SQL = r"""
CREATE MACRO host(t) AS
    regexp_extract(lower(trim(t)), '^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?([^/:]+)', 1);
CREATE MACRO up(h) AS substr(h, strpos(h, '.') + 1);
CREATE TEMP TABLE crm AS
  SELECT crm_id, lower(trim(email)) AS email, host(website) AS domain FROM read_csv($crm,
    header = true, all_varchar = true, null_padding = true, ignore_errors = true,
    names = ['account_name', 'crm_id', 'website', 'deployment', 'first_name', 'last_name',
             'email', 'incident_contact', 'ce_name', 'ce_email', 'ae_name', 'ae_email'])
  WHERE crm_id IS NOT NULL;
CREATE TEMP TABLE known AS SELECT k, min(account) AS account FROM (
    SELECT 'i:' || crm_id AS k, crm_id AS account FROM crm
    UNION ALL SELECT 'e:' || email, crm_id FROM crm WHERE email LIKE '%_@_%'
    UNION ALL SELECT 'd:' || domain, crm_id FROM crm WHERE domain LIKE '%_._%')
  GROUP BY k;
CREATE TEMP TABLE eng AS
  SELECT row_number() OVER () + 1 AS line, trim(account_id) AS id,
         lower(trim(user_email)) AS email, split_part(lower(trim(user_email)), '@', 2) AS ed,
         host(domain) AS d, host(instance_url) AS h
  FROM read_csv($eng, header = true, all_varchar = true);
CREATE TEMP TABLE wanted AS
  SELECT line, 0 AS p, 'i:' || id AS k FROM eng WHERE id <> ''
  UNION ALL SELECT line, 10, 'e:' || email FROM eng WHERE email LIKE '%_@_%'
  UNION ALL SELECT line, 20, 'd:' || ed FROM eng WHERE ed <> ''
  UNION ALL SELECT line, 21, 'd:' || up(ed) FROM eng WHERE ed <> ''
  UNION ALL SELECT line, 22, 'd:' || up(up(ed)) FROM eng WHERE ed <> ''
  UNION ALL SELECT line, 30, 'd:' || d FROM eng WHERE d <> ''
  UNION ALL SELECT line, 31, 'd:' || up(d) FROM eng WHERE d <> ''
  UNION ALL SELECT line, 32, 'd:' || up(up(d)) FROM eng WHERE d <> ''
  UNION ALL SELECT line, 40, 'd:' || h FROM eng WHERE h <> ''
  UNION ALL SELECT line, 41, 'd:' || up(h) FROM eng WHERE h <> ''
  UNION ALL SELECT line, 42, 'd:' || up(up(h)) FROM eng WHERE h <> '';
CREATE TABLE impacted AS
  SELECT account AS crm_id, min(line) AS first_line, count(*) AS rows FROM (
    SELECT line, arg_min(account, p) AS account FROM wanted JOIN known USING (k) GROUP BY line)
  GROUP BY account ORDER BY first_line;
"""


def run_duckdb(crm: Path, eng: Path, folder: Path) -> dict[str, Any]:
    """Read both files, match by id, email and domain, dedup, write a table to a file."""
    import duckdb

    target = folder / "impacted.duckdb"
    target.unlink(missing_ok=True)
    cpu0, t0 = _cpu(), time.perf_counter()
    con = duckdb.connect(str(target))
    for statement in filter(str.strip, _DUCK_SQL.split(";\n")):
        con.execute(statement, {k: str(v) for k, v in (("crm", crm), ("eng", eng))
                                if f"${k}" in statement})
    row = con.execute("SELECT count(*), sum(rows) FROM impacted").fetchone()
    lines = con.execute("SELECT count(*) FROM eng").fetchone()
    con.close()
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    assert row is not None and lines is not None
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": _peak_mb(), "impacted": row[0],
            "matched_rows": int(row[1] or 0), "eng_rows": lines[0]}


# --- driver ----------------------------------------------------------------------------------


def _fresh_pg(url: str, *, again: bool = True) -> None:
    """Drop (and unless told otherwise re-create) the bench database (never a database the
    bench did not name)."""
    import psycopg

    base, _, name = url.rpartition("/")
    if not name or not name.replace("_", "").isalnum() or "bench" not in name:
        raise SystemExit(f"refusing to recreate {name!r}: the bench database name must "
                         "contain 'bench'")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if again:
            conn.execute(f'CREATE DATABASE "{name}"')


def _child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"bench part failed: {' '.join(args[:2])}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--contacts-per-account", type=int, default=3)
    p.add_argument("--engineering-rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "herald-bench")
    p.add_argument("--pg-url", default=os.environ.get("HERALD_BENCH_PG_URL", DEFAULT_PG),
                   help="bench database (dropped and re-created; its name must contain 'bench')")
    p.add_argument("--backends", default="sqlite,postgresql",
                   help="comma-separated: sqlite, postgresql")
    p.add_argument("--repeat", type=int, default=1,
                   help="run every part this many times and keep each one's fastest run")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    p.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.child:  # one measured part, in this (child) process
        kind, crm, eng, folder = a.child[0], Path(a.child[1]), Path(a.child[2]), Path(a.child[3])
        if kind == "duckdb":
            out = run_duckdb(crm, eng, folder)
        else:
            out = run_herald(a.child[4], crm, eng, folder)
        print(json.dumps(out))
        return 0

    t = time.perf_counter()
    crm, eng = generate(a.accounts, a.contacts_per_account, a.engineering_rows, a.seed,
                        a.data_dir)
    print(f"data: {crm} ({crm.stat().st_size / 1e6:.1f} MB), {eng} "
          f"({eng.stat().st_size / 1e6:.1f} MB), ready in {time.perf_counter() - t:.1f} s")
    backends = [b.strip() for b in a.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        work = Path(tmp)
        for n in range(a.repeat):  # rounds of every part; each part keeps its fastest run
            parts: dict[str, list[str]] = {
                "duckdb": ["--child", "duckdb", str(crm), str(eng), str(work)]}
            for backend in backends:
                home = work / f"{backend}-{n}"
                url = f"sqlite:///{home / 'herald.db'}" if backend == "sqlite" else a.pg_url
                parts[backend] = ["--child", backend, str(crm), str(eng), str(home), url]
            for name, args in parts.items():
                if name == "postgresql":
                    _fresh_pg(a.pg_url)
                # Each part starts with no earlier part's writes still going to disk: Herald's
                # parts write hundreds of MB, and their flushing would slow whatever runs next.
                os.sync()
                result = _child(args)
                if name == "postgresql":  # (else its autovacuum would run during the next part)
                    _fresh_pg(a.pg_url, again=False)
                if name not in runs or result["seconds"] < runs[name]["seconds"]:
                    runs[name] = result
    load_after = os.getloadavg()
    return _print_results(a, runs, load_before[0], load_after[0])


def _print_results(a: argparse.Namespace, runs: dict[str, dict[str, Any]], load_before: float,
                   load_after: float) -> int:
    duck = runs["duckdb"]
    cores = os.cpu_count() or 1
    print(f"\n{a.accounts:,} accounts x {a.contacts_per_account} contacts "
          f"({a.accounts * a.contacts_per_account:,} CRM rows), {a.engineering_rows:,} "
          f"engineering rows; best of {a.repeat}; {cores} cores, load average "
          f"{load_before:.1f} before, {load_after:.1f} after")
    print(f"targets: wall time <= {RATIO_TARGET:g}x DuckDB's, peak memory < "
          f"{MEMORY_TARGET_MB:g} MB (cpu s: this process and its PostgreSQL backends)")
    print(f"{'backend':<11} {'seconds':>8} {'crm s':>7} {'eng s':>7} {'ratio':>6} {'cpu s':>7} "
          f"{'cpu ratio':>9} {'peak MB':>8}  result")
    print(f"{'duckdb':<11} {duck['seconds']:>8.2f} {'':>7} {'':>7} {'1.00':>6} "
          f"{duck['cpu_seconds']:>7.2f} {'1.00':>9} {duck['peak_mb']:>8.0f}  reference")
    errors = []
    for backend, r in runs.items():
        if backend == "duckdb":
            continue
        r["ratio"] = ratio = r["seconds"] / duck["seconds"]
        r["cpu_ratio"] = r["cpu_seconds"] / duck["cpu_seconds"]
        fails = [f"{ratio:.1f}x > {RATIO_TARGET:g}x"] if ratio > RATIO_TARGET else []
        fails += [f"{r['peak_mb']:.0f} MB >= {MEMORY_TARGET_MB:g} MB"] \
            if r["peak_mb"] >= MEMORY_TARGET_MB else []
        print(f"{backend:<11} {r['seconds']:>8.2f} {r['crm_seconds']:>7.2f} "
              f"{r['eng_seconds']:>7.2f} {ratio:>6.2f} {r['cpu_seconds']:>7.2f} "
              f"{r['cpu_ratio']:>9.2f} {r['peak_mb']:>8.0f}  "
              + ("FAIL (" + "; ".join(fails) + ")" if fails else "PASS"))
        if r["impacted"] != duck["impacted"]:
            errors.append(f"{backend}: Herald marked {r['impacted']} accounts impacted, "
                          f"DuckDB matched {duck['impacted']}: the two do not do the same match")
    for backend, r in runs.items():
        if backend != "duckdb":
            print(f"  {backend}: stored {r['stored']}; crm {r['crm']}; engineering {r['eng']}")
    print(f"  duckdb: {duck['impacted']} impacted accounts from {duck['matched_rows']} matched "
          f"of {duck['eng_rows']} rows")
    if max(load_before, load_after) > cores:
        print(f"  note: the load average exceeded the {cores} cores: other work shared the "
              "machine, wall times (and ratios) are less reliable than cpu times")
    if a.json:
        print(json.dumps(runs, indent=2))
    for e in errors:
        print(f"ERROR: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
