"""Running the clinic: the home pages, people and their roles, staff invitations (and
accepting any invitation), clinic settings, API tokens, the staff navigation, and the audit
report of who did what."""
