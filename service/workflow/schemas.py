"""Who acts on a notice, and the ways a workflow step can be refused."""

from __future__ import annotations

from dataclasses import dataclass

from service.notices.models import NoticeState


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a signed-in person (their e-mail) or an API key (`key:<prefix>`).

    Built by the web app and the API from their Principal, and by commands from `--actor`.
    """

    name: str
    source: str  # web, api, cli, schedule, cap: where the step came from (audit log)
    is_test: bool = False  # a test key: exercise and test notices only, outbox transports
    address: str = ""  # the client's address, for the audit log


class WorkflowError(Exception):
    """A step that cannot be taken; `message` says why and what to do instead."""

    status = 409

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class WrongState(WorkflowError):
    """The notice is not in a state that allows the step (already sent, discarded, ...)."""

    status = 409


class NotAllowed(WorkflowError):
    """The actor may not take this step on this notice (four eyes, test keys)."""

    status = 403


class ChecksNotAccepted(WorkflowError):
    """Checks failed and the approver did not say they read them and approve anyway."""

    status = 409


class ApprovalWithdrawn(WorkflowError):
    """The notice changed after it was approved; it must be approved again."""

    status = 409


EDITABLE = frozenset(
    {NoticeState.draft, NoticeState.submitted, NoticeState.approved, NoticeState.scheduled}
)
UNSENT = EDITABLE
