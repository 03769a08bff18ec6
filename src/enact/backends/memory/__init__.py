"""The memory family: objects, index and journals in process memory."""

from enact.backends.memory.index import MemoryIndex
from enact.backends.memory.objects import MemoryObjects

__all__ = ["MemoryIndex", "MemoryObjects"]
