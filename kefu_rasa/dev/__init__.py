"""Development tools beside the Rasa plugin pieces: the launcher (`make run`), the model cache,
validation and evaluation reports. Not shipped in the wheel."""
