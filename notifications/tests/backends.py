"""An SMS backend for the concurrency tests: the file backend, holding its first message."""

import threading

from notifications.sms import FileSmsBackend


class GatedSmsBackend(FileSmsBackend):
    """Writes like the file backend, but the first message waits until the test releases it.

    Meanwhile the worker sending it keeps that notification's row locked.
    """

    first_started = threading.Event()
    release = threading.Event()
    calls: list[tuple[str, str]] = []
    _lock = threading.Lock()

    @classmethod
    def reset(cls):
        cls.first_started.clear()
        cls.release.clear()
        cls.calls = []

    def send(self, *, to: str, body: str, reference: str) -> str:
        with self._lock:
            first = not self.calls
            self.calls.append((threading.current_thread().name, reference))
        if first:
            self.first_started.set()
            if not self.release.wait(30):
                raise TimeoutError("the test never released the first message")
        return super().send(to=to, body=body, reference=reference)
