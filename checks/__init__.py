"""payprobe's built-in checks, one module each, registered under ``payprobe.checks``."""
