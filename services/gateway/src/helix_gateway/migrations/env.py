"""Alembic environment of the gateway's read model: runs on the connection that
`helix_gateway.readmodel.database.migrate` hands over."""

from alembic import context

from helix_gateway.readmodel.tables import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=config.attributes.get("version_table", "gateway_alembic_version"),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
