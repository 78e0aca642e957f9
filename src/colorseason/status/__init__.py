"""Job state (a persistent Redis) and claim checks (a memory-only Redis): status and analyze."""

from colorseason.status.claims import ClaimCheck, Lease
from colorseason.status.store import Job, JobState, JobStore, connect

__all__ = ["ClaimCheck", "Job", "JobState", "JobStore", "Lease", "connect"]
