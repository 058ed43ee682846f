"""A small SMTP server on a free local port, for the e-mail path over a real SMTP session."""

import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    """What the server received, and how it answers: refused recipients, or a temporary error."""

    messages: list[bytes] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    temporary_failure: bool = False


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str):
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        mailbox: Mailbox = self.server.mailbox
        self.reply("220 localhost ESMTP test")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250 8BITMIME")
            elif verb == "RCPT":
                address = command.partition(":")[2].strip().strip("<>")
                self.reply("550 No such user" if address in mailbox.refused else "250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk  # dot-stuffing
                if mailbox.temporary_failure:
                    self.reply("451 Try again later")
                else:
                    mailbox.messages.append(data)
                    self.reply("250 Queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # HELO, MAIL, RSET, NOOP
                self.reply("250 OK")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Session)
        self.mailbox = Mailbox()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()
