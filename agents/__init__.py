"""Multi-agent synthesis of StickerConv-style empathetic sticker dialogues (``python -m agents.generate``).

A user agent plays a profile {emotion, persona, situation}; an empathetic assistant agent
answers; both send stickers from the sticker library, each message through a plan (is a
sticker wanted and why -> a search query -> candidates -> pick one or none). A manager runs
the turns and enforces sticker spacing, a reviewer, a repetition guard and the closing
decision; filters move unusable sessions to a rejects file.

    config.py       GenerationConfig (the dialogue rules), CallPolicy (timeouts, retries)
    llm.py          AgentLLM: any stickerbot backbone + deadline, retries, backoff; lenient parsers
    prompting.py    prompts/*.yaml as Jinja2 templates (StrictUndefined)
    profiles.py     seed profiles -> self-instruct generation, ROUGE-L de-duplication
    memory.py       typed steps, running summary, recall of past observations
    roles.py        UserAgent, AssistantAgent: messages and the sticker plan
    reviewer.py     a sticker must not contradict its message
    manager.py      the turn loop: spacing, reviewer, repetition guard, closing
    filters.py      no sticker / repeated utterances / fallback text -> rejects
    records.py      the session and per-turn layouts
    writer.py       append + fsync per session, resume, validation
    stats.py        --stats
    metrics.py      ROUGE-L, distinct-n (pure)
    generate.py     the command line and the scheduler
    bench.py        `python -m agents.bench`: sessions/s with 1 and 8 workers against the fake server
    fake_server.py  an OpenAI-compatible fake server for tests and `python -m agents.bench`
"""
