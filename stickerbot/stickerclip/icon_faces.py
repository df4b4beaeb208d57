"""Face icons of icon fonts, named by their feeling: drawn faces no emoji package has.

Icon sets on npm (Font Awesome, Material Design Icons, Tabler, Phosphor, Boxicons, ...) each
draw a dozen to fifty faces ("face-sad-tear", "mood-angry", "smiley-meh", "emoticon-cry") as
line or solid glyphs by their own designers: simple drawn faces in many hands, the kind of
sticker the emoji art does not teach. Their names say the feeling, so each is taken as a
picture of the face emoji of that name (``face_key``), as the code-drawn faces are
(``stickerclip.drawn``), and the emoji's record gives the emotion.

Only a name that is a face and nothing else is taken: the style words of a set ("-outline",
"-bold", "-24-filled") and one face word ("face-", "emoji-", "mood-", ...) are stripped, and
what is left must be one of ``EXPRESSIONS`` whole. "home-smile", "angry-bird" and "calendar-sad"
are not faces.
"""

from __future__ import annotations

import re

# The Iconify sets whose faces are taken: (set, npm version, licence, name, author). All under
# licences that allow training the shipped weights; the CC BY ones are credited in LICENSES.md.
ICON_SETS: tuple[tuple[str, str, str, str, str], ...] = (
    ("bx", "1.2.3", "MIT", "BoxIcons v2", "Boxicons"),
    ("carbon", "1.2.30", "Apache-2.0", "Carbon", "IBM"),
    ("fa6-regular", "1.2.4", "CC-BY-4.0", "Font Awesome 6 Regular", "Dave Gandy"),
    ("fa6-solid", "1.2.4", "CC-BY-4.0", "Font Awesome 6 Solid", "Dave Gandy"),
    ("fluent", "1.2.60", "MIT", "Fluent UI System Icons", "Microsoft Corporation"),
    ("gg", "1.2.2", "MIT", "css.gg", "Astrit"),
    ("healthicons", "1.2.13", "MIT", "Health Icons", "Resolve to Save Lives"),
    ("hugeicons", "1.2.35", "MIT", "Huge Icons", "Hugeicons"),
    ("icon-park-outline", "1.2.4", "Apache-2.0", "IconPark Outline", "ByteDance"),
    ("iconoir", "1.2.11", "MIT", "Iconoir", "Luca Burgio"),
    ("jam", "1.2.3", "MIT", "Jam Icons", "Michael Amprimo"),
    ("la", "1.2.1", "Apache-2.0", "Line Awesome", "Icons8"),
    ("line-md", "1.2.16", "MIT", "Material Line Icons", "Vjacheslav Trushkin"),
    ("lucide", "1.2.137", "ISC", "Lucide", "Lucide Contributors"),
    ("majesticons", "1.2.5", "MIT", "Majesticons", "Gerrit Halfmann"),
    ("material-symbols", "1.2.98", "Apache-2.0", "Material Symbols", "Google"),
    ("mdi", "1.2.3", "Apache-2.0", "Material Design Icons", "Pictogrammers"),
    ("mingcute", "1.2.8", "Apache-2.0", "MingCute Icon", "MingCute Design"),
    ("pepicons-pop", "1.2.4", "CC-BY-4.0", "Pepicons Pop!", "CyCraft"),
    ("ph", "1.2.2", "MIT", "Phosphor", "Phosphor Icons"),
    ("ri", "1.2.10", "Apache-2.0", "Remix Icon", "Remix Design"),
    ("solar", "1.2.13", "CC-BY-4.0", "Solar", "480 Design"),
    ("streamline", "1.2.5", "CC-BY-4.0", "Streamline", "Streamline"),
    ("system-uicons", "1.2.4", "Unlicense", "System UIcons", "Corey Ginnivan"),
    ("tabler", "1.2.41", "MIT", "Tabler Icons", "Paweł Kuna"),
    ("tdesign", "1.2.19", "MIT", "TDesign Icons", "TDesign"),
    ("uil", "1.2.3", "Apache-2.0", "Unicons", "Iconscout"),
)
# The name that asks for all of them (``--extra-styles icon-faces``).
GROUP = "icon-faces"

# Expression words -> the face emoji they name (code points, as stickerclip.art.emoji_key
# spells them). Checked whole, after stripping; the first list of words that holds the name wins.
EXPRESSIONS: dict[str, tuple[str, ...]] = {
    # Happiness
    "1F642": (
        "smile",
        "smiling",
        "smiley",
        "happy",
        "satisfied",
        "slightly-smiling",
        "content",
        "emotion-happy",
    ),
    "1F60A": (
        "smile-beam",
        "happy-beaming",
        "delighted",
        "blush",
        "smiling-open-eyes",
        "with-smiling-open-eyes",
    ),
    "1F600": (
        "grin",
        "grinning",
        "grin-wide",
        "happy-alt",
        "smile-mouth-open",
        "grinning-open-mouth",
        "grin-alt",
    ),
    "1F604": ("grin-beam", "laugh", "laughing", "funny", "very-satisfied", "talking-happy", "bad-laugh"),
    "1F606": (
        "grin-squint",
        "laugh-squint",
        "laugh-beam",
        "crazy-happy",
        "xd",
        "grinning-squinting-eyes",
        "smile-squint",
    ),
    "1F602": ("grin-tears", "grin-squint-tears", "cry-and-laugh", "tears-of-joy", "lol"),
    "1F609": (
        "wink",
        "winking",
        "grin-wink",
        "smile-wink",
        "laugh-wink",
        "wink-smile",
        "blink",
        "smile-squint-wink",
    ),
    "1F60D": ("grin-hearts", "heart-eyes", "happy-heart-eyes", "smiling-heart-eyes"),
    "1F929": ("grin-stars", "star-struck", "star-eyes"),
    "1F617": ("kiss", "kissing", "kiss-beam"),
    "1F618": ("kiss-wink-heart", "blowing-kiss"),
    "1F61B": ("tongue", "grin-tongue", "tongue-out"),
    "1F61C": ("wink-tongue", "tongue-wink", "grin-tongue-wink", "tongue-wink-left", "tongue-wink-right"),
    "1F61D": ("grin-tongue-squint", "squinting-tongue"),
    "1F60E": ("cool",),
    "1F605": ("grin-beam-sweat", "sweat-smile"),
    "1F643": ("upside", "upside-down", "flip-smiling", "smile-upside"),
    "1F913": ("nerd",),
    # Sadness
    "1F641": (
        "sad",
        "frown",
        "frowning",
        "unhappy",
        "dissatisfied",
        "slightly-frowning",
        "emotion-unhappy",
    ),
    "1F61E": ("disappointed", "very-dissatisfied", "sad-squint"),
    "1F626": ("frown-open", "frowning-open-mouth", "frowning-open"),
    "1F622": ("sad-tear", "tear", "cry", "crying", "sad-crying"),
    "1F62D": ("sad-cry", "loudly-crying", "cry-loudly", "loudly-crying-open-mouth"),
    "1F62B": ("tired", "distraught"),
    # Anger
    "1F620": ("angry", "mad", "talking-angry", "wrrr", "pouting"),
    "1F621": ("rage", "enraged", "very-angry"),
    # Surprise
    "1F62E": ("surprise", "surprised", "open-mouth", "wow", "surprise-alt"),
    "1F632": ("shocked", "astonished"),
    # Fear
    "1F61F": ("worry", "worried", "nervous"),
    "1F628": ("scared", "fearful", "fear"),
    "1F627": ("anguished",),
    "1F62C": ("grimace", "grimacing"),
    # Disgust
    "1F922": ("sick", "nauseated", "ill"),
    "1F92E": ("vomit", "vomiting", "puke"),
    # Neutral, and the rest
    "1F610": ("meh", "neutral", "meh-alt", "smile-neutral", "average"),
    "1F611": ("expressionless", "meh-closed-eye"),
    "1F636": ("meh-blank", "blank", "no-mouth", "without-mouth", "smile-no-mouth", "empty", "smile-none"),
    "1F644": ("rolling-eyes", "meh-rolling-eyes", "eye-roll"),
    "1F612": ("unamused", "annoyed"),
    "1F615": ("confused", "confuzed", "puzzled", "confounded"),
    "1F635": ("dizzy", "sad-dizzy", "smile-dizzy", "unhappy-dizzy", "dizzy-meh", "x-eyes", "dead"),
    "1F633": ("flushed", "embarrassed"),
    "1F634": ("sleepy", "sleeping"),
    "1F910": ("silence", "zipper-mouth"),
    "1F914": ("thinking", "think"),
    "1FAE0": ("melting",),
}
_BY_WORDS = {words: key for key, names in EXPRESSIONS.items() for words in names}

# Expression words that name other things too ("tongue", "cool", "empty", "thinking"): taken
# only from a name that says it is a face ("mood-tongue", "emoji-cool", "face-tired").
NEEDS_FACE_WORD = frozenset(
    "dead cool tongue empty average tear blank silence think thinking sleeping sleepy content ill "
    "kiss kissing tired melting open-mouth wow funny blink upside upside-down nerd "
    "neutral mad rage fear scared xd lol star-eyes distraught dizzy".split()
)
# Words that say a name is a face (stripped once from the front), and the style words of the
# sets (stripped from the end, repeatedly).
FACE_PREFIXES = ("face-", "emoji-", "emoticon-", "emotion-", "mood-", "smiley-", "sentiment-", "bx-", "bxs-")
FACE_SUFFIXES = ("-face", "-emoji", "-smiley", "-circle", "-square")
STYLE_SUFFIX = re.compile(
    r"-(outline|outlined|fill|filled|line|linear|bold|duotone|light|thin|regular|solid|rounded|sharp"
    r"|twotone|broken|negative|remix|\d+px|\d+x|\d+)$"
)


def _without_style(text: str) -> str:
    """``text`` with the sets' style words stripped from its end, as often as they stand there."""
    while (stripped := STYLE_SUFFIX.sub("", text)) != text:
        text = stripped
    return text


def face_key(name: str) -> str | None:
    """The face emoji an icon's name says ("face-sad-tear" -> "1F622", "mood-angry-filled" ->
    "1F620", "smiley-meh-bold" -> "1F610"), or None when the name is not a face alone (pure)."""
    text = _without_style(name.lower().strip())
    marked = False
    for suffix in FACE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text, marked = text[: -len(suffix)], True
    for prefix in FACE_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text, marked = text[len(prefix) :].removeprefix("with-"), True
            break
    text = _without_style(text)  # "emoji-sad-line-duotone": "sad-line" again
    if text in NEEDS_FACE_WORD and not marked:
        return None
    return _BY_WORDS.get(text)
