"""The patient's own record (HIPAA's rights of access, amendment and accounting).

- `gather`: everything Trellis holds about one patient, for the patient;
- `export`: the downloads (readable HTML, Trellis JSON, FHIR Bundle) and their audit row;
- `amendments`: asking for a correction, a clinician's decision, who may see which request;
- `accounting`: the accounting of disclosures, read from the audit trail;
- `parts`: the parts of the record and the rules of a request (pure);
- `wording`: the in-app notification of a decision.
"""
