from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin

if TYPE_CHECKING:
    from turash.models.organization import Organization

# `heat_pump`: an operator who lifts low-grade heat to a usable temperature (turash/chains: multi-party chains).
SERVICE_KINDS = ("transport", "treatment", "storage", "maintenance", "consulting", "heat_pump")


class ServiceOffering(IdMixin, TimestampMixin, Base):
    """A service an organisation offers to make exchanges possible: a haulier, a treatment plant, storage...

    The area served is a circle (`center_lat`, `center_lon`, `radius_km`) and/or a list of countries.
    What the service does to a resource (treatment, drying, a heat-pump lift, a longer reach, a time shift) is
    declared in `attributes["transform"]` (docs/chains.md; read by turash/chains).
    """

    __tablename__ = "service_offerings"
    __table_args__ = (sa.CheckConstraint(f"kind IN {SERVICE_KINDS}", name="kind"),)

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    resources: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ewc_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    center_lat: Mapped[float | None] = mapped_column(sa.Float)
    center_lon: Mapped[float | None] = mapped_column(sa.Float)
    radius_km: Mapped[float | None] = mapped_column(sa.Float)
    countries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    capacity: Mapped[float | None] = mapped_column(sa.Float)
    capacity_unit: Mapped[str | None] = mapped_column(sa.String(50))
    price_eur_per_unit: Mapped[float | None] = mapped_column(sa.Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    organization: Mapped[Organization] = relationship(lazy="raise")
