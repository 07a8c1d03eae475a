"""Alembic environment: always runs on the connection the Library hands over."""

from alembic import context

from animesion_desktop.core.library.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
)
with context.begin_transaction():
    context.run_migrations()
