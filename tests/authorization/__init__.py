"""The authorization matrix: who may use each URL and API operation, declared per area.

`matrix.py` holds the vocabulary (principals, outcomes, Route, expect). Each
`expectations_<area>.py` lists the routes of one part of the product as
`ROUTES: list[Route]`, with the fixtures that build the records a route needs and a
docstring giving the reason for each decision. tests/test_authorization_matrix.py
imports every `expectations_*` module here and checks each declaration against the running
application. Nothing in this package enforces access: the application does that in
`queries.py` and the views; these modules say what the test expects it to do.
"""
