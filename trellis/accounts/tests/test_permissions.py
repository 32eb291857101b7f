"""The permission layer (`trellis.accounts.queries`): who can see whom."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import Http404

from trellis.accounts import queries
from trellis.accounts.models import Role
from trellis.accounts.queries import Capability
from trellis.care import queries as care_queries

RIVERSIDE_PATIENTS = {
    "patient_alex",
    "patient_blair",
    "patient_casey",
    "patient_devon",
    "patient_emery",
}
ANXIETY_PATIENTS = {"patient_alex", "patient_blair", "patient_emery"}
MOOD_PATIENTS = {"patient_casey", "patient_devon"}


def _keys(cast: Any, users: Any) -> set[str]:
    by_pk = {user.pk: key for key, user in cast.people.items()}
    return {by_pk[u.pk] for u in users}


@pytest.mark.parametrize("key", ["patient_alex", "patient_casey", "patient_farah"])
def test_a_patient_never_sees_another_patient(cast: Any, key: str) -> None:
    me = cast[key]
    assert _keys(cast, care_queries.patients_for(me)) == {key}
    assert _keys(cast, care_queries.users_for(me)) == {key}
    assert {m.pk for m in care_queries.memberships_for(me)} == {cast.memberships[key].pk}
    for other in (RIVERSIDE_PATIENTS | {"patient_farah"}) - {key}:
        with pytest.raises(Http404):
            care_queries.access_patient(me, cast[other].pk)
        with pytest.raises(Http404):
            care_queries.access_membership(me, cast.memberships[other].pk)


@pytest.mark.parametrize(
    "key", ["admin_avery", "supervisor_ruth", "therapist_maria", "coach_jordan", "researcher_lee"]
)
def test_staff_never_see_another_clinic(cast: Any, key: str) -> None:
    me = cast[key]
    hillside = cast.clinics["hillside"]
    assert not care_queries.memberships_for(me).filter(organization=hillside).exists()
    assert not care_queries.patients_for(me).filter(memberships__organization=hillside).exists()
    assert list(queries.organizations_for(me)) == [cast.clinics["riverside"]]
    assert not queries.teams_for(me).filter(organization=hillside).exists()
    for other in ("admin_hana", "therapist_otto", "patient_farah"):
        with pytest.raises(Http404):
            care_queries.access_membership(me, cast.memberships[other].pk)
        with pytest.raises(Http404):
            care_queries.access_user(me, cast[other].pk)
    with pytest.raises(Http404):
        queries.access_organization(me, hillside.pk)


@pytest.mark.parametrize("key", ["therapist_maria", "coach_jordan"])
def test_anxiety_team_staff_see_only_their_teams_patients(cast: Any, key: str) -> None:
    assert _keys(cast, care_queries.patients_for(cast[key])) == ANXIETY_PATIENTS
    for other in MOOD_PATIENTS:
        with pytest.raises(Http404):
            care_queries.access_patient(cast[key], cast[other].pk)


def test_mood_team_therapist_sees_only_mood_patients(cast: Any) -> None:
    assert _keys(cast, care_queries.patients_for(cast["therapist_sam"])) == MOOD_PATIENTS


def test_supervisor_sees_every_patient_of_her_clinic(cast: Any) -> None:
    assert _keys(cast, care_queries.patients_for(cast["supervisor_ruth"])) == RIVERSIDE_PATIENTS


def test_researchers_see_no_patients(cast: Any) -> None:
    lee = cast["researcher_lee"]
    assert not care_queries.patients_for(lee).exists()
    assert not care_queries.memberships_for(lee).filter(role=Role.PATIENT).exists()
    for patient in RIVERSIDE_PATIENTS:
        with pytest.raises(Http404):
            care_queries.access_patient(lee, cast[patient].pk)


def test_admins_manage_accounts_but_open_no_clinical_record(cast: Any) -> None:
    avery = cast["admin_avery"]
    assert not care_queries.patients_for(avery).exists()
    patient_memberships = care_queries.memberships_for(avery).filter(role=Role.PATIENT)
    assert {m.user_id for m in patient_memberships} == {cast[k].pk for k in RIVERSIDE_PATIENTS}


def test_a_suspended_therapist_loses_her_caseload(cast: Any) -> None:
    from trellis.accounts import services

    services.set_membership_active(
        membership=cast.memberships["therapist_maria"], active=False, actor=cast["admin_avery"]
    )
    maria = cast["therapist_maria"]
    assert not care_queries.patients_for(maria).exists()
    assert not queries.is_staff(maria)


def test_access_helpers_treat_nonsense_ids_as_not_found(cast: Any) -> None:
    for bad in (uuid.uuid4(), "not-a-uuid", None, 12):
        with pytest.raises(Http404):
            care_queries.access_membership(cast["admin_avery"], bad)
        with pytest.raises(Http404):
            care_queries.access_patient(cast["supervisor_ruth"], bad)


def test_capabilities_belong_to_roles_at_one_clinic(cast: Any) -> None:
    riverside, hillside = cast.clinics["riverside"], cast.clinics["hillside"]
    assert queries.can(cast["admin_avery"], Capability.MANAGE_TOKENS, riverside)
    assert not queries.can(cast["admin_avery"], Capability.MANAGE_TOKENS, hillside)
    assert queries.can(cast["supervisor_ruth"], Capability.VIEW_AUDIT, riverside)
    assert not queries.can(cast["supervisor_ruth"], Capability.MANAGE_PEOPLE, riverside)
    assert not queries.can(cast["patient_alex"], Capability.VIEW_PATIENTS, riverside)


def test_a_patient_sees_the_names_of_her_own_care_team_only(cast: Any) -> None:
    team = {m.user_id for m in queries.care_team_for(cast["patient_alex"])}
    assert team == {cast["therapist_maria"].pk, cast["coach_jordan"].pk}
    assert {m.user_id for m in queries.care_team_for(cast["patient_casey"])} == {
        cast["therapist_sam"].pk
    }
    assert not queries.care_team_for(cast["therapist_maria"]).exists()


def test_signed_out_visitors_see_nothing(db: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    nobody = AnonymousUser()
    assert not care_queries.memberships_for(nobody).exists()
    assert not care_queries.patients_for(nobody).exists()
    assert not queries.organizations_for(nobody).exists()
