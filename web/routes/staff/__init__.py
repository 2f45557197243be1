"""The staff dashboard's routes, one module per resource; ``ROUTERS`` is what the app includes."""

from web.routes.staff import accounts, jobs, live, overview, participants, sign_in

ROUTERS = [sign_in.router, overview.router, live.router, participants.router, jobs.router, accounts.router]
