"""Personalised rendering: 100,000 emails through the sandboxed Personalizer, in renders/s.

The draft is Herald's own default "impact known" email, filled from a complete plan the way
`draft new` fills it, so the per-recipient blanks (customer_name, contact_name) stay as Jinja
code. It is compiled once (`Personalizer.compile`) and rendered for every recipient
(`Personalizer.render`): subject, body, To and Cc, as the sender would. The recipients are
made in memory (no database: this measures rendering, not reading the list).

The baseline, measured in the same run on the same text and the same recipients, is plain
`str.format_map` of the body and subject: the least any substitution can cost. Every rendered
body is also checked against the baseline's text, so a fast wrong answer cannot pass.

    .venv/bin/python -m bench.render                  # 100,000 emails, best of 3 runs
    .venv/bin/python -m bench.render -n 20000 --runs 1

The exit status is non-zero only on errors (a render that differs from the baseline text),
never because the target is missed.
"""

from __future__ import annotations

import argparse
import gc
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jinja2

from herald.services.blanks import draft_context
from herald.services.personalize import Personalizer, Recipient
from herald.templates.engine import Pack, render_source

TARGET = 20_000.0  # renders per second
KIND = "email_impact_known"
SUPPORT = "support@example.com"
# A complete plan, as `draft new` would find it.
PLAN = {
    "release": "5.2.0",
    "causes": "repositories added after the upgrade to be left out of search results",
    "remediation": "upgrade to 5.2.1",
    "messenger_name": "Maya Okafor",
}
_FIRST = ("Ana", "Ben", "Chloé", "Dana", "Emeka", "Fatima", "Jürgen", "Li", "Mateo", "Noor",
          "Olga", "Priya", "Søren", "Wei", "Yuki")
_LAST = ("Okafor", "Chen", "Müller", "Haddad", "Raman", "García", "Novak", "Tanaka", "O'Brien",
         "Larsen", "Silva", "Kim")
_KINDS = ("Inc.", "GmbH", "Ltd", "LLC", "S.A.", "Labs")


def draft() -> tuple[str, str]:
    """The default email's body and subject, as version 1 of a draft from a complete plan."""
    pack = Pack()
    template = pack.get(KIND)
    context, missing = draft_context(template.blanks, template.optional, PLAN)
    if missing:
        raise SystemExit(f"the bench plan misses {missing}")
    body = render_source(pack.env, template.path.name, template.source, context)
    subject = render_source(pack.env, template.path.name, template.subject or "", context)
    return body, subject


def make_recipients(n: int) -> list[Recipient]:
    """n distinct recipients, about 10 per account, with names from many languages."""
    people = []
    for i in range(n):
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i // 7) % len(_LAST)]
        account = i // 10
        people.append(Recipient(
            email=f"{first.lower()}.{i}@customer{account}.example",
            contact_name=f"{first} {last}",
            customer_name=f"Customer {account} {_KINDS[account % len(_KINDS)]}",
            account_id=f"0015g{account:08d}",
            ce_name="Carla CE", ce_email=f"ce{account % 40}@vendor.example",
            ae_name="Aaron AE", ae_email=f"ae{account % 25}@vendor.example"))
    return people


def to_format(text: str) -> str:
    """The same text for str.format: `{{ name }}` becomes `{name}`, other braces doubled."""
    parts = re.split(r"\{\{\s*(\w+)\s*\}\}", text)
    return "".join(p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                   for i, p in enumerate(parts))


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    """Seconds for each run (garbage collection off while timing, on between runs)."""
    out = []
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            out.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=100_000, help="emails per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (best is reported)")
    args = parser.parse_args(argv)

    body, subject = draft()
    t0 = time.perf_counter()
    people = make_recipients(args.count)
    made_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    personalizer = Personalizer.compile(body, subject, {"must_act": True}, SUPPORT, name=KIND)
    compile_ms = (time.perf_counter() - t0) * 1000
    fmt_body, fmt_subject = to_format(body), to_format(subject)

    # correctness first: every email equals the plain substitution of the same values
    for r in people:
        mail = personalizer.render(r)
        values = {"customer_name": r.customer_name, "contact_name": r.contact_name}
        if (mail.body != fmt_body.format_map(values).strip("\n")
                or mail.subject != fmt_subject.format_map(values)
                or mail.to != r.email or SUPPORT not in mail.cc):
            print(f"error: the email for {r.email} differs from the baseline text",
                  file=sys.stderr)
            return 1

    def herald_run() -> None:
        render = personalizer.render
        for r in people:
            render(r)

    def baseline_run() -> None:
        for r in people:
            values = {"customer_name": r.customer_name, "contact_name": r.contact_name,
                      "ce_name": r.ce_name, "ae_name": r.ae_name}
            fmt_body.format_map(values)
            fmt_subject.format_map(values)

    herald_s = timed(herald_run, args.runs)
    base_s = timed(baseline_run, args.runs)
    rate = args.count / min(herald_s)
    base_rate = args.count / min(base_s)
    median_rate = args.count / statistics.median(herald_s)
    passed = rate >= TARGET

    print(f"Herald personalised rendering, {args.count:,} emails x {args.runs} runs; "
          f"Python {platform.python_version()}, Jinja2 {jinja2.__version__}, "
          f"{platform.machine()} {platform.system()}\n")
    print(f"Draft: default `{KIND}` ({len(body)} characters, subject {len(subject)}), "
          f"compiled once in {compile_ms:.1f} ms; {args.count:,} recipients made in memory in "
          f"{made_s:.1f} s (not timed). Every email checked against the baseline text.\n")
    print("| what | best renders/s | median renders/s | per email | vs baseline |")
    print("|---|---:|---:|---:|---:|")
    print(f"| Personalizer.render (sandboxed Jinja; subject, body, To, Cc) | {rate:,.0f} | "
          f"{median_rate:,.0f} | {1e6 / rate:.1f} µs | {rate / base_rate:.2f}x |")
    print(f"| baseline: str.format_map of body and subject | {base_rate:,.0f} | "
          f"{args.count / statistics.median(base_s):,.0f} | {1e6 / base_rate:.1f} µs | 1.00x |")
    print(f"\nTarget: at least {TARGET:,.0f} renders/s: "
          f"{'PASS' if passed else 'FAIL'} ({rate:,.0f}/s, {rate / TARGET:.1f}x the target).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
