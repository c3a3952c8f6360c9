from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin

if TYPE_CHECKING:
    from turash.models.organization import Organization


class Site(IdMixin, TimestampMixin, Base):
    """A physical location of an organisation. lat/lon (WGS84) are the source of truth on every database; on
    PostgreSQL with PostGIS the migration adds a generated `geog geography(Point, 4326)` column with a GiST index."""

    __tablename__ = "sites"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "name_key"),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
        sa.Index("ix_sites_lat_lon", "lat", "lon"),
    )

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    name_key: Mapped[str] = mapped_column(sa.String(300))
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    country: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    nace: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(500))
    city: Mapped[str | None] = mapped_column(sa.String(200))
    employees: Mapped[int | None] = mapped_column()
    description: Mapped[str | None] = mapped_column(sa.Text)
    # Waste permits held at this site, e.g. {"hazardous_waste": true, "ewc_codes": ["10 01 04"]}.
    permits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(sa.String(32), default="user")
    source_ref: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    organization: Mapped[Organization] = relationship(lazy="raise")
