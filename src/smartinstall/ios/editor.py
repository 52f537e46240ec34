"""The keystroke line editor of a terminal session (console, SSH, telnet).

`LineEditor.feed(text)` takes what the user typed, however it was split into chunks, and
returns what the terminal must show: echo, redraws, command output, prompts. `?` answers
at once without Enter, Tab completes a keyword, and the usual IOS editing keys work:

    Ctrl-A / Ctrl-E   start / end of line        Ctrl-B / Ctrl-F, ←/→   move one character
    Ctrl-U / Ctrl-X   erase to start of line     Ctrl-K                erase to end of line
    Ctrl-W            erase the previous word    Ctrl-D, Delete        erase under cursor
    Backspace         erase before cursor        Ctrl-P / Ctrl-N, ↑/↓  command history
    Ctrl-L / Ctrl-R   redisplay the line         Ctrl-C                abandon line (and config)
    Esc b / Esc f     one word left / right      Esc d                 erase the next word
    Ctrl-Z            run the line and leave configuration mode

ANSI escape sequences are parsed with a bound on their length; unknown ones are ignored.
Long command output stops at `--More--` every `terminal length` lines (0: never).
"""

from __future__ import annotations

from smartinstall.ios.engine import MAX_LINE, Session

MORE = " --More-- "
_BELL = "\a"
_MAX_ESCAPE = 16


class LineEditor:
    """Edits one command line at a time for a `Session` and pages its output."""

    def __init__(
        self,
        session: Session,
        *,
        max_line: int = MAX_LINE,
        newline: str = "\r\n",
        paging: bool = True,
    ) -> None:
        self.session = session
        self.max_line = max_line
        self.newline = newline
        self.paging = paging
        self.buffer: list[str] = []
        self.cursor = 0
        self._escape: str | None = None
        self._after_cr = False
        self._history_index: int | None = None
        self._draft = ""
        self._pager: list[str] | None = None
        self._pager_tail = ""
        #: keys typed while a command waits for its network work (`settle` replays them)
        self._held: list[str] = []

    # -- public -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.session.closed

    @property
    def line(self) -> str:
        return "".join(self.buffer)

    def start(self) -> str:
        """The first prompt."""
        return self.session.prompt()

    def feed_bytes(self, data: bytes) -> bytes:
        return self.feed(data.decode("utf-8", errors="replace")).encode("utf-8")

    @property
    def waiting(self) -> bool:
        """A command is still running (`Context.wait`): call `settle` before more input."""
        return self.session.waiting is not None

    async def settle(self) -> str:
        """Finish the waiting command: its output, the prompt, then the keys typed
        meanwhile (which may start another waiting command: check `waiting` again)."""
        output = await self.session.settle()
        if self.session.closed:
            return self._crlf(output)
        text = self._emit(output)
        held, self._held = "".join(self._held), []
        return text + self.feed(held)

    def take_held(self) -> str:
        """The keys typed after a line that connected the terminal elsewhere (``vstack
        attach``): they belong to the other end."""
        held, self._held = "".join(self._held), []
        return held

    def feed(self, data: str) -> str:
        out: list[str] = []
        for index, char in enumerate(data):
            if self.session.closed:
                break
            if self.session.waiting is not None or self.session.attach is not None:
                room = max(self.max_line * 2 - len(self._held), 0)
                self._held.extend(data[index : index + room])
                break
            if self._after_cr and char in "\n\x00":
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if self._pager is not None:
                out.append(self._page_key(char))
            elif self._escape is not None:
                out.append(self._escape_key(char))
            else:
                out.append(self._key(char))
        return "".join(out)

    # -- display ------------------------------------------------------------------------
    def _width(self) -> int:
        width = self.session.terminal_width
        return width if width >= 20 else 80

    def _view(self) -> tuple[str, int]:
        """The visible line (with `$` where it scrolls) and the cursor column in it."""
        prompt = self.session.prompt()
        text = "" if self._secret() else self.line
        cursor = 0 if self._secret() else self.cursor
        room = max(self._width() - len(prompt) - 1, 10)
        if len(text) <= room:
            return prompt + text, len(prompt) + cursor
        start = max(0, min(cursor - room + 1, len(text) - room))
        shown = list(text[start : start + room])
        if start > 0:
            shown[0] = "$"
        if start + room < len(text):
            shown[-1] = "$"
        return prompt + "".join(shown), len(prompt) + cursor - start

    def _redraw(self) -> str:
        view, column = self._view()
        back = len(view) - column
        return "\r" + view + "\x1b[K" + (f"\x1b[{back}D" if back else "")

    def _secret(self) -> bool:
        pending = self.session.pending
        return pending is not None and pending.secret

    # -- keys ---------------------------------------------------------------------------
    def _key(self, char: str) -> str:
        code = ord(char)
        if char in "\r\n":
            return self._enter()
        if char == "?" and self.session.pending is None:
            return self._help()
        if char == "\t":
            return self._tab()
        if char == "\x1b":
            self._escape = ""
            return ""
        if code == 0x7F or code == 0x08:
            return self._backspace()
        handlers = {
            0x01: self._home,
            0x05: self._end,
            0x02: self._left,
            0x06: self._right,
            0x04: self._delete,
            0x0B: self._kill_end,
            0x15: self._kill_start,
            0x18: self._kill_start,
            0x17: self._kill_word,
            0x10: self._previous,
            0x0E: self._next,
            0x0C: self._redraw,
            0x12: self._redraw,
            0x03: self._interrupt,
            0x1A: self._ctrl_z,
        }
        if code in handlers:
            return handlers[code]()
        if code < 0x20 or 0x80 <= code < 0xA0:
            return ""
        return self._insert(char)

    def _insert(self, char: str) -> str:
        if len(self.buffer) >= self.max_line:
            return _BELL
        before, _ = self._view()
        self.buffer.insert(self.cursor, char)
        self.cursor += 1
        after, _ = self._view()
        if self._secret():
            return ""
        if self.cursor == len(self.buffer) and after == before + char:
            return char
        return self._redraw()

    def _backspace(self) -> str:
        if self.cursor == 0:
            return ""
        self.cursor -= 1
        del self.buffer[self.cursor]
        return self._redraw()

    def _delete(self) -> str:
        if self.cursor >= len(self.buffer):
            return ""
        del self.buffer[self.cursor]
        return self._redraw()

    def _home(self) -> str:
        self.cursor = 0
        return self._redraw()

    def _end(self) -> str:
        self.cursor = len(self.buffer)
        return self._redraw()

    def _left(self) -> str:
        if self.cursor == 0:
            return ""
        self.cursor -= 1
        return self._redraw()

    def _right(self) -> str:
        if self.cursor >= len(self.buffer):
            return ""
        self.cursor += 1
        return self._redraw()

    def _kill_end(self) -> str:
        del self.buffer[self.cursor :]
        return self._redraw()

    def _kill_start(self) -> str:
        del self.buffer[: self.cursor]
        self.cursor = 0
        return self._redraw()

    def _kill_word(self) -> str:
        start = self.cursor
        while start > 0 and self.buffer[start - 1] == " ":
            start -= 1
        while start > 0 and self.buffer[start - 1] != " ":
            start -= 1
        del self.buffer[start : self.cursor]
        self.cursor = start
        return self._redraw()

    def _set_line(self, text: str) -> str:
        self.buffer = list(text[: self.max_line])
        self.cursor = len(self.buffer)
        return self._redraw()

    def _previous(self) -> str:
        history = self.session.history
        if not history:
            return _BELL
        if self._history_index is None:
            self._draft = self.line
            self._history_index = len(history)
        if self._history_index == 0:
            return _BELL
        self._history_index -= 1
        return self._set_line(history[self._history_index])

    def _next(self) -> str:
        history = self.session.history
        if self._history_index is None:
            return _BELL
        self._history_index += 1
        if self._history_index >= len(history):
            self._history_index = None
            return self._set_line(self._draft)
        return self._set_line(history[self._history_index])

    def _tab(self) -> str:
        if self.session.pending is not None:
            return ""
        head, tail = self.line[: self.cursor], self.line[self.cursor :]
        completed = self.session.complete(head)
        if completed is None or completed == head:
            return ""
        self.buffer = list((completed + tail)[: self.max_line])
        self.cursor = min(len(completed), len(self.buffer))
        return self._redraw()

    def _help(self) -> str:
        text = self.session.help(self.line[: self.cursor])
        return "?" + self.newline + self._emit(text, self._line_again())

    def _line_again(self) -> str:
        """The prompt and the line being edited, cursor in place (after other output)."""
        view, column = self._view()
        back = len(view) - column
        return view + (f"\x1b[{back}D" if back else "")

    def interject(self, text: str) -> str:
        """Show a message (a log line) without losing the line being typed.

        The message goes on its own lines and the prompt and line come back under it;
        during `--More--` it waits until the paged output is over.
        """
        if self.session.closed:
            return ""
        if self._pager is not None:
            self._pager += text.rstrip("\n").split("\n")
            return ""
        return (
            "\r\x1b[K"
            + self._crlf(text if text.endswith("\n") else text + "\n")
            + self._line_again()
        )

    def _interrupt(self) -> str:
        self.buffer, self.cursor, self._history_index = [], 0, None
        if self.session.pending is not None:
            self.session.pending = None
        elif self.session.mode.name != "exec":
            self.session.end()
        return "^C" + self.newline + self.session.prompt()

    def _ctrl_z(self) -> str:
        if self.session.mode.name == "exec" or self.session.pending is not None:
            return ""
        line = self.line
        self.buffer, self.cursor, self._history_index = [], 0, None
        output = self.session.run(line) if line.strip() else ""
        self.session.end()
        return "^Z" + self.newline + self._crlf(output) + self.session.prompt()

    def _enter(self) -> str:
        line = self.line
        self.buffer, self.cursor, self._history_index = [], 0, None
        output = self.session.run(line)
        if self.session.closed:
            return self.newline + self._crlf(output)
        if self.session.waiting is not None:
            return self.newline + self._crlf(output)
        return self.newline + self._emit(output)

    # -- paging -------------------------------------------------------------------------
    def _emit(self, output: str, tail: str | None = None) -> str:
        """Output, stopping at --More-- when longer than the screen, then `tail` (the
        prompt by default)."""
        tail = self.session.prompt() if tail is None else tail
        lines = output.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        page = self.session.terminal_length - 1
        if not self.paging or self.session.terminal_length == 0 or len(lines) <= page:
            return self._crlf(output) + tail
        self._pager, self._pager_tail = lines[page:], tail
        return "".join(line + self.newline for line in lines[:page]) + MORE

    def _page_key(self, char: str) -> str:
        assert self._pager is not None
        erase = "\r" + " " * len(MORE) + "\r"
        if char == " ":
            count = max(self.session.terminal_length - 1, 1)
        elif char in "\r\n":
            count = 1
        else:
            self._pager = None
            return erase + self._pager_tail
        shown, self._pager = self._pager[:count], self._pager[count:]
        text = erase + "".join(line + self.newline for line in shown)
        if not self._pager:
            self._pager = None
            return text + self._pager_tail
        return text + MORE

    # -- escapes ------------------------------------------------------------------------
    def _escape_key(self, char: str) -> str:
        assert self._escape is not None
        sequence = self._escape + char
        if sequence == "\x1b":  # ESC ESC: start again
            self._escape = ""
            return ""
        if len(sequence) == 1:
            if char in "[O":
                self._escape = sequence
                return ""
            self._escape = None
            return self._meta(char)
        if sequence[0] == "O":
            self._escape = None
            return self._escape_action(char, "")
        code = ord(char)
        if 0x40 <= code <= 0x7E:
            self._escape = None
            return self._escape_action(char, sequence[1:-1])
        if len(sequence) > _MAX_ESCAPE or not 0x20 <= code <= 0x3F:
            self._escape = None
        else:
            self._escape = sequence
        return ""

    def _meta(self, char: str) -> str:
        """Esc followed by a letter, as IOS: b/f move a word, d erases the next word."""
        if char in "bB":
            return self._word_left()
        if char in "fF":
            return self._word_right()
        if char in "dD":
            end = self._next_word_end()
            del self.buffer[self.cursor : end]
            return self._redraw()
        return ""

    def _word_left(self) -> str:
        position = self.cursor
        while position > 0 and self.buffer[position - 1] == " ":
            position -= 1
        while position > 0 and self.buffer[position - 1] != " ":
            position -= 1
        self.cursor = position
        return self._redraw()

    def _next_word_end(self) -> int:
        position = self.cursor
        while position < len(self.buffer) and self.buffer[position] == " ":
            position += 1
        while position < len(self.buffer) and self.buffer[position] != " ":
            position += 1
        return position

    def _word_right(self) -> str:
        self.cursor = self._next_word_end()
        return self._redraw()

    def _escape_action(self, final: str, parameters: str) -> str:
        if final == "A":
            return self._previous()
        if final == "B":
            return self._next()
        if final == "C":
            return self._right()
        if final == "D":
            return self._left()
        if final == "H" or (final == "~" and parameters in ("1", "7")):
            return self._home()
        if final == "F" or (final == "~" and parameters in ("4", "8")):
            return self._end()
        if final == "~" and parameters == "3":
            return self._delete()
        return ""

    def _crlf(self, text: str) -> str:
        return text.replace("\n", self.newline) if self.newline != "\n" else text
