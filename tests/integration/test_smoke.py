"""A first walk over the services on both databases."""

from herald.services import steps, views
from herald.services.context import Herald
from tests.helpers import MESSENGER, new_incident


def test_claim_completes_the_timeline_event(h: Herald) -> None:
    ref = new_incident(h)
    steps.complete_step(h, ref, "claim", actor=MESSENGER, link="https://chat.example.com/p1")
    row = next(r for r in views.timeline(h, ref) if r.key == "claim")
    assert row.completed_at == h.clock.now()
    assert row.link == "https://chat.example.com/p1"
    assert views.incident_detail(h, ref).next_step == 2
