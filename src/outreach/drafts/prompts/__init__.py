"""The prompts model writers send, one module per version (v1.py, ...).

A version is never edited once drafts were written with it: a change to the wording, the tool
or the layout is a new module with a new VERSION, so that `email_drafts.prompt_version` always
names the text a draft came from. A prompt is plain text here; how it is put on the wire (and
which part is cached) is the writer's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    """The one tool the model must call to hand over its answer."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class Prompt:
    """One draft's prompt, from the most shared part to the least.

    `system` is the same for every draft written with this version; `instruction` is the
    template rendered for the contact (the same for every contact when the template uses no
    merge field); `user` holds this contact's data, the earlier drafts, the reviewer's note and
    what to write.
    """

    version: str
    system: str
    instruction: str
    user: str
    tool: ToolSpec
