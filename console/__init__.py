"""The agent console: a Sanic app over the suggestion store, plus the workers that follow
Rasa's event stream and deliver agents' decisions through Rasa's HTTP API."""
