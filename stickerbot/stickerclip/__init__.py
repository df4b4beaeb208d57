"""StickerCLIP-lite: eyes for stickers the library has never seen.

``art`` fetches emoji drawn in other art styles from npm; ``data`` holds the pictures and the
splits (whole styles and a tenth of the emoji held out); ``augment`` makes an emoji look like
a chat sticker; ``model`` is the CNN; ``train`` and ``build`` are `train clip`; ``embedder``
plugs it into the image-embedder registry; ``evaluate`` is `eval images`.
"""
