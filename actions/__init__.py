"""Rasa SDK actions: thin glue from the Tracker to assist/. Every module is discovered by
the action server, one capability per module."""
