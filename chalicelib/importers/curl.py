"""cURL command lines (bash or Windows cmd quoting) to one testcase, a step per command.

The tokenizer is a linear scanner, character by character (no regex over the command):
bash's single, double and $'...' quotes, backslash escapes and line continuations, or
cmd's ^ escapes and "..." quoting. Shell variables ($TOKEN, ${TOKEN}, %TOKEN%) become the
runner's ${TOKEN}, for the project environment to fill. Several commands (one per line,
or continued with \\ or ^) become several steps in order.

Options are read as curl reads them: repeated -d/--data-* are joined with '&' (and put in
the query with -G), --data-urlencode encodes its value, --json sets the JSON headers, -u
becomes basic auth, -b cookies, -A/-e the User-Agent/Referer headers, -F text parts a form,
-I a HEAD, -L follows redirects (curl does not by default, so without it a step does not
either), -k turns TLS verification off. `-F name=@file` parts make the form a multipart
`upload`, the file read from `files/<its name>` in the project's files (common.ProjectFiles;
the report names each path to upload). Output-only options (-s, -v, -o, ...) change nothing
sent and are ignored; anything else, and other file arguments (-d @file, -F name=<file), is
reported.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from chalicelib.importers.common import (
    Conversion,
    ProjectFiles,
    SourceInvalid,
    finish,
    literal,
    literal_value,
    testcase_document,
    upload_text,
)

MAX_COMMANDS = 200
MAX_WORDS = 2000
_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ANSI = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}

# option -> (takes an argument, canonical long name)
_SHORT = {
    "X": "request",
    "H": "header",
    "d": "data",
    "u": "user",
    "b": "cookie",
    "A": "user-agent",
    "e": "referer",
    "F": "form",
    "G": "get",
    "I": "head",
    "L": "location",
    "k": "insecure",
    "s": "silent",
    "S": "show-error",
    "v": "verbose",
    "i": "include",
    "o": "output",
    "O": "remote-name",
    "f": "fail",
    "g": "globoff",
    "m": "max-time",
    "w": "write-out",
    "x": "proxy",
    "#": "progress-bar",
    "N": "no-buffer",
    "q": "disable",
}
_WITH_ARGUMENT = {
    "request",
    "header",
    "data",
    "data-raw",
    "data-binary",
    "data-ascii",
    "data-urlencode",
    "json",
    "user",
    "cookie",
    "user-agent",
    "referer",
    "form",
    "form-string",
    "url",
    "output",
    "max-time",
    "write-out",
    "proxy",
    "connect-timeout",
    "retry",
    "cacert",
    "cert",
    "key",
    "resolve",
    "connect-to",
    "cookie-jar",
    "c",
    "oauth2-bearer",
}
_OUTPUT_ONLY = {
    "silent",
    "show-error",
    "verbose",
    "include",
    "output",
    "remote-name",
    "fail",
    "globoff",
    "write-out",
    "progress-bar",
    "no-buffer",
    "disable",
    "compressed",
    "http1.1",
    "http2",
    "no-progress-meter",
    "fail-with-body",
    "cookie-jar",
    "retry",
    "trace-ascii",
}


class _Words:
    """Words of one command; a word is runner text (literals escaped, variables as ${X})."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.words: list[str] = []
        self.word: list[str] | None = None
        self.variables: set[str] = set()

    def add(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(literal(text))

    def variable(self, name: str) -> None:
        if self.word is None:
            self.word = []
        self.variables.add(name)
        self.word.append("${" + name + "}")

    def end_word(self) -> None:
        if self.word is not None:
            self.words.append("".join(self.word))
            self.word = None
            if len(self.words) > MAX_WORDS:
                raise SourceInvalid({"body": f"a command of more than {MAX_WORDS} words"})

    def end_command(self) -> None:
        self.end_word()
        if self.words:
            self.commands.append(self.words)
            if len(self.commands) > MAX_COMMANDS:
                raise SourceInvalid({"body": f"more than {MAX_COMMANDS} commands"})
        self.words = []


def _shell_variable(text: str, i: int, out: _Words) -> int:
    """At a '$': read $NAME or ${NAME} into `out`; the index after it (literal '$' if neither)."""
    if text.startswith("${", i):
        end = text.find("}", i + 2)
        name = text[i + 2 : end] if end > 0 else ""
        if name and all(ch in _NAME_CHARS for ch in name) and not name[0].isdigit():
            out.variable(name)
            return end + 1
    j = i + 1
    while j < len(text) and text[j] in _NAME_CHARS:
        j += 1
    if j > i + 1 and not text[i + 1].isdigit():
        out.variable(text[i + 1 : j])
        return j
    out.add("$")
    return i + 1


def tokenize_bash(text: str) -> _Words:
    out = _Words()
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        ch = text[i]
        if at_line_start and ch in " \t":
            i += 1
            continue
        if at_line_start and text.startswith("$ ", i):  # a copied prompt
            i += 2
            continue
        at_line_start = False
        if ch == "\\" and i + 1 < n:
            if text[i + 1] == "\n":
                out.end_word()
                i += 2
            elif text.startswith("\r\n", i + 1):
                out.end_word()
                i += 3
            else:
                out.add(text[i + 1])
                i += 2
        elif ch in " \t\r":
            out.end_word()
            i += 1
        elif ch == "\n":
            out.end_command()
            at_line_start = True
            i += 1
        elif ch in ";|&":
            out.end_command()
            # what follows a ; && | on the same line is another shell command, not curl's
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch == "#" and out.word is None:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise SourceInvalid({"body": "a ' quote is not closed"})
            out.add(text[i + 1 : end])
            i = end + 1
        elif ch == "$" and text.startswith("$'", i):
            i = _ansi_quoted(text, i + 2, out)
        elif ch == '"':
            i = _double_quoted(text, i + 1, out)
        elif ch == "$":
            i = _shell_variable(text, i, out)
        else:
            j = i
            while j < n and text[j] not in " \t\r\n\\'\"$;|&":
                j += 1
            j = max(j, i + 1)  # a stop character no branch above took (a final backslash) is text
            out.add(text[i:j])
            i = j
    out.end_command()
    return out


def _double_quoted(text: str, i: int, out: _Words) -> int:
    n = len(text)
    out.add("")
    while i < n:
        ch = text[i]
        if ch == '"':
            return i + 1
        if ch == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.add(text[i + 1])
            i += 2
        elif ch == "$":
            i = _shell_variable(text, i, out)
        else:
            j = i
            while j < n and text[j] not in '"\\$':
                j += 1
            if j == i:
                j += 1
            out.add(text[i:j])
            i = j
    raise SourceInvalid({"body": 'a " quote is not closed'})


def _ansi_quoted(text: str, i: int, out: _Words) -> int:
    n = len(text)
    out.add("")
    while i < n:
        ch = text[i]
        if ch == "'":
            return i + 1
        if ch == "\\" and i + 1 < n:
            escape = text[i + 1]
            if escape == "x":
                digits = text[i + 2 : i + 4]
                try:
                    out.add(chr(int(digits, 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            out.add(_ANSI.get(escape, "\\" + escape))
            i += 2
        else:
            out.add(ch)
            i += 1
    raise SourceInvalid({"body": "a $' quote is not closed"})


def _cmd_unescaped(text: str) -> str:
    """cmd's own pass: ^X is X, ^ at a line end continues the line, %NAME% marked for later."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "^" and i + 1 < n:
            if text[i + 1] == "\n":
                i += 2
            elif text.startswith("\r\n", i + 1):
                i += 3
            else:
                out.append(text[i + 1])
                i += 2
        elif (
            ch == "%"
            and (end := text.find("%", i + 1)) > i + 1
            and all(c in _NAME_CHARS for c in text[i + 1 : end])
        ):
            out.append("\x00" + text[i + 1 : end] + "\x00")
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def tokenize_cmd(text: str) -> _Words:
    """Windows cmd: its ^ escapes first, then the C runtime's argument rules curl.exe reads
    its words by ("..." quotes; backslashes count only before a quote; "" in quotes is a quote)."""
    text = _cmd_unescaped(text.replace("\x00", ""))
    out = _Words()
    i, n, quoted = 0, len(text), False
    while i < n:
        ch = text[i]
        if ch == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                out.add("\\" * (count // 2))
                if count % 2:
                    out.add('"')
                    i = j + 1
                else:
                    i = j
                continue
            out.add("\\" * count)
            i = j
        elif ch == '"':
            if quoted and text.startswith('""', i):
                out.add('"')
                i += 2
                continue
            quoted = not quoted
            out.add("")
            i += 1
        elif ch == "\x00":
            end = text.find("\x00", i + 1)
            out.variable(text[i + 1 : end])
            i = end + 1
        elif ch in " \t\r" and not quoted:
            out.end_word()
            i += 1
        elif ch == "\n" and not quoted:
            out.end_command()
            i += 1
        else:
            out.add(ch)
            i += 1
    if quoted:
        raise SourceInvalid({"body": 'a " quote is not closed'})
    out.end_command()
    return out


def looks_like(text: str) -> bool:
    """The first line that is not blank or a # comment starts a curl command."""
    for line in text[:100_000].splitlines():
        head = line.strip()
        if head and not head.startswith(("#", "rem ", "REM ", "::")):
            return (
                head.removeprefix("$ ").startswith(("curl ", "curl\t", "curl.exe ", "curl^"))
                or head == "curl"
            )
    return False


def _is_cmd(text: str) -> bool:
    return '^"' in text or " ^\n" in text or " ^\r\n" in text


def _unescaped(text: str) -> str:
    """A word's plain text (for option names and checks): `$$` back to `$`."""
    return text.replace("$$", "$")


class _Command:
    def __init__(self, words: list[str], index: int, conversion: Conversion, files: ProjectFiles) -> None:
        self.words = words
        self.files = files
        self.what = f"command {index + 1}"
        self.report = conversion.report
        self.method: str | None = None
        self.url: str | None = None
        self.headers: dict[str, str] = {}
        self.data: list[str] = []
        self.form: dict[str, str] = {}
        self.form_files: set[str] = set()  # the form's fields that are files (-F name=@file)
        self.cookies: dict[str, str] = {}
        self.json = False
        self.get = self.head = self.follow = self.insecure = False

    def option(self, name: str, value: str | None) -> None:
        plain = _unescaped(value) if value is not None else None
        if name == "request":
            self.method = plain.upper()
        elif name == "header":
            key, sep, header_value = value.partition(":")
            if sep:
                self.headers[key.strip()] = header_value.strip()
            else:
                self.report.skip(f"{self.what}: header {plain!r}", "not a 'Name: value' header")
        elif name in ("data", "data-ascii", "data-binary", "data-raw", "json"):
            if name != "data-raw" and plain.startswith("@"):
                self.report.skip(
                    f"{self.what}: --{name} {plain}",
                    "a body read from a file is not converted: hat sends files only as multipart "
                    "parts (-F name=@file)",
                )
                return
            self.data.append(
                value.replace("\n", "").replace("\r", "") if name in ("data", "data-ascii") else value
            )
            self.json = self.json or name == "json"
        elif name == "data-urlencode":
            self.data.append(self._urlencoded(value))
        elif name == "user":
            pair = base64.b64encode(plain.encode()).decode() if "${" not in value else None
            if pair is None:
                self.headers["Authorization"] = (
                    "Basic ${base64(" + value.replace("${", "$").replace("}", "") + ")}"
                )
            else:
                self.headers["Authorization"] = f"Basic {pair}"
        elif name == "oauth2-bearer":
            self.headers["Authorization"] = f"Bearer {value}"
        elif name == "cookie":
            if "=" not in plain:
                self.report.skip(f"{self.what}: -b {plain}", "cookies read from a file are not converted")
                return
            for part in value.split(";"):
                key, _, cookie_value = part.strip().partition("=")
                if key:
                    self.cookies[key] = cookie_value
        elif name == "user-agent":
            self.headers["User-Agent"] = value
        elif name == "referer":
            self.headers["Referer"] = value
        elif name in ("form", "form-string"):
            key, sep, form_value = value.partition("=")
            if not sep:
                self.report.skip(f"{self.what}: -F {plain}", "not a name=value part")
            elif name == "form" and form_value.startswith("<"):
                self.report.skip(
                    f"{self.what}: -F {plain}",
                    "a text part read from a file (<) is not converted: hat sends files only as "
                    "file parts (-F name=@file)",
                )
            elif name == "form" and form_value.startswith("@"):
                source, options = _form_file(_unescaped(form_value[1:]))
                what = f"{self.what}: -F {plain}"
                self.form[key] = self.files.path(source, what, options.get("filename", ""))
                self.form_files.add(key)
                if options.get("type"):
                    self.report.warn(
                        what, f"its type {options['type']!r} is not kept: hat guesses it from the file name"
                    )
            else:
                self.form[key] = form_value
                self.form_files.discard(key)  # a later text part of the same name replaces the file
        elif name == "url":
            self.url = value
        elif name == "get":
            self.get = True
        elif name == "head":
            self.head = True
        elif name == "location":
            self.follow = True
        elif name == "insecure":
            self.insecure = True
        elif name in _OUTPUT_ONLY or name in ("max-time", "connect-timeout"):
            if name == "compressed":
                self.report.done(
                    f"{self.what}: --compressed", "nothing: hat always accepts compressed answers"
                )
        else:
            self.report.skip(
                f"{self.what}: --{name}" + (f" {plain}" if plain is not None else ""),
                "not an option hat converts",
            )

    def _urlencoded(self, value: str) -> str:
        """curl's --data-urlencode forms: 'content', '=content', 'name=content' (encoded)."""
        plain = _unescaped(value)
        if "${" in value:
            self.report.warn(f"{self.what}: --data-urlencode", "a value holding variables is sent unencoded")
            return value
        name, sep, content = plain.partition("=")
        if not sep:
            return literal(quote_plus(plain))
        if "@" in name and not content:
            self.report.skip(f"{self.what}: --data-urlencode {plain}", "file contents are not converted")
            return ""
        return literal((f"{name}=" if name else "") + quote_plus(content))

    def read(self) -> None:
        words, i = self.words, 1
        only_urls = False
        while i < len(words):
            word = words[i]
            plain = _unescaped(word)
            i += 1
            if only_urls or not plain.startswith("-") or plain == "-":
                if self.url is None:
                    self.url = word
                else:
                    self.report.skip(f"{self.what}: another URL {plain!r}", "one URL per step")
                continue
            if plain == "--":
                only_urls = True
                continue
            if plain.startswith("--"):
                name, sep, inline = plain[2:].partition("=")
                if name in _WITH_ARGUMENT:
                    if sep:
                        value = word[len(word) - len(inline) :] if inline else ""
                    elif i < len(words):
                        value, i = words[i], i + 1
                    else:
                        self.report.skip(f"{self.what}: --{name}", "no value after it")
                        continue
                    self.option(name, value)
                else:
                    self.option(name, None)
                continue
            cluster = plain[1:]
            for position, letter in enumerate(cluster):
                name = _SHORT.get(letter)
                if name is None:
                    self.report.skip(f"{self.what}: -{letter}", "not an option hat converts")
                    continue
                if name in _WITH_ARGUMENT:
                    rest = word[len(word) - len(cluster) + position + 1 :]
                    if rest:
                        self.option(name, rest)
                    elif i < len(words):
                        self.option(name, words[i])
                        i += 1
                    else:
                        self.report.skip(f"{self.what}: -{letter}", "no value after it")
                    break
                self.option(name, None)

    def step(self) -> dict[str, Any] | None:
        if not self.url:
            self.report.skip(self.what, "no URL")
            return None
        url = self.url
        plain_url = _unescaped(url)
        if "://" not in plain_url and not plain_url.startswith("${"):
            url = "http://" + url  # curl's default scheme
        request: dict[str, Any] = {}
        data = "&".join(self.data) if self.data else None
        if self.get and data is not None:
            url += ("&" if "?" in url else "?") + data
            data = None
        method = self.method or (
            "HEAD" if self.head else "POST" if (data is not None or self.form) else "GET"
        )
        url, params = _split_query(url)
        request["method"], request["url"] = method, url
        if params:
            request["params"] = params
        headers = dict(self.headers)
        lowered = {k.lower(): k for k in headers}
        if self.json:
            headers.setdefault(lowered.get("content-type", "Content-Type"), "application/json")
            headers.setdefault(lowered.get("accept", "Accept"), "application/json")
            lowered = {k.lower(): k for k in headers}
        if self.form_files:
            request["upload"] = {
                key: value
                for key, value in self.form.items()
                if key in self.form_files or upload_text(value, f"{self.what}: -F {key}", self.report)
            }
            headers.pop(lowered.get("content-type", ""), None)
        elif self.form:
            request["data"] = self.form
            self.report.warn(
                self.what,
                "-F text parts are sent urlencoded, not multipart (hat's multipart upload is kept "
                "for forms with files: it reads any value holding a / as a file path)",
            )
            headers.pop(lowered.get("content-type", ""), None)
        elif data is not None:
            content_type = _unescaped(headers.get(lowered.get("content-type", ""), ""))
            body = _json_body(data) if "json" in content_type.lower() else None
            if body is not None:
                request["json"] = body
            else:
                request["data"] = data
                if not content_type:  # curl's own default for -d
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
        if headers:
            request["headers"] = headers
        if self.cookies:
            request["cookies"] = self.cookies
        request["allow_redirects"] = self.follow
        if self.insecure:
            request["verify"] = False
        path = _unescaped(url).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "/"
        return {"name": f"{method} {path}"[:100], "request": request}


def _split_query(url: str) -> tuple[str, dict[str, str]]:
    """The query of a literal URL as params (decoded: the runner encodes them again)."""
    base, sep, query = url.partition("?")
    if not sep or "${" in query or "#" in query:
        return url, {}
    pairs = parse_qsl(_unescaped(query), keep_blank_values=True)
    if len({k for k, _ in pairs}) != len(pairs):
        return url, {}  # a repeated key stays in the URL as written
    return base, {literal(k): literal(v) for k, v in pairs}


def _form_file(spec: str) -> tuple[str, dict[str, str]]:
    """curl's `-F name=@file;type=...;filename=...`: the file and its options (a file name
    in double quotes may hold `;`)."""
    if spec.startswith('"'):
        end = spec.find('"', 1)
        source, rest = (spec[1:end], spec[end + 1 :]) if end > 0 else (spec[1:], "")
    else:
        source, _, rest = spec.partition(";")
    options = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            options[key.strip().lower()] = value.strip().strip('"')
    return source, options


def _json_body(data: str) -> Any:
    from chalicelib.importers.loading import load_json

    if "${" in data:
        return None
    try:
        value = load_json(_unescaped(data))
    except SourceInvalid:
        return None
    return literal_value(value)


def convert(text: str, *, shell: str | None = None, name: str | None = None) -> Conversion:
    """One or more curl commands to a testcase of that many steps."""
    if shell not in (None, "bash", "cmd"):
        raise SourceInvalid({"shell": "bash or cmd"})
    cmd = shell == "cmd" or (shell is None and _is_cmd(text))
    words_of = tokenize_cmd(text) if cmd else tokenize_bash(text)
    commands = words_of.commands
    conversion = Conversion("curl", title="curl")
    steps = []
    files = ProjectFiles(conversion.report)
    for index, words in enumerate(commands):
        head = _unescaped(words[0]).rsplit("/", 1)[-1].lower()
        if head not in ("curl", "curl.exe"):
            conversion.report.skip(f"command {index + 1} ({_unescaped(words[0])[:40]})", "not a curl command")
            continue
        command = _Command(words, index, conversion, files)
        command.read()
        step = command.step()
        if step is not None:
            steps.append(step)
            conversion.report.done(command.what, f"step {step['name']!r}")
    if not steps:
        raise SourceInvalid({"body": "no curl command found"})
    variables = words_of.variables
    if variables:
        conversion.report.warn(
            "shell variables " + ", ".join(sorted(variables)),
            "read as runner variables: give them values in the project environment",
        )
    title = name or steps[0]["name"]
    conversion.add(title, testcase_document(title, steps))
    return finish(conversion)
