"""Hardening the notify_fifo parser and `hacore notify`'s arguments (issue 15).

The oracle of both fuzz tests: an accepted input is exactly the canonical
text of what it was parsed into (so no Unicode digit, folded letter, leading
zero, stray whitespace or second newline can pass as a look-alike), with every
field in range; anything else must be the boundary's typed error.
"""

from __future__ import annotations

import pytest
from boundary_fuzz import ACCEPTED, FAST, SLOW, TYPED_ERROR, fuzz_text, tally
from hypothesis import given
from hypothesis import strategies as st

from adapters.keepalived.fifo import MAX_LINE, FifoReader, MalformedLine, parse_line
from adapters.keepalived.notify import NotifyArgsError, parse_notify_args
from hacli.main import main

_WORDS = {
    "INSTANCE": (
        "INIT BACKUP MASTER FAULT STOP DELETED MASTER_RX_LOWER_PRI MASTER_PRIORITY BACKUP_PRIORITY"
    ).split(),
    "GROUP": "INIT BACKUP MASTER FAULT STOP".split(),
}
_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"'),
    min_size=1,
    max_size=64,
)


@st.composite
def _valid_line(draw: st.DrawFn) -> str:
    typ = draw(st.sampled_from(sorted(_WORDS)))
    word = draw(st.sampled_from(_WORDS[typ]))
    return f'{typ} "{draw(_names)}" {word} {draw(st.integers(0, 255))}'


def _name_ok(name: str) -> bool:
    return 1 <= len(name) <= 64 and all(33 <= ord(c) <= 126 and c != '"' for c in name)


# -- the examples of the issue ---------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        'INSTANCE "VI_1" MASTER \u0661\u0665\u0660',  # Arabic-Indic 150
        'INSTANCE "VI_1" MASTER \u00b2',
        'INSTANCE "VI_1" MASTER 0150',  # leading zero
        'INSTANCE "VI_1" MASTER 00',
        'INSTANCE "VI_1" MASTER 150\n\n',  # a second newline
        'INSTANCE "VI_1" MASTER 150\r',
        'INSTANCE "VI\t1" MASTER 150',  # tab in the name
        'INSTANCE "VI\x001" MASTER 150',  # NUL in the name
        'INSTANCE "VI\u00e91" MASTER 150',  # non-ASCII name
        'INSTANCE "VI_1"  MASTER 150',
        'instance "VI_1" MASTER 150',
        "\x1c\x1d",  # control characters only (whitespace to str.strip)
        "",
        "x" * (MAX_LINE + 1),
    ],
)
def test_fifo_refuses_look_alikes(line: str) -> None:
    with pytest.raises(MalformedLine):
        parse_line(line, seq=1)


def test_every_line_gets_a_sequence_number_control_only_and_blank_too() -> None:
    reader = FifoReader()
    good = reader.feed(b'INSTANCE "VI_1" BACKUP 100\n\x1c\x1d\x1e\n\nINSTANCE "VI_1" MASTER 100\n')
    assert [r.seq for r in good] == [1, 4]
    assert [e.seq for e in reader.errors] == [2, 3]


def test_an_over_long_line_is_reported_once_and_the_buffer_stays_bounded() -> None:
    reader = FifoReader()
    chunk = b"A" * 64
    for _ in range(400_000 // 64):  # the 400 KB without a newline
        assert reader.feed(chunk) == []
        assert len(reader._buf) <= MAX_LINE
    got = reader.feed(b'tail\nINSTANCE "VI_1" MASTER 100\n')
    assert [(e.seq, e.reason) for e in reader.errors] == [(1, f"longer than {MAX_LINE} bytes")]
    assert [(r.seq, r.state) for r in got] == [(2, "MASTER")]


@pytest.mark.parametrize(
    "args",
    [
        ["INSTANCE", "VI_1", "MASTER", "\u00b2"],
        ["INSTANCE", "VI_1", "MASTER", "\u2460"],
        ["INSTANCE", "VI_1", "MASTER", "\u0661\u0665\u0660"],
        ["INSTANCE", "VI_1", "MASTER", "0150"],
        ["INSTANCE", "VI_1", "MASTER", "+150"],
        ["INSTANCE", "VI_1", "MASTER", " 150"],
        ["\u0131nstance", "VI_1", "MASTER", "150"],  # dotless i folds to I
        ["INSTANCE", "VI_1", "ma\u017fter", "150"],  # long s folds to S
        ["instance", "VI_1", "MASTER", "150"],
        ["INSTANCE", "VI\t1", "MASTER", "150"],
        ["INSTANCE", "VI_1\n", "MASTER", "150"],
        ["INSTANCE", "VI\x001", "MASTER", "150"],
    ],
)
def test_notify_refuses_look_alikes(args: list[str]) -> None:
    with pytest.raises(NotifyArgsError):
        parse_notify_args(args)


def test_notify_with_a_unicode_digit_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["notify", "INSTANCE", "VI_1", "MASTER", "\u00b2"]) == 2
    err = capsys.readouterr().err
    assert "PRIORITY" in err and "Traceback" not in err


# -- fuzz: the fifo line parser ----------------------------------------------------


def check_fifo_line(line: str, *, count: bool = True) -> None:
    try:
        r = parse_line(line, seq=5)
    except MalformedLine as exc:
        assert exc.seq == 5
        if count:
            tally("fifo line", TYPED_ERROR)
        return
    text = line[:-1] if line.endswith("\n") else line
    assert f'{r.type} "{r.name}" {r.line.split(" ")[-2]} {r.priority}' == text == r.line
    assert _name_ok(r.name) and 0 <= r.priority <= 255
    if count:
        tally("fifo line", ACCEPTED)


@FAST
@given(fuzz_text(_valid_line()))
def test_fuzz_fifo_line(line: str) -> None:
    check_fifo_line(line)


@pytest.mark.slow
@SLOW
@given(fuzz_text(_valid_line()))
def test_fuzz_fifo_line_slow(line: str) -> None:
    check_fifo_line(line)


# -- fuzz: the incremental reader (bytes in any chunking) ---------------------------


def check_reader(lines: list[str], cuts: list[int]) -> None:
    data = b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in lines)
    reader = FifoReader()
    records = []
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        records += reader.feed(data[start:cut])
        start = max(start, cut)
        assert len(reader._buf) <= MAX_LINE
    seqs = sorted([r.seq for r in records] + [e.seq for e in reader.errors])
    assert seqs == list(range(1, data.count(b"\n") + 1))  # every line, exactly one number
    for r in records:
        check_fifo_line(r.line, count=False)  # counted as a stream, not as lines
    tally("fifo reader (streams)", ACCEPTED if not reader.errors else TYPED_ERROR)


_streams = st.lists(
    st.one_of(fuzz_text(_valid_line()), st.text(min_size=200, max_size=700)), max_size=8
)
_cuts = st.lists(st.integers(0, 2_000), max_size=6)


@FAST
@given(_streams, _cuts)
def test_fuzz_fifo_reader(lines: list[str], cuts: list[int]) -> None:
    check_reader(lines, cuts)


@pytest.mark.slow
@SLOW
@given(_streams, _cuts)
def test_fuzz_fifo_reader_slow(lines: list[str], cuts: list[int]) -> None:
    check_reader(lines, cuts)


# -- fuzz: notify arguments --------------------------------------------------------


@st.composite
def _valid_args(draw: st.DrawFn) -> str:
    typ = draw(st.sampled_from(["INSTANCE", "GROUP"]))
    states = ["MASTER", "BACKUP", "FAULT", "STOP"] + (["DELETED"] if typ == "INSTANCE" else [])
    return f"{typ} {draw(_names)} {draw(st.sampled_from(states))} {draw(st.integers(0, 255))}"


def check_notify_args(args: list[str]) -> None:
    try:
        n = parse_notify_args(args)
    except NotifyArgsError:
        tally("notify arguments", TYPED_ERROR)
        return
    assert [n.type, n.name, n.state, str(n.priority)] == args
    assert _name_ok(n.name) and 0 <= n.priority <= 255
    assert parse_line(n.as_fifo_line()).name == n.name  # what notify accepts, the fifo does
    tally("notify arguments", ACCEPTED)


_argvs = st.one_of(
    fuzz_text(_valid_args()).map(lambda s: s.split(" ")),
    st.lists(st.text(max_size=10), max_size=5),
)


@FAST
@given(_argvs)
def test_fuzz_notify_args(args: list[str]) -> None:
    check_notify_args(args)


@pytest.mark.slow
@SLOW
@given(_argvs)
def test_fuzz_notify_args_slow(args: list[str]) -> None:
    check_notify_args(args)
