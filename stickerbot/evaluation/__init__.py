"""Pure metric functions and the evaluators built on them."""
