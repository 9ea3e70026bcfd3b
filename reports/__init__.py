"""Report model, schema, diagnosis, message catalogs, renderers, redaction, bundle."""
