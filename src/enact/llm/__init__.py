"""Model components: journaled chat models, and people in their place.

:class:`ChatModel` calls any OpenAI-compatible server (OpenAI, vLLM,
llama.cpp, Ollama, LM Studio) through the ``openai`` SDK
(``pip install 'enact[llm]'``); every call is journaled, so a replay returns
the recorded reply without asking the server, and a fork resamples it.
:class:`HumanChat` takes the same calls and asks a person instead, through an
input request. ``import enact.llm`` does not import ``openai``: the first
model call does.
"""

from enact.llm._errors import ChatModelError, MissingExtra
from enact.llm._human import AsyncHumanChat, HumanChat, RecordedAnswers
from enact.llm._messages import (
    ChatRequest,
    ChatResponse,
    Message,
    ToolCall,
    Usage,
    as_request,
    transcript,
)
from enact.llm._models import (
    AsyncChatAttempt,
    AsyncChatModel,
    ChatAttempt,
    ChatModel,
    ChatSettings,
    json_schema_format,
    retry_delay,
)
from enact.llm._openai import shown_url, streaming, using_http_client

__all__ = [
    "AsyncChatAttempt",
    "AsyncChatModel",
    "AsyncHumanChat",
    "ChatAttempt",
    "ChatModel",
    "ChatModelError",
    "ChatRequest",
    "ChatResponse",
    "ChatSettings",
    "HumanChat",
    "Message",
    "MissingExtra",
    "RecordedAnswers",
    "ToolCall",
    "Usage",
    "as_request",
    "json_schema_format",
    "retry_delay",
    "shown_url",
    "streaming",
    "transcript",
    "using_http_client",
]
