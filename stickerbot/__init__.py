"""Stickerbot: a chatbot that answers with a few warm words and the right sticker."""

__version__ = "0.1.0"
