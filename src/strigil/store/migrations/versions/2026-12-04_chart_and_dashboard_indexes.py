"""indexes for long charts and the dashboard: a patient's visits by start (a page of a long
chart reads only the rows it shows) and a clinic's patients by registration

Revision ID: 3f9a1c7e5b2d
Revises: 8b3d5f7a9c2e
Create Date: 2026-12-04 01:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f9a1c7e5b2d"
down_revision: str | None = "8b3d5f7a9c2e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_patient_started", ["patient_id", "started_at", "id"])
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_clinic_created", ["clinic_id", "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_created")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_patient_started")
