"""The engine: config, check registry, runner, paths, errors, exit codes, file writing."""
