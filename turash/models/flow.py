from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin

if TYPE_CHECKING:
    from turash.models.organization import Organization
    from turash.models.site import Site

DIRECTIONS = ("supply", "demand")
CATEGORIES = ("heat", "steam", "water", "material", "gas", "energy", "service")
PRECISIONS = ("rough", "estimated", "measured")


class ResourceFlow(IdMixin, TimestampMixin, Base):
    """A resource a site has (supply: by-product, waste, surplus, spare capacity) or needs (demand).

    Every column of the `turash import flows` contract is a column here; unknown columns are kept in `attributes`.
    The quantity is kept as written (`quantity`, `unit`) and in SI (`quantity_si`, `si_unit`, `quantity_kind`).
    """

    __tablename__ = "resource_flows"
    __table_args__ = (
        # Idempotency key of imports: the fingerprint hashes organisation, site, direction, resource and the row's
        # declared content, so (fingerprint, site) is the issue's "organisation + site + direction + resource +
        # source row fingerprint" in one compact index, which also serves the lookup by fingerprint.
        sa.UniqueConstraint("fingerprint", "site_id"),
        sa.CheckConstraint(f"direction IN {DIRECTIONS}", name="direction"),
        sa.CheckConstraint(f"category IS NULL OR category IN {CATEGORIES}", name="category"),
        sa.CheckConstraint(f"precision IN {PRECISIONS}", name="precision"),
        sa.Index("ix_resource_flows_category_direction", "category", "direction"),
    )

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(sa.String(8))
    resource: Mapped[str] = mapped_column(sa.String(500))
    resource_class: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    # Every class the catalogue read in the resource text, best first: [[class id, weight], ...]
    resource_classes: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    category: Mapped[str | None] = mapped_column(sa.String(16))
    ewc_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    quantity: Mapped[float | None] = mapped_column(sa.Float)
    unit: Mapped[str | None] = mapped_column(sa.String(50))
    quantity_kind: Mapped[str | None] = mapped_column(sa.String(16))
    quantity_si: Mapped[float | None] = mapped_column(sa.Float)
    si_unit: Mapped[str | None] = mapped_column(sa.String(16))
    # Ranges for rough or inferred quantities, in the same unit as `quantity`.
    quantity_min: Mapped[float | None] = mapped_column(sa.Float)
    quantity_max: Mapped[float | None] = mapped_column(sa.Float)
    temperature_c: Mapped[float | None] = mapped_column(sa.Float)
    pressure_bar: Mapped[float | None] = mapped_column(sa.Float)
    purity_pct: Mapped[float | None] = mapped_column(sa.Float)
    hazardous: Mapped[bool | None] = mapped_column()
    available_from: Mapped[date | None] = mapped_column(sa.Date)
    available_to: Mapped[date | None] = mapped_column(sa.Date)
    schedule: Mapped[str | None] = mapped_column(sa.String(200))
    price_eur_per_unit: Mapped[float | None] = mapped_column(sa.Float)
    precision: Mapped[str] = mapped_column(sa.String(16), default="estimated")
    # From meter readings (turash/ingestion/readings.py): {"monthly": [12 factors], "hourly": [24 factors], ...}
    availability_profile: Mapped[dict[str, Any] | None] = mapped_column()
    measured_at: Mapped[datetime | None] = mapped_column()
    description: Mapped[str | None] = mapped_column(sa.Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inferred: Mapped[bool] = mapped_column(default=False)
    inferred_from: Mapped[str | None] = mapped_column(sa.String(300))
    source: Mapped[str] = mapped_column(sa.String(32), default="api")
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    import_run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="SET NULL"))
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    # Declared so the unit of work inserts parents first; not used for loading (lazy="raise" keeps queries explicit).
    organization: Mapped[Organization] = relationship(lazy="raise")
    site: Mapped[Site] = relationship(lazy="raise")
