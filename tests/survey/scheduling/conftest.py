"""The retest and Prolific fixtures (``tests/survey/retest_fixtures.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from retest_fixtures import *  # noqa: E402,F403
