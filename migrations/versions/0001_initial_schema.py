"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:36:44.469117
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=True),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=True)

    op.create_table(
        "import_runs",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_import_runs_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_runs_file_sha256"), ["file_sha256"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nace", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('sme', 'enterprise', 'municipality', 'utility', 'facilitator')",
            name=op.f("ck_organizations_kind"),
        ),
        sa.CheckConstraint("source IN ('user', 'import', 'register')", name=op.f("ck_organizations_source")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_organizations_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organizations_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_organizations_nace"), ["nace"], unique=False)
        batch_op.create_index(batch_op.f("ix_organizations_name_key"), ["name_key"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name=op.f("ck_memberships_role")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("organization_id", "user_id", name=op.f("uq_memberships_organization_id_user_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "quarantined_rows",
        sa.Column("import_run_id", sa.String(length=32), nullable=True),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_run_id"],
            ["import_runs.id"],
            name=op.f("fk_quarantined_rows_import_run_id_import_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_rows")),
    )
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_rows_import_run_id"), ["import_run_id"], unique=False)

    op.create_table(
        "service_offerings",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("ewc_codes", sa.JSON(), nullable=False),
        sa.Column("center_lat", sa.Float(), nullable=True),
        sa.Column("center_lon", sa.Float(), nullable=True),
        sa.Column("radius_km", sa.Float(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("capacity_unit", sa.String(length=50), nullable=True),
        sa.Column("price_eur_per_unit", sa.Float(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('transport', 'treatment', 'storage', 'maintenance', 'consulting')",
            name=op.f("ck_service_offerings_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_service_offerings_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offerings")),
    )
    with op.batch_alter_table("service_offerings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_offerings_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_offerings_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("nace", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "permits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name=op.f("ck_sites_lat_lon")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sites_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("organization_id", "name_key", name=op.f("uq_sites_organization_id_name_key")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_country"), ["country"], unique=False)
        batch_op.create_index("ix_sites_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_nace"), ["nace"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_source_ref"), ["source_ref"], unique=False)

    op.create_table(
        "resource_flows",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("resource", sa.String(length=500), nullable=False),
        sa.Column("resource_class", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("ewc_code", sa.String(length=6), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("quantity_kind", sa.String(length=16), nullable=True),
        sa.Column("quantity_si", sa.Float(), nullable=True),
        sa.Column("si_unit", sa.String(length=16), nullable=True),
        sa.Column("quantity_min", sa.Float(), nullable=True),
        sa.Column("quantity_max", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("pressure_bar", sa.Float(), nullable=True),
        sa.Column("purity_pct", sa.Float(), nullable=True),
        sa.Column("hazardous", sa.Boolean(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("available_to", sa.Date(), nullable=True),
        sa.Column("schedule", sa.String(length=200), nullable=True),
        sa.Column("price_eur_per_unit", sa.Float(), nullable=True),
        sa.Column("precision", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("inferred", sa.Boolean(), nullable=False),
        sa.Column("inferred_from", sa.String(length=300), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("import_run_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('heat', 'steam', 'water', 'material', 'gas', 'energy', 'service')",
            name=op.f("ck_resource_flows_category"),
        ),
        sa.CheckConstraint("direction IN ('supply', 'demand')", name=op.f("ck_resource_flows_direction")),
        sa.CheckConstraint("precision IN ('rough', 'estimated', 'measured')", name=op.f("ck_resource_flows_precision")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_resource_flows_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["import_run_id"],
            ["import_runs.id"],
            name=op.f("fk_resource_flows_import_run_id_import_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_resource_flows_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_resource_flows_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_flows")),
        sa.UniqueConstraint("fingerprint", "site_id", name=op.f("uq_resource_flows_fingerprint_site_id")),
    )
    with op.batch_alter_table("resource_flows", schema=None) as batch_op:
        batch_op.create_index("ix_resource_flows_category_direction", ["category", "direction"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_flows_ewc_code"), ["ewc_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_flows_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_flows_resource_class"), ["resource_class"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_flows_site_id"), ["site_id"], unique=False)

    _postgresql_extras_up()


# Haversine distance in km (R = 6371.0088 km, IUGG mean radius), the same formula as turash.kit.geo.haversine_km,
# which SQLite gets as a Python function at connect time.
DISTANCE_FUNCTION = """
CREATE OR REPLACE FUNCTION turash_distance_km(lat1 double precision, lon1 double precision,
                                              lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 2 * 6371.0088 * asin(least(1.0, sqrt(
           power(sin(radians(lat2 - lat1) / 2), 2)
           + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2))))
$$
"""


def _postgresql_extras_up() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(DISTANCE_FUNCTION)
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first()
    if available is None:
        return  # plain PostgreSQL: radius queries use turash_distance_km with a lat/lon prefilter
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # Generated from lat/lon so the two can never disagree; geography measures in metres on the spheroid.
    op.execute(
        "ALTER TABLE sites ADD COLUMN geog geography(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED"
    )
    op.execute("CREATE INDEX ix_sites_geog ON sites USING gist (geog)")


def _postgresql_extras_down() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_sites_geog")
    op.execute("ALTER TABLE sites DROP COLUMN IF EXISTS geog")
    op.execute(
        "DROP FUNCTION IF EXISTS turash_distance_km(double precision, double precision, "
        "double precision, double precision)"
    )
    # The postgis extension stays: other databases objects may use it, and dropping it needs superuser.


def downgrade() -> None:
    _postgresql_extras_down()
    with op.batch_alter_table("resource_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_flows_site_id"))
        batch_op.drop_index(batch_op.f("ix_resource_flows_resource_class"))
        batch_op.drop_index(batch_op.f("ix_resource_flows_organization_id"))
        batch_op.drop_index(batch_op.f("ix_resource_flows_ewc_code"))
        batch_op.drop_index("ix_resource_flows_category_direction")

    op.drop_table("resource_flows")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_source_ref"))
        batch_op.drop_index(batch_op.f("ix_sites_organization_id"))
        batch_op.drop_index(batch_op.f("ix_sites_nace"))
        batch_op.drop_index("ix_sites_lat_lon")
        batch_op.drop_index(batch_op.f("ix_sites_country"))

    op.drop_table("sites")
    with op.batch_alter_table("service_offerings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_offerings_organization_id"))
        batch_op.drop_index(batch_op.f("ix_service_offerings_kind"))

    op.drop_table("service_offerings")
    with op.batch_alter_table("quarantined_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_rows_import_run_id"))

    op.drop_table("quarantined_rows")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_organization_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_keys_organization_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_name_key"))
        batch_op.drop_index(batch_op.f("ix_organizations_nace"))
        batch_op.drop_index(batch_op.f("ix_organizations_country"))

    op.drop_table("organizations")
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_runs_file_sha256"))

    op.drop_table("import_runs")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))

    op.drop_table("users")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_organization_id"))
        batch_op.drop_index("ix_audit_log_entity")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
