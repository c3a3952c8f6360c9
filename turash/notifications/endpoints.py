from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from turash.auth.dependencies import OrgAdmin, PrincipalDep, UowDep
from turash.kit.errors import NotFound, TurashError
from turash.models import Notification, NotificationPreference, Webhook, WebhookDelivery
from turash.models.notification import DEFAULT_MATCH_THRESHOLD
from turash.notifications.hub import hub_of

router = APIRouter(tags=["notifications"])


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Literal["immediate", "daily", "off"] = Field(
        "immediate", description="E-mail at once, a daily digest, or none."
    )
    websocket: bool = Field(True, description="Live updates on /api/v1/ws.")
    muted_kinds: list[Literal["proposal", "facilitation", "match"]] = Field(default_factory=list)
    match_threshold: float = Field(
        DEFAULT_MATCH_THRESHOLD, ge=0, le=1, description="Tell me of new matches at least this good."
    )


def _prefs_view(pref: NotificationPreference | None) -> dict[str, Any]:
    if pref is None:
        return Preferences().model_dump()
    return {
        "email": pref.email,
        "websocket": pref.websocket,
        "muted_kinds": pref.muted_kinds,
        "match_threshold": pref.match_threshold,
    }


@router.get("/users/me/preferences", operation_id="get_preferences")
def get_preferences(uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """How you are told: e-mail (immediate, daily digest, off), live updates, muted kinds, the match threshold."""
    return _prefs_view(uow.session.get(NotificationPreference, principal.user.id))


@router.put("/users/me/preferences", operation_id="set_preferences")
def set_preferences(data: Preferences, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    pref = uow.session.get(NotificationPreference, principal.user.id) or NotificationPreference(
        user_id=principal.user.id
    )
    for key, value in data.model_dump().items():
        setattr(pref, key, value)
    uow.session.add(pref)
    uow.session.flush()
    return _prefs_view(pref)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://erp.example.com/turash", "events": ["proposal.*"]}]},
    )
    url: HttpUrl
    events: list[str] = Field(default_factory=lambda: ["*"], max_length=50, description='Patterns: "proposal.*".')


def _hook_view(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "created_at": hook.created_at.isoformat(),
    }


@router.post(
    "/organizations/{organization_id}/webhooks", status_code=status.HTTP_201_CREATED, operation_id="create_webhook"
)
def create_webhook(data: WebhookCreate, access: OrgAdmin, uow: UowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Register an endpoint for the events your organisation takes part in. The signing secret is shown once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        organization_id=access.organization.id,
        url=str(data.url),
        secret=secret,
        events=data.events,
        created_by=principal.user.id,
    )
    uow.session.add(hook)
    uow.session.flush()
    return {**_hook_view(hook), "secret": secret}


@router.get("/organizations/{organization_id}/webhooks", operation_id="list_webhooks")
def list_webhooks(access: OrgAdmin, uow: UowDep) -> dict[str, Any]:
    hooks = uow.session.scalars(
        sa.select(Webhook).where(Webhook.organization_id == access.organization.id).order_by(Webhook.created_at)
    )
    return {"items": [_hook_view(h) for h in hooks]}


def _hook(uow: UowDep, access: Any, webhook_id: str) -> Webhook:
    hook = uow.session.get(Webhook, webhook_id)
    if hook is None or hook.organization_id != access.organization.id:
        raise NotFound.of("webhook", webhook_id)
    return hook


@router.delete(
    "/organizations/{organization_id}/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_webhook",
)
def delete_webhook(webhook_id: str, access: OrgAdmin, uow: UowDep) -> None:
    uow.session.delete(_hook(uow, access, webhook_id))


@router.get("/organizations/{organization_id}/webhooks/{webhook_id}/deliveries", operation_id="webhook_deliveries")
def deliveries(
    webhook_id: str, access: OrgAdmin, uow: UowDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    """The latest deliveries: status (pending, delivered, failed), attempts, the last HTTP status or error."""
    hook = _hook(uow, access, webhook_id)
    rows = uow.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(limit)
    )
    return {
        "items": [
            {
                "id": d.id,
                "event_id": d.event_id,
                "event": d.event_name,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
                "last_status": d.last_status,
                "last_error": d.last_error,
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
            }
            for d in rows
        ]
    }


@router.websocket("/ws")
async def live(websocket: WebSocket, token: Annotated[str | None, Query()] = None) -> None:
    """Live updates: connect with `?token=<access token>` (or send `{"token": ...}` first); every new notification
    for you arrives as `{"type": "notification", ...}`. Closes with 4401 when the token is invalid."""
    from turash.auth import service as auth

    runtime = websocket.app.state.runtime
    await websocket.accept()
    if token is None:
        try:
            first = await asyncio.wait_for(websocket.receive_json(), timeout=10)
            token = str(first.get("token") or "") if isinstance(first, dict) else ""
        except (TimeoutError, ValueError, WebSocketDisconnect):
            token = ""
    try:
        with runtime.uow() as uow:
            principal = auth.principal_from_bearer(uow.session, runtime.cache, runtime.settings, token or "")
            user_id = principal.user.id
            unread = uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            )
    except TurashError as exc:
        await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await websocket.close(code=4401)
        return
    hub = hub_of(runtime.extras)
    queue = hub.connect(user_id)
    try:
        await websocket.send_json({"type": "hello", "user_id": user_id, "unread": unread})
        receiver = asyncio.ensure_future(websocket.receive_text())
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({receiver, getter}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                receiver.result()  # raises WebSocketDisconnect when the client left
                receiver = asyncio.ensure_future(websocket.receive_text())  # pings from the client are ignored
                continue
            await websocket.send_json(getter.result())
    except WebSocketDisconnect:
        pass
    finally:
        hub.disconnect(user_id, queue)
