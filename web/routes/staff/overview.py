"""``GET /staff``: the overview: the funnel by step and wave, entries per day, completion, time per step, quotas."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.deps import SessionDep
from web.staff import charts, overview
from web.staff.access import Viewer
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


@router.get("")
def overview_page(request: Request, session: SessionDep, staff: Viewer) -> Response:
    """The study at a glance: aggregates only, so every role may see it."""
    journey = request.app.state.journey
    data = overview.build(session, journey.runtime, journey.study_id)
    funnel_chart = charts.bars("Participants per stage of the funnel, wave 1 then wave 2",
                               [charts.Bar(f"W{s.wave} {s.label}", s.count) for s in data.funnel])
    per_day_chart = charts.columns("Wave-1 entries per day",
                                   [(day.strftime("%d %b"), n) for day, n in data.entries_per_day])
    strata: dict[str, list[overview.QuotaFill]] = {}
    for fill in data.quota:
        strata.setdefault(fill.stratum, []).append(fill)
    quota_charts = {stratum: charts.bars(f"Quota fill for {stratum} against target",
                                         [charts.Bar(f.label, f.filled, f.target) for f in fills])
                    for stratum, fills in strata.items()}
    return render_staff(request, staff, "overview.html", {
        "title": "Overview", "data": data, "funnel_chart": funnel_chart, "per_day_chart": per_day_chart,
        "strata": strata, "quota_charts": quota_charts,
        "medians": [(step, _duration(data.median_seconds_per_step[step]))
                    for step in [*data.steps, *sorted(set(data.median_seconds_per_step) - set(data.steps))]
                    if step in data.median_seconds_per_step],
    })
