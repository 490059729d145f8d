"""Users and API keys in the web app (admins only): create, roles, disable; keys shown once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from service.accounts.admin_render import first, form_lists, render_admin, with_language
from service.accounts.keys import NAME_MAX, create_key, key_status, list_keys, revoke_key
from service.accounts.models import ApiKey, User
from service.accounts.page_permissions import PageAdmin
from service.accounts.pages import page_language
from service.accounts.passwords import password_problems
from service.accounts.principal import Principal
from service.accounts.roles import Role, Scope
from service.accounts.users import (
    AccountError,
    create_user,
    email_problem,
    find_user,
    list_users,
    normalise_email,
    set_disabled,
    set_roles,
)
from service.api.deps import SessionDep
from service.clock import utcnow

router = APIRouter(prefix="/admin", include_in_schema=False)
MAX_KEY_DAYS = 3650
Errors = list[dict[str, Any]]


def service_errors(text: str, default_field: str) -> Errors:
    """The service's 'field: reason; ...' message as error entries (shown in English)."""
    entries: Errors = []
    for part in text.split("; "):
        field, _sep, reason = part.partition(": ")
        if not reason:
            field, reason = default_field, part
        entries.append({"field": field, "code": "service", "text": reason})
    return entries


def _error(field: str, code: str, **params: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "text": "", "params": params}


def _users_page(
    request: Request, session: Session, principal: Principal, **context: Any
) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault("form", {"email": "", "display_name": "", "roles": []})
    return render_admin(
        request,
        "admin/users.html",
        principal,
        current="/admin/users",
        users=list_users(session),
        roles=[r.value for r in Role],
        done=request.query_params.get("done", "")[:20],
        who=request.query_params.get("who", "")[:254],
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, principal: PageAdmin, session: SessionDep) -> HTMLResponse:
    """Every user with their roles and state; the form to add one."""
    return _users_page(request, session, principal)


def _user_errors(
    session: Session, email: str, roles: list[Role], password: str, *, new: bool = True
) -> Errors:
    """Every problem of the user form at once."""
    errors: Errors = []
    if new:
        if not email:
            errors.append(_error("email", "email_missing"))
        elif email_problem(email):
            errors.append(_error("email", "email_invalid"))
        elif find_user(session, email) is not None:
            errors.append(_error("email", "email_taken"))
    if not roles:
        errors.append(_error("roles", "roles_missing"))
    for problem in password_problems(password, email=email) if password else []:
        errors.append(
            {
                "field": "password",
                "code": "password_weak",
                "msgid": problem.msgid,
                "params": dict(problem.params),
                "text": str(problem),
            }
        )
    return errors


@router.post("/users", response_model=None)
async def add_user(
    request: Request, principal: PageAdmin, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    """Add a user (with a first password, or none to sign in through the organisation)."""
    form = await form_lists(request)
    email = normalise_email(first(form, "email", 300))
    name = first(form, "display_name", 200)
    password = (form.get("password") or [""])[0][:300]
    wanted = [r for r in Role if r.value in form.get("roles", [])]
    errors = _user_errors(session, email, wanted, password)
    if not errors:
        try:
            create_user(
                session,
                email=email,
                roles=wanted,
                password=password or None,
                display_name=name,
                actor=principal.actor,
                source=principal.source,
            )
        except AccountError as exc:
            errors = service_errors(str(exc), "email")
    if errors:
        form_back = {"email": email, "display_name": name, "roles": [r.value for r in wanted]}
        return _users_page(
            request, session, principal, status_code=400, errors=errors, form=form_back
        )
    target = f"/admin/users?done=created&who={email}"
    return RedirectResponse(with_language(target, page_language(request)), status_code=303)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user has the id {user_id}")
    return user


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request, user_id: int, principal: PageAdmin, session: SessionDep
) -> HTMLResponse:
    """One user: change roles, disable or enable."""
    return _user_page(request, session, principal, _user(session, user_id))


def _user_page(
    request: Request, session: Session, principal: Principal, user: User, **context: Any
) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault("chosen", user.role_names)
    return render_admin(
        request,
        "admin/user.html",
        principal,
        current="/admin/users",
        user=user,
        roles=[r.value for r in Role],
        done=request.query_params.get("done", "")[:20],
        **context,
    )


@router.post("/users/{user_id}/roles", response_model=None)
async def change_roles(
    request: Request, user_id: int, principal: PageAdmin, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    """Replace the user's roles (the last active admin keeps the admin role)."""
    user = _user(session, user_id)
    form = await form_lists(request)
    wanted = [r for r in Role if r.value in form.get("roles", [])]
    errors = _user_errors(session, user.email, wanted, "", new=False)
    if not errors:
        try:
            set_roles(session, user, wanted, actor=principal.actor, source=principal.source)
        except AccountError as exc:
            errors = service_errors(str(exc), "roles")
    if errors:
        chosen = [r.value for r in wanted]
        return _user_page(
            request, session, principal, user, status_code=400, errors=errors, chosen=chosen
        )
    target = with_language(f"/admin/users/{user.id}?done=roles", page_language(request))
    return RedirectResponse(target, status_code=303)


@router.post("/users/{user_id}/disabled", response_model=None)
async def change_disabled(
    request: Request, user_id: int, principal: PageAdmin, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    """Disable (signed out everywhere at once) or enable the user."""
    user = _user(session, user_id)
    form = await form_lists(request)
    disable = first(form, "disabled") == "1"
    try:
        changed = set_disabled(
            session, user, disable, actor=principal.actor, source=principal.source
        )
    except AccountError as exc:
        errors = service_errors(str(exc), "disable")
        return _user_page(request, session, principal, user, status_code=400, errors=errors)
    done = ("disabled" if disable else "enabled") if changed else "unchanged"
    target = with_language(f"/admin/users/{user.id}?done={done}", page_language(request))
    return RedirectResponse(target, status_code=303)


def _keys_page(
    request: Request, session: Session, principal: Principal, **context: Any
) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault("form", {"name": "", "scopes": [], "test": False, "days": ""})
    context.setdefault("secret", "")
    return render_admin(
        request,
        "admin/keys.html",
        principal,
        current="/admin/keys",
        keys=[(key, key_status(key)) for key in list_keys(session)],
        scopes=[s.value for s in Scope],
        done=request.query_params.get("done", "")[:20],
        who=request.query_params.get("who", "")[:40],
        **context,
    )


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, principal: PageAdmin, session: SessionDep) -> HTMLResponse:
    """Every API key by prefix: scopes, state, last use; the form to create one."""
    return _keys_page(request, session, principal)


@router.post("/keys", response_class=HTMLResponse)
async def add_key(request: Request, principal: PageAdmin, session: SessionDep) -> HTMLResponse:
    """Create a key and show it this once (the page is never cached; only a digest is kept)."""
    form = await form_lists(request)
    name = first(form, "name", NAME_MAX + 50)
    wanted = [s for s in Scope if s.value in form.get("scopes", [])]
    test = first(form, "test") == "1"
    days_text = first(form, "days", 20)
    errors: Errors = []
    if not name:
        errors.append(_error("name", "name_missing"))
    elif len(name) > NAME_MAX or not name.isprintable():
        errors.append(_error("name", "name_invalid"))
    if not wanted:
        errors.append(_error("scopes", "scopes_missing"))
    days = None
    if days_text:
        if days_text.isdigit() and 1 <= int(days_text) <= MAX_KEY_DAYS:
            days = int(days_text)
        else:
            errors.append(_error("days", "days_invalid"))
    form_back = {"name": name, "scopes": [s.value for s in wanted], "test": test, "days": days_text}
    if errors:
        return _keys_page(
            request, session, principal, status_code=400, errors=errors, form=form_back
        )
    new = create_key(
        session,
        name=name,
        scopes=wanted,
        actor=principal.actor,
        source=principal.source,
        test=test,
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.flush()
    return _keys_page(request, session, principal, secret=new.secret, created=new.record)


@router.post("/keys/{key_id}/revoke", response_model=None)
async def revoke(
    request: Request, key_id: int, principal: PageAdmin, session: SessionDep
) -> RedirectResponse:
    """Revoke a key for good: every request with it is refused from now on."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise HTTPException(404, f"no API key has the id {key_id}")
    revoke_key(session, key, actor=principal.actor, source=principal.source)
    target = f"/admin/keys?done=revoked&who={key.prefix}"
    return RedirectResponse(with_language(target, page_language(request)), status_code=303)
