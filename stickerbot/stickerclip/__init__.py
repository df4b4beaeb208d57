"""StickerCLIP-lite: eyes for stickers the library has never seen (issue 13, in progress).

``art``: emoji drawn in other art styles, fetched from the npm registry at training time, as
training and evaluation pictures keyed by the emoji they draw.
"""
