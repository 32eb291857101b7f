"""The installable app: the offline page, the web manifest and the service worker."""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trellis.journey.views.steps import PLAYERS

# The installable app -------------------------------------------------------------------


SHELL_FILES = (
    "trellis/trellis.css",
    "journey/journey.css",
    "journey/story.css",
    "journey/journey.js",
    *(f"journey/players/{name}.js" for name in sorted(PLAYERS)),
    "trellis/icons/favicon.svg",
    "trellis/icons/icon-192.png",
    "trellis/icons/icon-512.png",
    "trellis/icons/icon-maskable-512.png",
)


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows with no connection. It holds no patient data."""
    response = render(request, "journey/offline.html", {})
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest, so a patient can add Trellis to their home screen."""
    body = {
        "name": "Trellis",
        "short_name": "Trellis",
        "description": _("Your program, one small step at a time."),
        "start_url": reverse("journey:today"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#1f6b4f",
        # Drawn by scripts/make_icons.py; tests/test_icons.py checks each size.
        "icons": [
            {
                "src": static("trellis/icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": static("trellis/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": static("trellis/icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {
                "src": static("trellis/icons/favicon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            },
        ],
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the site root so it may look after every page.

    It caches only the app shell (styles, scripts, icons, the offline page), never a page
    with patient data: those always come from the network.
    """
    shell = [static(path) for path in SHELL_FILES] + [reverse("journey:offline")]
    version = _shell_version(shell)
    script = render_to_string(
        "journey/sw.js",
        {
            "shell_json": json.dumps(shell),
            "version": version,
            "offline_json": json.dumps(reverse("journey:offline")),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell_version(shell: list[str]) -> str:
    """Changes whenever a shell file's address changes (hashed names in production)."""
    return hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
