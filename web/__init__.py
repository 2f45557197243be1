"""The web app: participant journey, staff dashboard, JSON API and sign-in."""
