"""Sticker search: dense (Chroma) + lexical (BM25) text search, and search by image."""
