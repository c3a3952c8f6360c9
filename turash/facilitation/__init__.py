"""Facilitators: profiles (regions, specialities, fees, response time), the marketplace of facilitated matches,
claims, SLA reminders, outcomes and their statistics."""
