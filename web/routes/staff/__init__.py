"""The staff dashboard's routes, one module per resource; ``ROUTERS`` is what the app includes."""

from web.routes.staff import accounts, overview, participants, sign_in

ROUTERS = [sign_in.router, overview.router, participants.router, accounts.router]
