"""Rasa-side glue of kefu-assist: the NLU normaliser component, model cache and launcher.

`assist/` stays free of Rasa imports; everything that needs Rasa lives here or in `actions/`.
"""
