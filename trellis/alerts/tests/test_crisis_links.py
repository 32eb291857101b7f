"""Crisis numbers are tap-to-call (and tap-to-text where the text says so), and the
clinic's own text stays escaped."""

import pytest

from trellis.accounts.models import Organization
from trellis.alerts.templatetags.crisis import crisis_links, linked_numbers


def test_the_default_text_links_988_to_call_and_to_text_and_911_to_call() -> None:
    default = str(Organization._meta.get_field("crisis_resources").default)
    html = linked_numbers(default)
    assert '<a class="tel" href="tel:988">988</a>' in html
    assert '<a class="sms" href="sms:988">' in html  # "Call or text 988"
    assert '<a class="tel" href="tel:911">911</a>' in html
    assert 'href="sms:911"' not in html  # "call 911" says nothing of texting


@pytest.mark.parametrize(
    ("text", "dial"),
    [
        ("Call 116 123 (Samaritans)", "116123"),
        ("Kriisipuhelin +358 9 2525 0111", "+358925250111"),
        ("Lifeline: 1-800-273-8255.", "18002738255"),
        ("Text HOME to 741741", "741741"),
    ],
)
def test_numbers_as_people_write_them_become_links(text: str, dial: str) -> None:
    assert f'href="tel:{dial}"' in linked_numbers(text)


@pytest.mark.parametrize(
    "text", ["Open 24/7.", "Lines open 10:00 to 22:00.", "Call us on 12", "Since 2019"]
)
def test_times_and_short_numbers_are_left_as_text(text: str) -> None:
    assert "<a" not in linked_numbers(text)


def test_the_clinics_text_is_escaped_before_numbers_are_linked() -> None:
    html = crisis_links('<script>alert(1)</script> Call 988 & "stay safe"')
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&amp;" in html
    assert html.startswith("<p>") and 'href="tel:988"' in html
