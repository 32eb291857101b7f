"""Enrolling patients, their supporters, ending an enrollment, simple mode, and who sees what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from trellis.accounts.models import Membership, Role
from trellis.audit.models import AuditEvent
from trellis.care import queries as care_queries
from trellis.care import services
from trellis.care.models import Enrollment, Preferences
from trellis.care.queries import access_enrollment, current_enrollment, enrollments_for
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent
from trellis.journey import services as journey_services
from trellis.journey.tests.factories import publish_test_pack
from trellis.programs.models import ProgramVersion

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def version(db: Any) -> ProgramVersion:
    return publish_test_pack()


def enroll(
    cast: personas.Cast, version: ProgramVersion, patient: str, *supporters: str
) -> Enrollment:
    return services.enroll(
        patient=cast[patient],
        program_version=version,
        support_level="coached",
        supporters=[cast[s] for s in supporters],
        actor=None,
        now=NOW,
    )


def test_enrolling_puts_the_patient_at_their_clinic_with_an_audited_record(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enrollment = enroll(cast, version, "patient_alex", "therapist_maria", "coach_jordan")
    assert enrollment.organization == cast.clinics["riverside"]
    team = {(m.supporter.email, m.role) for m in enrollment.care_team.all()}
    assert team == {
        (cast["therapist_maria"].email, "primary"),
        (cast["coach_jordan"].email, "secondary"),
    }
    row = AuditEvent.objects.get(action="enrollment.create")
    assert row.patient_id == cast["patient_alex"].pk
    assert row.details["support_level"] == "coached"
    assert current_enrollment(cast["patient_alex"]) == enrollment


def test_one_active_enrollment_per_patient_and_version(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enroll(cast, version, "patient_alex")
    with pytest.raises(ValidationError, match="already working through"):
        enroll(cast, version, "patient_alex")
    assert Enrollment.objects.count() == 1


def test_only_patients_can_be_enrolled_and_only_local_clinicians_support(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    with pytest.raises(ValidationError) as not_patient:
        enroll(cast, version, "coach_jordan")
    assert "patient" in not_patient.value.message_dict
    with pytest.raises(ValidationError) as other_clinic:
        enroll(cast, version, "patient_alex", "therapist_otto")
    assert "supporters" in other_clinic.value.message_dict
    with pytest.raises(ValidationError):
        enroll(cast, version, "patient_alex", "admin_avery")
    with pytest.raises(PermissionDenied):
        services.enroll(
            patient=cast["patient_alex"],
            program_version=version,
            support_level="coached",
            actor=cast["admin_avery"],
            now=NOW,
        )
    with pytest.raises(ValidationError) as bad_level:
        services.enroll(
            patient=cast["patient_alex"],
            program_version=version,
            support_level="intensive",
            actor=None,
        )
    assert "support_level" in bad_level.value.message_dict
    assert not Enrollment.objects.exists()


def test_supporters_are_assigned_and_removed_with_audit_rows(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enrollment = enroll(cast, version, "patient_alex", "therapist_maria")
    services.assign_supporter(
        enrollment, supporter=cast["coach_jordan"], actor=cast["therapist_maria"]
    )
    services.remove_supporter(
        enrollment, supporter=cast["therapist_maria"], actor=cast["therapist_maria"]
    )
    active = set(
        enrollment.care_team.filter(active=True).values_list("supporter__email", flat=True)
    )
    assert active == {cast["coach_jordan"].email}
    actions = list(
        AuditEvent.objects.filter(action__startswith="enrollment.supporter").values_list(
            "action", flat=True
        )
    )
    assert actions == ["enrollment.supporter_assign", "enrollment.supporter_remove"]


def test_ending_an_enrollment_needs_an_end_status_and_a_reason(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enrollment = enroll(cast, version, "patient_alex")
    with pytest.raises(ValidationError):
        services.end_enrollment(enrollment, status="active", reason="x", actor=None)
    with pytest.raises(ValidationError):
        services.end_enrollment(enrollment, status="completed", reason=" ", actor=None)
    services.end_enrollment(
        enrollment, status="completed", reason="Finished every chapter", actor=None, now=NOW
    )
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.ended_at) == ("completed", NOW)
    assert current_enrollment(cast["patient_alex"]) is None
    assert AuditEvent.objects.filter(action="enrollment.end").count() == 1
    with pytest.raises(ValidationError, match="already ended"):
        services.end_enrollment(enrollment, status="withdrawn", reason="again", actor=None)


def test_simple_mode_is_a_preference_and_one_event_on_the_current_enrollment(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enrollment = enroll(cast, version, "patient_alex")
    alex = cast["patient_alex"]
    journey_services.set_simple_mode(user=alex, enabled=True, actor=alex, now=NOW)
    journey_services.set_simple_mode(user=alex, enabled=True, actor=alex, now=NOW)
    assert Preferences.objects.get(user=alex).simple_mode is True
    events = list(
        EngagementEvent.objects.filter(enrollment=enrollment).values_list("type", "value")
    )
    assert events == [("simple_mode_changed", "on")]
    with pytest.raises(PermissionDenied):
        journey_services.set_simple_mode(user=alex, enabled=False, actor=cast["therapist_maria"])


def test_who_sees_which_enrollments(cast: personas.Cast, version: ProgramVersion) -> None:
    alex = enroll(cast, version, "patient_alex", "therapist_maria")
    casey = enroll(cast, version, "patient_casey", "therapist_sam")
    farah = enroll(cast, version, "patient_farah", "therapist_otto")

    def seen(key: str) -> set[Any]:
        return set(enrollments_for(cast[key]).values_list("pk", flat=True))

    assert seen("patient_alex") == {alex.pk}
    assert seen("therapist_maria") == {alex.pk}
    assert seen("coach_jordan") == {alex.pk}  # Alex is on Jordan's team
    assert seen("therapist_sam") == {casey.pk}
    assert seen("supervisor_ruth") == {alex.pk, casey.pk}
    assert seen("therapist_otto") == {farah.pk}
    assert seen("admin_avery") == set()
    assert seen("researcher_lee") == set()
    with pytest.raises(Exception) as outside:
        access_enrollment(cast["therapist_maria"], casey.pk)
    assert outside.type.__name__ == "Http404"


def test_supporting_an_enrollment_brings_the_patient_into_reach(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    sam, casey, alex = cast["therapist_sam"], cast["patient_casey"], cast["patient_alex"]
    assert alex not in care_queries.patients_for(sam)  # Alex is on the Anxiety team, Sam on Mood
    enrollment = enroll(cast, version, "patient_alex", "therapist_maria")
    services.assign_supporter(enrollment, supporter=sam, actor=cast["therapist_maria"])
    assert set(care_queries.patients_for(sam)) >= {alex, casey}
    assert care_queries.access_patient(sam, alex.pk) == alex
    assert enrollment in enrollments_for(sam)
    services.remove_supporter(enrollment, supporter=sam, actor=cast["therapist_maria"])
    assert alex not in care_queries.patients_for(sam)
    assert enrollment not in enrollments_for(sam)


def test_an_ended_enrollment_no_longer_brings_the_patient_into_reach(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enrollment = enroll(cast, version, "patient_alex", "therapist_sam")
    assert cast["patient_alex"] in care_queries.patients_for(cast["therapist_sam"])
    services.end_enrollment(enrollment, status="discharged", reason="Moved away", actor=None)
    assert cast["patient_alex"] not in care_queries.patients_for(cast["therapist_sam"])


def test_a_supporter_who_left_the_clinic_loses_the_reach(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    enroll(cast, version, "patient_alex", "therapist_sam")
    Membership.objects.filter(user=cast["therapist_sam"]).update(is_active=False)
    assert cast["patient_alex"] not in care_queries.patients_for(cast["therapist_sam"])


def test_a_patient_of_two_clinics_is_enrolled_at_the_one_named(
    cast: personas.Cast, version: ProgramVersion
) -> None:
    riverside_alex = cast["patient_alex"]
    Membership.objects.create(
        user=riverside_alex, organization=cast.clinics["hillside"], role=Role.PATIENT
    )
    enrollment = services.enroll(
        patient=riverside_alex,
        program_version=version,
        support_level="self_guided",
        supporters=[cast["therapist_otto"]],
        actor=cast["therapist_otto"],
        organization=cast.clinics["hillside"],
        now=NOW,
    )
    assert enrollment.organization == cast.clinics["hillside"]
    assert riverside_alex in care_queries.patients_for(cast["therapist_otto"])
