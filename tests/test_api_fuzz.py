"""The API answers as /api/v1/openapi.json says, to a patient, a therapist and a token.

schemathesis generates requests from the document, valid and invalid, and checks every
answer against it with all its checks on (tests/api_fuzz.py). This is the short run that
every `make test` does: a few examples per operation, drawn from a fixed seed, so a run
finds the same thing every time. The long run is `make fuzz` (docs/api.md).
"""

from __future__ import annotations

import pytest

from tests.api_fuzz import CALLERS, fuzz, prepare_callers, seed_clinic
from trellis.core import timeutil

pytestmark = pytest.mark.slow

# A few generated requests an operation, and one undocumented method (DELETE) an operation,
# on top of the boundary and wrong-type cases schemathesis derives from the document.
MAX_EXAMPLES = 3
UNEXPECTED_METHODS = ("DELETE",)


# The API is called through Django's ASGI handler, whose views run on another thread:
# the demo clinic must be committed for them to see it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("caller", CALLERS)
def test_the_api_answers_as_its_document_says(caller: str) -> None:
    callers = prepare_callers(seed_clinic(timeutil.now()))
    outcome = fuzz(
        callers[caller], max_examples=MAX_EXAMPLES, unexpected_methods=UNEXPECTED_METHODS
    )
    assert outcome.requests > 500, outcome.summary()
    assert not outcome.errors, "\n".join(outcome.errors)
    assert not outcome.failures, outcome.summary() + "\n" + "\n".join(outcome.failures)
