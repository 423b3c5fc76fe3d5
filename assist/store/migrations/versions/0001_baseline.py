"""Baseline: the schema the suggestion store had before migrations (made by create_all).

Databases made by that code are stamped at this revision by `python -m console migrate`,
not re-created (assist/store/migrate.py). Times here are naive: 0002 makes them UTC.

Revision ID: 0001_baseline
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kefu_agent_passwords',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('kefu_agents',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('kefu_cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('concerns', sa.Text(), nullable=False),
    sa.Column('mood', sa.String(length=16), nullable=True),
    sa.Column('temperament', sa.String(length=32), nullable=True),
    sa.Column('urgency', sa.Float(), nullable=False),
    sa.Column('situation', sa.Text(), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('last_customer_at', sa.DateTime(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('wait_updates', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('versions', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_kefu_cases_conversation_id'), 'kefu_cases', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_kefu_cases_state'), 'kefu_cases', ['state'], unique=False)
    op.create_index('kefu_one_open_case', 'kefu_cases', ['conversation_id'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_table('kefu_chat_contexts',
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('context', sa.Text(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    op.create_table('kefu_follower',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('kefu_web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_kefu_web_sessions_agent'), 'kefu_web_sessions', ['agent'], unique=False)
    op.create_table('kefu_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('temperament', sa.String(length=32), nullable=True),
    sa.Column('mood', sa.String(length=16), nullable=True),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('customer_text', sa.Text(), nullable=True),
    sa.Column('drafts', sa.Text(), nullable=False),
    sa.Column('versions', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'batch', name='kefu_one_record_per_batch')
    )
    op.create_index(op.f('ix_kefu_batches_case_id'), 'kefu_batches', ['case_id'], unique=False)
    op.create_table('kefu_claims',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.Column('previous', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_kefu_claims_case_id'), 'kefu_claims', ['case_id'], unique=False)
    op.create_table('kefu_concern_corrections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('detected_intent', sa.String(length=64), nullable=True),
    sa.Column('detected_concerns', sa.Text(), nullable=False),
    sa.Column('corrected', sa.String(length=64), nullable=False),
    sa.Column('customer_text', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_kefu_concern_corrections_case_id'), 'kefu_concern_corrections', ['case_id'], unique=False)
    op.create_table('kefu_decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=True),
    sa.Column('variant_id', sa.String(length=128), nullable=True),
    sa.Column('final_text', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('edit_distance', sa.Integer(), nullable=True),
    sa.Column('seconds_to_decide', sa.Float(), nullable=True),
    sa.Column('findings_overridden', sa.Boolean(), nullable=False),
    sa.Column('resolve', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'batch', name='kefu_one_decision_per_batch'),
    sa.UniqueConstraint('idempotency_key')
    )
    op.create_index(op.f('ix_kefu_decisions_case_id'), 'kefu_decisions', ['case_id'], unique=False)
    op.create_table('kefu_drafts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('variant_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_kefu_drafts_case_id'), 'kefu_drafts', ['case_id'], unique=False)
    op.create_table('kefu_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('sender', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('source_key', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'source_key', name='kefu_message_once')
    )
    op.create_index(op.f('ix_kefu_messages_case_id'), 'kefu_messages', ['case_id'], unique=False)
    op.create_table('kefu_ratings',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_table('kefu_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('resume_bot', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['kefu_cases.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['kefu_decisions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('decision_id')
    )
    op.create_index(op.f('ix_kefu_deliveries_case_id'), 'kefu_deliveries', ['case_id'], unique=False)
    op.create_index(op.f('ix_kefu_deliveries_state'), 'kefu_deliveries', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_kefu_deliveries_state'), table_name='kefu_deliveries')
    op.drop_index(op.f('ix_kefu_deliveries_case_id'), table_name='kefu_deliveries')
    op.drop_table('kefu_deliveries')
    op.drop_table('kefu_ratings')
    op.drop_index(op.f('ix_kefu_messages_case_id'), table_name='kefu_messages')
    op.drop_table('kefu_messages')
    op.drop_index(op.f('ix_kefu_drafts_case_id'), table_name='kefu_drafts')
    op.drop_table('kefu_drafts')
    op.drop_index(op.f('ix_kefu_decisions_case_id'), table_name='kefu_decisions')
    op.drop_table('kefu_decisions')
    op.drop_index(op.f('ix_kefu_concern_corrections_case_id'), table_name='kefu_concern_corrections')
    op.drop_table('kefu_concern_corrections')
    op.drop_index(op.f('ix_kefu_claims_case_id'), table_name='kefu_claims')
    op.drop_table('kefu_claims')
    op.drop_index(op.f('ix_kefu_batches_case_id'), table_name='kefu_batches')
    op.drop_table('kefu_batches')
    op.drop_index(op.f('ix_kefu_web_sessions_agent'), table_name='kefu_web_sessions')
    op.drop_table('kefu_web_sessions')
    op.drop_table('kefu_follower')
    op.drop_table('kefu_chat_contexts')
    op.drop_index('kefu_one_open_case', table_name='kefu_cases', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.drop_index(op.f('ix_kefu_cases_state'), table_name='kefu_cases')
    op.drop_index(op.f('ix_kefu_cases_conversation_id'), table_name='kefu_cases')
    op.drop_table('kefu_cases')
    op.drop_table('kefu_agents')
    op.drop_table('kefu_agent_passwords')
