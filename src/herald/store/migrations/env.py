"""Alembic environment: runs migrations on the engine Herald hands over."""

from alembic import context

from herald.store.models import Base

engine = context.config.attributes.get("engine")
if engine is None:  # run from the alembic CLI: build one from settings
    from herald.settings import Settings
    from herald.store.db import make_engine

    engine = make_engine(Settings().sqlalchemy_url())

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
