"""The journalists' search service: a JSON API and server-rendered web pages over one app.

``create_app`` (pipeline.api.app) builds it; ``serve`` (pipeline.api.server) runs it.
"""
