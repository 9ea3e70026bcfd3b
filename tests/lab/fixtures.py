"""Network lab fixtures (see tests/lab/README.md)."""
