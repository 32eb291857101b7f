"""The research export page: a researcher downloads the zip, or reads which groups are too
small when the export is refused."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from trellis.care.models import SupportLevel
from trellis.interop.models import DataRightsSettings
from trellis.interop.tests.rights_factories import agree_to_research, enroll

URL = "/clinic/research-export/"

pytestmark = pytest.mark.django_db


def _consenting(cast: Any, names: tuple[str, ...], level: str) -> None:
    for name in names:
        enroll(cast, name, level=level, supporters=())
        agree_to_research(cast[name])


def test_a_researcher_downloads_the_export(cast: Any, client_for: Any) -> None:
    DataRightsSettings.objects.create(organization=cast.clinics["riverside"], research_k=2)
    _consenting(cast, ("patient_alex", "patient_blair"), SupportLevel.SELF_GUIDED)
    lee = client_for("researcher_lee")
    assert "Download the export" in lee.get(URL).text
    response = lee.post(URL, {"format": "parquet"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "research-riverside-" in response["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "enrollments.parquet" in names
    assert lee.post(URL, {"format": "xlsx"}).status_code == 400


def test_a_refused_export_names_the_groups_below_k(cast: Any, client_for: Any) -> None:
    _consenting(cast, ("patient_alex",), SupportLevel.SELF_GUIDED)
    response = client_for("admin_avery").post(URL, {"format": "csv"})
    assert response.status_code == 409
    assert "The export was refused." in response.text
    assert "self_guided" in response.text
