"""Reusable UI pieces; each draws itself and returns the user's choice."""
