"""Future actions as database rows: the retest's invitation, reminders and window close, approvals, bonuses.

How it fits together (each module says more):

- ``timeline``: when a later wave opens and closes and when each action is due, from study.yaml as it
  is now (``ScheduleSource`` re-reads the file when it changes);
- ``planner``: writes, moves and cancels ``scheduled_actions`` rows from what participants did;
- ``claims``: a worker takes a due row with a conditional UPDATE and a lease, fenced by its token;
- ``retest_actions`` and ``payments``: what sending each kind means on Prolific, checked again at
  send time, each external effect guarded so that a retry or a crash never repeats it;
- ``runner``: ``Scheduler.run_due()``, what the Celery beat tick and ``voxbank schedule run-due`` call.

The clock is always injected; nothing is ever left waiting in a Celery countdown.
"""

from survey.scheduling.handling import ProlificSetup
from survey.scheduling.runner import Outcome, RunReport, Scheduler, shifted_clock
from survey.scheduling.timeline import ScheduleSource

__all__ = ["Outcome", "ProlificSetup", "RunReport", "ScheduleSource", "Scheduler", "shifted_clock"]
