"""`backbones`: the chat backbones, * marking the configured one."""

from __future__ import annotations

from stickerbot.cli.common import settings


def register(sub) -> None:
    p = sub.add_parser("backbones", help="list the chat backbones (* marks STICKERBOT_BACKBONE)")
    p.set_defaults(func=run)


def run(args) -> int:
    from stickerbot.backbones.registry import get_spec, list_specs

    current, _ = get_spec(settings().backbone)
    for spec in list_specs():
        mark = "*" if spec is current else " "
        print(f"{mark} {spec.display_name:28s} {spec.help}")
    return 0
