"""The control channel between the CLI and the running server (mox's ``data/ctl``).

Framing (both directions): one JSON object per line, UTF-8.

- The client sends ``{"cmd": "queue list", "args": [...]}``.
- A handler may ask for streamed input: the server sends ``{"need": "data"}`` and the client
  answers with ``{"data": "<base64>"}`` frames and a final ``{"eof": true}``.
- The server sends output as ``{"out": "text"}`` frames and ends with ``{"ok": true,
  "result": ...}`` or ``{"error": "message"}``.
- A handler may take the connection over (``admin imapserve``): the server sends ``{"raw":
  true}`` and from then on the connection carries the handler's own protocol, unframed.

On POSIX ``data/ctl`` is a unix socket (mode 0600). On Windows it is a small file naming a
127.0.0.1 TCP port and a secret token that the client must send first (``{"token": ...}``).
"""
