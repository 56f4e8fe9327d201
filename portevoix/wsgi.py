import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
application = get_wsgi_application()

# The network modules are imported on first use; the connect page lists every network, and
# importing them (the Bluesky SDK alone takes about a second) made its first visit in each web
# worker slow. A web process imports them while it starts instead.
from portevoix.networks import registry  # noqa: E402

registry.all_networks()
