"""SQLAlchemy models, one module per aggregate. Importing this package registers every table on Base.metadata."""

from turash.models.audit import AuditEntry
from turash.models.base import Base, new_id
from turash.models.facilitation import CASE_STATES, FEE_MODELS, FacilitationCase, FacilitatorProfile
from turash.models.flow import CATEGORIES, DIRECTIONS, PRECISIONS, ResourceFlow
from turash.models.ingestion import (
    ColumnMapping,
    ImportRun,
    InboundWebhook,
    IngestJob,
    MergeProposal,
    Meter,
    MeterReading,
    QuarantinedRow,
    ReadingRollup,
    WebhookReceipt,
)
from turash.models.match import MatchRecord, MatchRun
from turash.models.notification import (
    EMAIL_MODES,
    EmailMessage,
    HandledEvent,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
)
from turash.models.organization import MEMBER_ROLES, ORGANIZATION_KINDS, Membership, Organization
from turash.models.proposal import (
    PARTY_ROLES,
    PROPOSAL_STATES,
    Notification,
    Proposal,
    ProposalDocument,
    ProposalEvent,
    ProposalParty,
)
from turash.models.search import SEARCH_KINDS, SearchDocument
from turash.models.service_offering import SERVICE_KINDS, ServiceOffering
from turash.models.site import Site
from turash.models.user import ApiKey, User

__all__ = [
    "CASE_STATES",
    "CATEGORIES",
    "DIRECTIONS",
    "EMAIL_MODES",
    "FEE_MODELS",
    "MEMBER_ROLES",
    "ORGANIZATION_KINDS",
    "PARTY_ROLES",
    "PRECISIONS",
    "PROPOSAL_STATES",
    "SEARCH_KINDS",
    "SERVICE_KINDS",
    "ApiKey",
    "AuditEntry",
    "Base",
    "ColumnMapping",
    "EmailMessage",
    "FacilitationCase",
    "FacilitatorProfile",
    "HandledEvent",
    "ImportRun",
    "InboundWebhook",
    "IngestJob",
    "MatchRecord",
    "MatchRun",
    "Membership",
    "MergeProposal",
    "Meter",
    "MeterReading",
    "Notification",
    "NotificationPreference",
    "Organization",
    "Proposal",
    "ProposalDocument",
    "ProposalEvent",
    "ProposalParty",
    "QuarantinedRow",
    "ReadingRollup",
    "ResourceFlow",
    "SearchDocument",
    "ServiceOffering",
    "Site",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookReceipt",
    "new_id",
]
