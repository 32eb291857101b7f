"""The engagement event log and the registry that makes each patient submission count once.

Every app that records something a patient did (a step, a questionnaire, a message, a
booking, a safety answer) writes its one event here, in the transaction of that action, so
the log sits below all of them.
"""
