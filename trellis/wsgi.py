import os

from django.core.wsgi import get_wsgi_application

from trellis.core.collector import settle_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
application = get_wsgi_application()
settle_collector()  # start-up's objects stay out of the collector's passes
