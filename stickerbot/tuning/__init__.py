"""Fine-tuning the chat backbone: LoRA supervised fine-tuning on the dialogue memory
(``python -m stickerbot train chat``), StickerConv / PEGS style."""
