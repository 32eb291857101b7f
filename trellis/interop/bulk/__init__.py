"""Bulk Data export (`$export`, the FHIR Bulk Data Access IG v2): the asynchronous pattern.

A backend client asks for an export (system, Group or Patient level) with
`Prefer: respond-async`; Trellis answers 202 with the status URL in `Content-Location`,
records an `ExportJob` and hands it to the worker. The worker writes one NDJSON file per
resource type under `VAR_DIR/exports/<job id>/`, each whole or not at all; the client
polls the status URL (202 with `X-Progress` while it runs, then the manifest), downloads
the files with its token, and may cancel. The clock removes the files once the job's
`expires_at` has passed (TRELLIS_EXPORT_KEEP_HOURS).

- `params`: reading the kick-off (pure);
- `files`: where a job's files live, and removing them;
- `runner`: what the worker does, and the hourly clean-up;
- `services`: starting and cancelling an export (the transaction and the audit row);
- `views`: the kick-off, status and file endpoints.
docs/fhir-bulk.md is the whole story for an EHR's developer.
"""
