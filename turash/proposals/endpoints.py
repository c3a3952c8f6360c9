from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status

from turash.auth.dependencies import PrincipalDep, RuntimeDep, UowDep
from turash.facilitation.schemas import FacilitatorAssignment
from turash.kit.document import DOCUMENT_RESPONSES, FORMATS, http_response
from turash.kit.errors import NotFound
from turash.kit.pagination import PageParams, page_params
from turash.matching.endpoints import MatchReader
from turash.models import Notification, ProposalDocument
from turash.models.base import utcnow
from turash.proposals import packet, service
from turash.proposals.schemas import CommentCreate, NdaRecord, ProposalCreate, StatusChange

router = APIRouter(tags=["proposals"])
PageDep = Annotated[PageParams, Depends(page_params)]


def proposal_access(proposal_id: str, uow: UowDep, principal: PrincipalDep) -> service.ProposalAccess:
    """The proposal and the caller's part in it (proposer, receiver, facilitator, admin); 403 for outsiders."""
    return service.access(uow.session, principal, proposal_id)


ProposalAccessDep = Annotated[service.ProposalAccess, Depends(proposal_access)]


@router.post("/proposals", status_code=status.HTTP_201_CREATED, operation_id="create_proposal")
def create_proposal(data: ProposalCreate, uow: UowDep, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Propose a match to its other party. The caller must be a member of one of the two organisations; the
    proposal starts as `draft`."""
    proposal = service.create(uow, runtime.extras, principal, data.match_id)
    return service.view(uow.session, service.access(uow.session, principal, proposal.id))


@router.get("/proposals", operation_id="list_proposals")
def list_proposals(
    uow: UowDep, principal: PrincipalDep, page: PageDep, state: Annotated[str | None, Query(alias="status")] = None
) -> dict[str, Any]:
    rows, total = service.list_for(uow.session, principal, state, page.limit, page.offset)
    items = [service.view(uow.session, service.ProposalAccess(p, role), detail=False) for p, role in rows]
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/proposals/{proposal_id}", operation_id="get_proposal")
def get_proposal(acc: ProposalAccessDep, uow: UowDep) -> dict[str, Any]:
    """The proposal as the caller may see it (staged disclosure), with its audit trail (`history`) and comments."""
    return service.view(uow.session, acc)


@router.post("/proposals/{proposal_id}/status", operation_id="change_proposal_status")
def change_status(acc: ProposalAccessDep, data: StatusChange, uow: UowDep) -> dict[str, Any]:
    """Move the proposal to its next state. An illegal transition is `409` with the allowed next states; a
    legal one the caller's party may not make is `403`."""
    service.transition(uow, acc, data.status, data.note)
    return service.view(uow.session, acc)


@router.post("/proposals/{proposal_id}/comments", status_code=status.HTTP_201_CREATED, operation_id="comment_proposal")
def comment(acc: ProposalAccessDep, data: CommentCreate, uow: UowDep) -> dict[str, Any]:
    event = service.comment(uow, acc, data.body)
    return {"at": event.at.isoformat(), "actor": event.actor, "body": event.body}


@router.post(
    "/proposals/{proposal_id}/documents", status_code=status.HTTP_201_CREATED, operation_id="attach_proposal_document"
)
async def attach_document(
    acc: ProposalAccessDep,
    uow: UowDep,
    file: Annotated[UploadFile, File(description="The file (at most 20 MB).")],
    description: Annotated[str | None, Form(max_length=2000)] = None,
) -> dict[str, Any]:
    """Attach a document (multipart form: `file`, optional `description`); the other parties are notified."""
    content = await file.read(service.DOCUMENT_MAX_BYTES + 1)
    document = service.attach(uow, acc, file.filename or "", file.content_type, content, description)
    shown = next(d for d in service.documents(uow.session, acc.proposal) if d["id"] == document.id)
    shown.pop("actor_id")
    return shown


@router.get("/proposals/{proposal_id}/documents/{document_id}", operation_id="download_proposal_document")
def download_document(acc: ProposalAccessDep, document_id: str, uow: UowDep) -> Response:
    """The document's bytes, as an attachment (never rendered inline)."""
    document = uow.session.get(ProposalDocument, document_id)
    if document is None or document.proposal_id != acc.proposal.id:
        raise NotFound.of("document", document_id)
    quoted = quote(document.file_name)
    return Response(
        document.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "X-Content-Type-Options": "nosniff",
            "X-Document-Content-Type": document.content_type,
            "X-Document-SHA256": document.sha256,
        },
    )


@router.post("/proposals/{proposal_id}/nda", operation_id="record_nda")
def record_nda(acc: ProposalAccessDep, data: NdaRecord, uow: UowDep) -> dict[str, Any]:
    """Record that both parties signed an NDA: from then on each sees the other's name and contacts."""
    service.record_nda(uow, acc, data.note)
    return service.view(uow.session, acc)


@router.post("/proposals/{proposal_id}/facilitator", operation_id="assign_proposal_facilitator")
def assign_facilitator(acc: ProposalAccessDep, data: FacilitatorAssignment, uow: UowDep) -> dict[str, Any]:
    """Either party assigns a facilitator organisation (an active profile) to the proposal, or removes it (null):
    the facilitator then sees it in full and may move every state."""
    service.assign_facilitator(uow, acc, data.organization_id)
    return service.view(uow.session, acc)


@router.get("/proposals/{proposal_id}/packet", operation_id="proposal_packet", responses=DOCUMENT_RESPONSES)
def proposal_packet(
    acc: ProposalAccessDep,
    uow: UowDep,
    runtime: RuntimeDep,
    format: Annotated[str, Query(pattern=FORMATS)] = "json",
) -> object:
    """The partner packet of a proposal (JSON, HTML or PDF): both flows' specifications and the contacts as the
    disclosure stage allows, the economics and risk summary, the next steps, and template clauses for an NDA and a
    supply agreement (templates, to be checked by a lawyer)."""
    data = packet.proposal_packet(uow.session, runtime.extras, runtime.cache, acc)
    return http_response(data, format, packet.document, f"partner-packet-{acc.proposal.id}")


@router.get("/matches/{match_id}/packet", operation_id="match_packet", responses=DOCUMENT_RESPONSES)
def match_packet(
    match_id: MatchReader,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    format: Annotated[str, Query(pattern=FORMATS)] = "json",
) -> object:
    """The partner packet of a match before any proposal: the caller's side in full, the other party anonymous
    (unless public or already named to the caller in a proposal), economics, next steps and the templates."""
    data = packet.match_packet(uow.session, runtime.extras, runtime.cache, principal, match_id)
    return http_response(data, format, packet.document, f"partner-packet-{match_id}")


@router.get("/users/me/notifications", operation_id="list_notifications")
def notifications(uow: UowDep, principal: PrincipalDep, page: PageDep, unread: bool = False) -> dict[str, Any]:
    query = sa.select(Notification).where(Notification.user_id == principal.user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(query.order_by(Notification.created_at.desc()).limit(page.limit).offset(page.offset))
    return {
        "items": [
            {
                "id": n.id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "data": n.data,
                "created_at": n.created_at.isoformat(),
                "read": n.read_at is not None,
            }
            for n in rows
        ],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "/users/me/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="read_notification",
)
def read_notification(notification_id: str, uow: UowDep, principal: PrincipalDep) -> None:
    note = uow.session.get(Notification, notification_id)
    if note is None or note.user_id != principal.user.id:
        raise NotFound.of("notification", notification_id)
    note.read_at = note.read_at or utcnow()
