"""What the customer-list web and API tests share: people, a CRM report, signing in."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from herald.services import accounts, contact_import
from herald.services.context import Herald
from tests.contact_files import CRM_HEADER, SALESFORCE_FOOTER, crm_row, csv_bytes, write
from tests.helpers import MESSENGER

PASSWORD = "correct horse battery staple"
CARLA = "carla@vendor.example"  # CE of Acme and Initech
CID = "cid@vendor.example"  # CE of Globex
AE = "aaron@vendor.example"
OUTSIDER = "outsider@example.com"  # support, on no incident
VIEWER = "viewer@example.com"  # read-only account
PEOPLE = {MESSENGER: "support", CARLA: "account_team", CID: "account_team",
          OUTSIDER: "support", VIEWER: "viewer"}

CRM_ROWS = [
    CRM_HEADER,                                                                       # 1
    crm_row("Acme Corp", "0011", "acme.com", "Self-Hosted", "Ann", "Able", "ann@acme.com",
            "Yes"),                                                                   # 2
    crm_row("Acme Corp", "0011", "acme.com", "Self-Hosted", "Ann", "Able", "ann@acme.com",
            "Yes"),                                                                   # 3
    crm_row("=HYPERLINK(\"http://x.example\")", "0012", "globex.com", "Cloud", "Gina", "",
            "gina@globex.com", "Yes", ce="Cid CE", ce_email=CID),                     # 4
    crm_row("Initech", "0013", "initech.com", "Cloud", "Ian", "", "ian@initech.com",
            "Yes"),                                                                   # 5
    crm_row("Hooli", "0014", "hooli.com", "Cloud", "Hal", "", "hal@hooli.com",
            ce="", ce_email="", ae="", ae_email=""),                                  # 6
    crm_row("Umbrella", "0015", "umbrella.com", "Cloud", "Uma", "", "uma(at)umbrella.com"),
    *SALESFORCE_FOOTER,                                                               # 8-13
]


def crm_file() -> bytes:
    """A CRM report export as Salesforce writes it (BOM, duplicate line, footer)."""
    return csv_bytes(CRM_ROWS, bom=True)


def seed_people(h: Herald) -> None:
    """An account for each test person."""
    for email, role in PEOPLE.items():
        accounts.create_user(h, email=email, name=email.split("@")[0].title(), roles=[role],
                             password=PASSWORD, actor="admin@example.com")


def seed_list(h: Herald, ref: str, tmp_path: Path) -> None:
    """The CRM report imported through the service: four accounts, none answered (line 7,
    Umbrella, is rejected for its address)."""
    contact_import.import_file(h, ref, write(tmp_path, "crm.csv", crm_file()), source="crm",
                               actor=MESSENGER)


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def signed_in(client: TestClient, email: str) -> str:
    """Sign the client in through the login page; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/",
                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/account").text)
