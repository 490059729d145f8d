"""Accounts: users, roles, sessions, API keys and the permission every route declares."""
