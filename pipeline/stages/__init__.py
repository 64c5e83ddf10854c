"""Pipeline stages over the store: each takes the records waiting for it and records a status."""
