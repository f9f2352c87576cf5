"""What every server the tests run on loopback shares: started and stopped around a block."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class LoopbackServer:
    """`with Server() as server:` starts it and always stops it."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
