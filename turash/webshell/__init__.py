"""The minimal web page served at `/` until the web app (web/) replaces it."""
