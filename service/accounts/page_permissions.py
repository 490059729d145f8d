"""Who may open a staff page: a person signed in on the web who holds the page's scopes.

Pages are for people; systems use the REST API with a key. Each dependency here is a scope
(checked by `authorize`, which also refuses a state change without the CSRF token) and
`signed_in_person` (an API key is refused with 403), so the authorisation matrix sees both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from service.accounts.permissions import signed_in_person
from service.accounts.principal import Principal
from service.accounts.roles import Scope


def _person_with(scope: Scope) -> object:
    return Security(signed_in_person, scopes=[scope.value])


PageAdmin = Annotated[Principal, _person_with(Scope.admin)]
PageNoticesRead = Annotated[Principal, _person_with(Scope.notices_read)]
PageNoticesSend = Annotated[Principal, _person_with(Scope.notices_send)]
PageRecipientsRead = Annotated[Principal, _person_with(Scope.recipients_read)]
PageRecipientsWrite = Annotated[Principal, _person_with(Scope.recipients_write)]
PageReportsRead = Annotated[Principal, _person_with(Scope.reports_read)]
