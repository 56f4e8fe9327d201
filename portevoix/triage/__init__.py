"""Triage: language, sentiment, intent and department for every inbound item, offline.

The pipeline lives in :mod:`portevoix.triage.engine` (plain Python); the Django-aware API that
applies a workspace's corrections is :func:`portevoix.triage.service.label_items`.
"""
