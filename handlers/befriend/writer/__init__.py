"""The one writer of changes to a person: decide, record lapses, settle stage and circle,
commit with the report counters, publish, and decide again on fresh state after a conflict.
The web's routes, one-click unsubscribe, the marketer's routes and the sweep all write
through it, under the same retry rules; an import creates its people through it too
(`Writer.create`), with their counters in the same transaction."""
