"""The staff dashboard's routes, one module per resource; ``ROUTERS`` is what the app includes."""

from web.routes.staff import accounts, api, exports, jobs, live, overview, participants, quality, sign_in, study

ROUTERS = [sign_in.router, overview.router, live.router, participants.router, quality.router, jobs.router,
           exports.router, study.router, accounts.router, api.router]
