"""The agent over time: history, watch, schedules, alerts, export, upload, after a run."""

# History summaries a support bundle includes unless told otherwise (--last). Here,
# not in payprobe.agent.ticket, so that `payprobe run` can show the default
# without importing the ticket code.
DEFAULT_LAST = 5
