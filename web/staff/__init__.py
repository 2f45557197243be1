"""The staff side of the web app: roles, accounts, sessions, CSRF, and the reads behind the dashboard pages.

Routes live in ``web/routes/staff/``, one module per resource; what they load and authorise comes
from ``web.staff.access`` (``require(Permission.X)``), so each route's rule is data the route-by-role
test reads.
"""
