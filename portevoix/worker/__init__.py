"""Background work as rows with a state: graphs, the worker, housekeeping, the ops page."""
