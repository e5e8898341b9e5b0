"""The messenger's ordered steps and the rules for doing them in order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StepState(StrEnum):
    """Where one step of the checklist stands."""

    PENDING = "pending"
    DONE = "done"
    NA = "na"


@dataclass(frozen=True)
class Step:
    """One step of the handbook: its number, a short title and how to do it."""

    number: int
    key: str
    title: str
    howto: str
    event: str | None = None  # the timeline event this step completes, if any
    calm: bool = False  # a calm prompt: one click, but never skipped silently


STEPS: tuple[Step, ...] = (
    Step(1, "claim", "Claim the incident",
         "Say in the support, internal support, incidents and incident channels that you are "
         "on it and need a few minutes to catch up. Nothing else yet.", event="claim"),
    Step(2, "pause", "Count to ten", "Slowly. The incident will still be there.", calm=True),
    Step(3, "breathe", "Breathe", "One deep breath in, and all the way out.", calm=True),
    Step(4, "water", "Sip some water", "Hydrated messengers write better emails.", calm=True),
    Step(5, "buddy", "Ask for a buddy",
         "Post in the internal support channel, mention the support team, and ask for a "
         "teammate to keep you on track and proofread.", event="buddy"),
    Step(6, "read", "Read the steps with your buddy",
         "Read every remaining step together before going further. Stuck at any point? "
         "Ask CS leadership to join."),
    Step(7, "workspace", "Name the workspace",
         "Give the incident its number (inc-NN) and a descriptive name, or a descriptive name "
         "alone until a number exists; link the incident folder.", event="workspace"),
    Step(8, "plan", "Start the communication plan",
         "Fill the plan's header: number and name, people in their roles, severity, "
         "security flag and links.", event="plan_created"),
    Step(9, "gather", "Gather the facts",
         "Read the incident channel and threads into the plan's facts; ask in the channel for "
         "what is missing. A security incident stops here until security is involved.",
         event="info_gathered"),
    Step(10, "contacts", "Build the impacted customer list",
         "From engineering's list or from CRM data with each CE marking their customers; "
         "follow up until every impacted account has an email, a CE and an AE.",
         event="list_ready"),
    Step(11, "drafts", "Draft the customer messages",
         "Write the drafts from the templates using the plan's facts.", event="drafts_ready"),
    Step(12, "timeline_plan", "Plan the timeline",
         "Give every timeline event a planned date, or mark it n/a. Mind any disclosure "
         "deadline.", event="timeline_planned"),
    Step(13, "timeline_track", "Keep the timeline current",
         "From now on, record completed dates and links as things happen."),
    Step(14, "reviews", "Request the reviews",
         "All at once: buddy and CS leadership, incident lead (and security lead), marketing, "
         "legal if decided; inform the CE team. Include the status page recommendation.",
         event="reviews_requested"),
    Step(15, "finalize", "Finalize the messages",
         "Work in every edit and comment until the required reviewers approve.",
         event="reviews_approved"),
    Step(16, "send", "Post and send",
         "Status page only when appropriate; one-to-one emails from you with the CE, AE and "
         "support address in copy.", event="emails_sent"),
    Step(17, "tickets", "Triage the tickets",
         "Tickets created by the emails go to your queue: requester is the customer, status "
         "pending.", event="tickets_triaged"),
    Step(18, "timeline_check", "Check the timeline",
         "Every completed event has its date and link.", event="timeline_checked"),
    Step(19, "queue_light", "Keep your queue light",
         "Take few new tickets for a few days so you can answer customers quickly."),
    Step(20, "replies", "Follow up on replies",
         "Confirm answers with engineering in the incident channel before replying; record "
         "questions and answers in the FAQ.", event="faq"),
    Step(21, "postmortem", "Handle post-mortem requests",
         "Record who wants the post-mortem, tell the product manager and incident lead, and "
         "send it when ready.", event="postmortem_sent"),
    Step(22, "close", "Close quiet tickets",
         "After three days, close tickets that need no follow-up.", event="tickets_closed"),
    Step(23, "retro", "Join the retro",
         "Bring the process ideas you parked during the incident.", event="retro"),
    Step(24, "celebrate", "Celebrate", "Look at what you did. It mattered.", event="celebrated"),
)

BY_NUMBER = {s.number: s for s in STEPS}
BY_KEY = {s.key: s for s in STEPS}
SECURITY_STEP = 9


def find_step(ref: str | int) -> Step | None:
    """Look up a step by number or key (e.g. 9 or 'gather')."""
    if isinstance(ref, int) or str(ref).strip().isdigit():
        return BY_NUMBER.get(int(ref))
    return BY_KEY.get(str(ref).strip().lower())


@dataclass(frozen=True)
class SecurityGate:
    """What the security branch of step 9 needs before anything after it."""

    security_lead: bool
    cs_leader: bool
    unsigned_facts: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        """What is still missing, in words."""
        out = []
        if not self.security_lead:
            out.append("a security lead is assigned")
        if not self.cs_leader:
            out.append("a CS leader is engaged")
        return out


@dataclass(frozen=True)
class Decision:
    """Whether a step may be done now, and why not."""

    allowed: bool
    reason: str = ""
    needs_override: bool = False  # an override with a reason would make it allowed


def can_complete(
    step: Step,
    states: dict[int, StepState],
    *,
    security: SecurityGate | None,
    override: str | None = None,
) -> Decision:
    """Decide whether `step` may be marked done (or n/a) given the other steps' states."""
    if states.get(step.number) is not StepState.PENDING:
        return Decision(False, f"step {step.number} is already {states[step.number].value}")
    if security is not None and step.number >= SECURITY_STEP:
        if step.number > SECURITY_STEP and security.missing:
            return Decision(False, "security incident: no step after 9 until "
                            + " and ".join(security.missing) + " (an override cannot lift this)")
        if security.unsigned_facts:  # every fact carries the security lead's sign-off
            return Decision(False, "security incident: the security lead has not signed off: "
                            + ", ".join(security.unsigned_facts)
                            + " (an override cannot lift this)")
    earlier = [n for n in sorted(states) if n < step.number and states[n] is StepState.PENDING]
    if earlier and not (override and override.strip()):
        listed = ", ".join(str(n) for n in earlier[:5]) + ("..." if len(earlier) > 5 else "")
        return Decision(False, f"step {step.number} comes after pending step(s) {listed}; "
                        "finish those first or give an override with a reason",
                        needs_override=True)
    if security is not None and step.number == SECURITY_STEP and security.missing:
        return Decision(False, "security incident: step 9 needs "
                        + " and ".join(security.missing))
    return Decision(True)


def next_step(states: dict[int, StepState]) -> Step | None:
    """The first pending step in handbook order, or None when every step is settled."""
    for step in STEPS:
        if states.get(step.number, StepState.PENDING) is StepState.PENDING:
            return step
    return None


def skipped_before(states: dict[int, StepState], number: int) -> list[int]:
    """Pending steps that come before `number` (what an override jumps over)."""
    return [n for n in sorted(states) if n < number and states[n] is StepState.PENDING]
