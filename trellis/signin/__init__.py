"""Signing in and out, the second step (a one-time code), passwords and recovery codes: the
pages of the front door. Accounts, devices and the throttle itself are trellis.accounts';
signing in here also counts as a patient's activity on their program."""
