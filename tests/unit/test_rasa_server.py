"""Rasa's command line as kefu builds it inside the process (kefu_rasa/rasa_server.py)."""
from __future__ import annotations

import pytest

from kefu_rasa.rasa_server import rasa_arguments


def parsed(words):
    from rasa.__main__ import create_argument_parser

    return create_argument_parser().parse_args(words)


@pytest.mark.parametrize("secret", ["-Xq3v9kTtq0s8", "--looks-like-an-option", "plain-secret_0123456789"])
def test_the_secret_reaches_rasa_whatever_it_begins_with(secret):
    # token_urlsafe draws "-" as a first letter one time in 64: Rasa refused to start then.
    args = parsed(rasa_arguments(["--port", "5005"], secret))
    assert args.jwt_secret == secret and args.jwt_method == "HS256" and args.enable_api
    assert args.port == 5005 and args.interface == "127.0.0.1"


@pytest.mark.parametrize("word", ["--auth-token", "--jwt-secret=abc", "--jwt-private-key"])
def test_a_secret_given_on_the_command_line_is_refused(word):
    with pytest.raises(ValueError, match="command line"):
        rasa_arguments([word], "secret")
