"""Deals: proposals between the parties of a match, their states, trail, disclosure and notifications."""
