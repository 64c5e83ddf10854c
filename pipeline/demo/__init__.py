"""The bundled sample newsroom: fictional outlets, articles and feeds, served on loopback.

``newswatch demo`` and the end-to-end tests run the whole pipeline offline against it, over
real HTTP, so the real fetch path is exercised. ``content`` reads the package data under
``newsroom/`` (described in ``newsroom/README.md``), ``render`` turns it into pages and feeds,
and ``server.NewsroomServer`` serves them together with the hostile routes.
"""
