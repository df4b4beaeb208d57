"""Stickers: the record, packs, import, image checks, hashing and annotation."""
