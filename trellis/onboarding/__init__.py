"""Getting a patient started: the invitation into a program, consent, the digital-literacy
check, the baseline questionnaires, triage and preferences; later, the patient's own consent
and preference pages, and a clinician confirming the level of support."""
