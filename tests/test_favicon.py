"""The browser's automatic /favicon.ico request finds Trellis's icon."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("trellis/icons/favicon.svg")
