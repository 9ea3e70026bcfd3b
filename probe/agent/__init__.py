"""The agent over time: history, watch, schedules, alerts, export, upload, after a run."""
