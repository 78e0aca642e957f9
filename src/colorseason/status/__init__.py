"""Job state and claim checks in Redis: what the status function serves and analyze writes."""

from colorseason.status.store import ClaimCheck, Job, JobState, JobStore, connect

__all__ = ["ClaimCheck", "Job", "JobState", "JobStore", "connect"]
