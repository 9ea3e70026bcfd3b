"""The command line: one command table, a handler module per command, terminal output."""
