"""Referrals in (docs/referrals.md): a Bundle of Patient and ServiceRequest sent by the
clinic's EHR, or a CSV file uploaded by a clinic admin, becomes patient invitations,
matched by the patient's identifier in the sender's system.

- `incoming`: one referral, whichever way it came (pure);
- `bundle`: reading a referral Bundle (pure); `csvfile`: reading an uploaded file (pure);
- `services`: taking referrals, linking identifiers to accounts, the clinic's settings;
- `queries`: the recent referrals a clinic admin sees;
- `responses`: the FHIR answers (transaction-response Bundle, OperationOutcome; pure);
- `endpoint`: `POST /fhir/R4/Bundle`.
"""
