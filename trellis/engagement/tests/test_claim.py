"""The one-statement claim: the first time goes ahead, a repeat gets the first answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import transaction

from trellis.core.errors import Conflict
from trellis.engagement import idempotency
from trellis.engagement.models import Submission


def test_a_repeat_of_a_claim_gets_the_first_answer_and_writes_nothing(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with transaction.atomic():
        first = idempotency.claim(user=alex, client_id=key, kind="mood", result={"mood": "a"})
    with transaction.atomic():
        again = idempotency.claim(user=alex, client_id=key, kind="mood", result={"mood": "b"})
    assert first is None
    assert again == {"mood": "a"}
    assert Submission.objects.filter(user=alex, client_id=key).count() == 1


def test_a_client_id_used_for_another_action_is_refused(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="mood", result={})
    with pytest.raises(Conflict), transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="journal", result={})


def test_a_claim_rolled_back_with_its_action_leaves_the_client_id_free(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="mood", result={})
        raise RuntimeError("the action failed")
    with transaction.atomic():
        assert idempotency.claim(user=alex, client_id=key, kind="mood", result={}) is None
