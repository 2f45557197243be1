"""The staff dashboard's routes, one module per resource; ``ROUTERS`` is what the app includes."""

from web.routes.staff import accounts, overview, sign_in

ROUTERS = [sign_in.router, overview.router, accounts.router]
