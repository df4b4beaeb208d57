"""Gradio UI, built by functions from the services they are given (no globals)."""
